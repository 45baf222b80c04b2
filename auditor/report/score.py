"""The report's score (0-100) and grade, from the findings that are not waived.

Each check costs at most a few times its worst finding's weight, so one check firing on 4,000
resources does not hide every other problem: the score says how many kinds of problem there are and
how severe, the counts say how widespread. The risk points decay the score exponentially rather
than subtracting from it, so a mesh with many problems still scores above 0 and shows progress as
they are fixed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WEIGHTS: dict[str, int] = {"critical": 25, "high": 10, "medium": 4, "low": 1, "info": 0}
CAP_FACTOR = 3
GRADES: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))

SCALE = 100
FORMULA = (
    f"Score = 100 * e^(-R/{SCALE}), rounded, where R (risk points) is the sum over checks of "
    "their findings' weights, each check's sum capped at "
    f"{CAP_FACTOR} times the weight of its most severe finding. "
    "Weights: "
    + ", ".join(f"{sev} {w}" for sev, w in WEIGHTS.items())
    + ". Waived findings are not counted. Grade: "
    + ", ".join(f"{g} from {low}" for low, g in GRADES[:-1])
    + ", otherwise F."
)


@dataclass(frozen=True, slots=True)
class Score:
    value: int
    grade: str
    deductions: tuple[tuple[str, int], ...]  # (check id, risk points), largest first


def is_waived(finding: Mapping[str, Any]) -> bool:
    """Waived when the finding's `waiver` key is a mapping (absent or null: not waived)."""
    return isinstance(finding.get("waiver"), Mapping)


def grade_for(value: int) -> str:
    for low, grade in GRADES:
        if value >= low:
            return grade
    return GRADES[-1][1]


def score(findings: Iterable[Mapping[str, Any]]) -> Score:
    total: dict[str, int] = defaultdict(int)
    worst: dict[str, int] = defaultdict(int)
    for f in findings:
        if is_waived(f):
            continue
        weight = WEIGHTS.get(str(f["severity"]), 0)
        total[f["check"]] += weight
        worst[f["check"]] = max(worst[f["check"]], weight)
    deductions = sorted(
        ((check, min(points, CAP_FACTOR * worst[check])) for check, points in total.items()),
        key=lambda d: (-d[1], d[0]),
    )
    risk = sum(points for _, points in deductions)
    value = round(100 * math.exp(-risk / SCALE))
    return Score(
        value=value,
        grade=grade_for(value),
        deductions=tuple(d for d in deductions if d[1] > 0),
    )

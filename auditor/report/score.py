"""The report's risk score (0-100) and grade: what the internet reaches, and the distinct
weaknesses, not the number of findings.

Risk points R have two parts:

- Weaknesses: the findings that are not waived, grouped by root cause (auditor/report/groups.py:
  a plaintext wildcard listener's TLS001, GW004 and VS004 are one weakness). Each group weighs
  its primary's severity (critical 25, high 10, medium 4, low 1, info 0: by-design patterns that
  Istio documents as correct are info, or not reported, and weigh nothing). Severities already
  follow reachability (plaintext to the internet is high, the same behind an internal load
  balancer low). The groups are summed heaviest first with a decay of DECAY per group, so the
  tenth medium weakness adds less than the first and a thousand findings of one kind cannot hide
  everything else, while every new weakness still adds something.
- Exposure: each entry point the internet reaches (exposure[] with reachability `internet`, per
  resource and port; plaintext-redirect ports excluded) weighs 10 in plaintext HTTP (as a high
  finding), 4 when its protocol is unknown, 1 over TLS; at the nodes' addresses (node-local) 4 in
  plaintext, 1 unknown, 0.5 over TLS; internal, source-restricted and cluster-only entries 0.
  Summed heaviest first with a decay of EXPOSURE_DECAY.

Score = 100 * e^(-R/100) * coverage, rounded, where coverage is the share of kinds read
(an audit that could not read everything cannot claim a clean bill). Grades: A from 90, B from
80, C from 70, D from 60, otherwise F.

Properties the tests hold: adding a finding never raises the score (groups only grow or split,
and a decayed sum of weights sorted heaviest first never decreases when a weight is added or
raised); waiving never lowers it; a mesh with nothing on the internet and a default deny scores
better than one serving plaintext through public load balancers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.report import groups as G

WEIGHTS: dict[str, float] = {"critical": 25, "high": 10, "medium": 4, "low": 1, "info": 0}
DECAY = 0.9
EXPOSURE_DECAY = 0.8
EXPOSURE_WEIGHTS: dict[tuple[str, str], float] = {
    ("internet", "plaintext"): 10,
    ("internet", "unknown"): 4,
    ("internet", "tls"): 1,
    ("node-local", "plaintext"): 4,
    ("node-local", "unknown"): 1,
    ("node-local", "tls"): 0.5,
}
EXPOSURE_ID = "EXPOSURE"
GRADES: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))
SCALE = 100

FORMULA = (
    f"Score = 100 * e^(-R/{SCALE}) * coverage, rounded. R (risk points) = the weaknesses (findings "
    "not waived, grouped by root cause; each group weighs its most severe finding: "
    + ", ".join(f"{sev} {w:g}" for sev, w in WEIGHTS.items())
    + f"; summed heaviest first, each next group times {DECAY}) + the exposure (each entry point "
    "the internet reaches: 10 in plaintext HTTP, 4 of unknown protocol, 1 over TLS; at the nodes' "
    "addresses 4 in plaintext, 1 unknown, 0.5 over TLS; internal and source-restricted ones 0; "
    "summed "
    f"heaviest first, each next times {EXPOSURE_DECAY}). coverage = kinds read / kinds audited. "
    "Grade: " + ", ".join(f"{g} from {low}" for low, g in GRADES[:-1]) + ", otherwise F."
)


@dataclass(frozen=True, slots=True)
class Score:
    value: int
    grade: str
    # (check id, or EXPOSURE for the entry points, risk points), largest first
    deductions: tuple[tuple[str, int], ...]
    risk: float = 0.0
    weaknesses: int = 0


def is_waived(finding: Mapping[str, Any]) -> bool:
    """Waived when the finding's `waiver` key is a mapping (absent or null: not waived)."""
    return isinstance(finding.get("waiver"), Mapping)


def grade_for(value: int) -> str:
    for low, grade in GRADES:
        if value >= low:
            return grade
    return GRADES[-1][1]


def decayed(weights: Iterable[tuple[float, str]], decay: float) -> list[tuple[str, float]]:
    """(label, contribution) of each weight, heaviest first, the i-th times decay**i."""
    ordered = sorted(weights, key=lambda w: (-w[0], w[1]))
    return [(label, w * decay**i) for i, (w, label) in enumerate(ordered)]


def _form(entry: Mapping[str, Any]) -> str:
    if entry.get("tls"):
        return "tls"
    mode = str(entry.get("tls_mode") or "")
    if mode == "NONE":
        return "plaintext"
    if mode in ("UNKNOWN", ""):
        return "unknown"
    return "tls"


def exposure_weights(exposure: Iterable[Mapping[str, Any]]) -> list[float]:
    """One weight per entry point (resource and port) by reachability class and form."""
    best: dict[tuple[str, str, str, int], float] = {}
    for e in exposure:
        if e.get("redirect_only"):
            continue
        reach = str(e.get("reachability") or ("internet" if e.get("external") else "cluster"))
        weight = EXPOSURE_WEIGHTS.get((reach, _form(e)), 0.0)
        if weight <= 0:
            continue
        gw = e.get("gateway") or {}
        key = (str(gw.get("kind")), str(gw.get("namespace")), str(gw.get("name")), int(e["port"]))
        best[key] = max(best.get(key, 0.0), weight)
    return list(best.values())


def score(
    findings: Iterable[Mapping[str, Any]],
    exposure: Iterable[Mapping[str, Any]] = (),
    coverage: Mapping[str, Any] | None = None,
) -> Score:
    active: Sequence[Mapping[str, Any]] = [f for f in findings if not is_waived(f)]
    grouped = G.groups(active)
    weights = [(WEIGHTS.get(str(g[0]["severity"]), 0.0), str(g[0]["check"])) for g in grouped]
    parts = decayed(weights, DECAY)
    parts += [
        (EXPOSURE_ID, p)
        for _, p in decayed([(w, EXPOSURE_ID) for w in exposure_weights(exposure)], EXPOSURE_DECAY)
    ]
    by_check: dict[str, float] = defaultdict(float)
    for label, points in parts:
        by_check[label] += points
    risk = sum(points for _, points in parts)
    factor = 1.0
    if coverage:
        total = coverage.get("kinds_total") or 0
        if isinstance(total, int) and total > 0:
            factor = min(1.0, max(0.0, float(coverage.get("kinds_read") or 0) / total))
    value = round(100 * math.exp(-risk / SCALE) * factor)
    deductions = sorted(
        ((check, round(points)) for check, points in by_check.items() if round(points) > 0),
        key=lambda d: (-d[1], d[0]),
    )
    return Score(
        value=value,
        grade=grade_for(value),
        deductions=tuple(deductions),
        risk=round(risk, 2),
        weaknesses=sum(1 for g in grouped if WEIGHTS.get(str(g[0]["severity"]), 0) > 0),
    )

"""Durations as kubectl spells them: `30s`, `2m`, `1h`, `1m30s`, `500ms`; a bare number is seconds.

kubectl's `--request-timeout` takes Go's duration syntax (a sequence of number+unit pairs, units
ms, s, m, h here); mesh-audit's time options accept the same, and a plain number as before.
"""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(text: str, *, days: bool = False) -> float:
    """Seconds; ValueError with a one-line reason for anything else. With `days`, `d` (24h) is
    a unit too, as Prometheus spells windows (`--since 7d`, `1d12h`)."""
    value = text.strip()
    if _NUMBER.fullmatch(value):
        return float(value)
    pos = 0
    total = 0.0
    for match in _PART.finditer(value):
        if match.start() != pos or (match.group(2) == "d" and not days):
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        units = (
            "ms, s, m, h, d, e.g. 7d, 12h, 1d12h" if days else "ms, s, m, h, e.g. 30s, 2m, 1m30s"
        )
        raise ValueError(f"{text!r} is not a duration (use seconds or units {units})")
    return total

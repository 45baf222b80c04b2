"""`mesh-audit checks`: the registry as a table, JSON or Markdown (docs/checks.md's check table)."""

from __future__ import annotations

import json

from auditor.base.model import CheckMeta
from auditor.checks import all_checks


def severity_text(meta: CheckMeta) -> str:
    """`medium`, or `medium (low-high)` for a check whose findings take other severities (each
    such finding says why)."""
    low, high = meta.severities
    fixed = meta.severity.label
    return fixed if low == high else f"{fixed} ({low.label}-{high.label})"


def render_checks(output: str) -> str:
    checks = all_checks()
    if output == "json":
        return json.dumps(
            [c.meta.to_json() for c in checks],
            indent=2,
        )
    if output == "markdown":
        rows = ["| ID | Category | Severity | Title | istioctl |", "|---|---|---|---|---|"]
        for c in checks:
            codes = ", ".join(c.meta.ist_codes) or "-"
            rows.append(
                f"| {c.meta.id} | {c.meta.category} | {severity_text(c.meta)} | "
                f"{c.meta.title} | {codes} |"
            )
        return "\n".join(rows)
    width = max((len(c.meta.title) for c in checks), default=10)
    lines = [f"{'ID':8} {'CATEGORY':20} {'SEVERITY':21} {'TITLE':{width}}"]
    for c in checks:
        lines.append(
            f"{c.meta.id:8} {c.meta.category!s:20} {severity_text(c.meta):21} {c.meta.title}"
        )
    return "\n".join(lines)

"""The results of benchmarks/run.py and how they are reported: the steps, the targets the
summary line checks, the per-step samples, the Markdown table, the growth tables and the summary.

`benchmarks/run.py` measures and re-exports these names.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

# Targets of the second performance round (issue #17), checked by the summary line.
YAML_VS_JSON = 2.0  # yaml-scan wall time at most this times the JSON scan of the same objects
PEAK_MB = {"large": (600.0, ("scan", "html", "pdf")), "250k": (900.0, ("scan", "html"))}
GROWTH = ("large", "1m", 1.2)  # time ratio at most 1.2x the object ratio
ALL_STEPS = (
    "floor",
    "floor-nogc",
    "import",
    "scan",
    "html",
    "pdf",
    "yaml-parse",
    "yaml-scan",
    "yaml-scan-1",
    "yaml-file-scan",
    "yaml-file-scan-1",
)


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Result:
    size: str
    step: str
    samples: list[Sample] = field(default_factory=list)
    unavailable: str = ""
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def median(self, attr: str) -> float | None:
        if not self.samples:
            return None
        return statistics.median(getattr(s, attr) for s in self.samples)


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table(results: list[Result], objects: dict[str, int], sizes_mb: dict[str, float]) -> str:
    def medians(step: str, attr: str) -> dict[str, float | None]:
        return {r.size: r.median(attr) for r in results if r.step == step}

    floor, floor_cpu = medians("floor", "wall"), medians("floor", "cpu")
    nogc = medians("floor-nogc", "wall")
    scan = medians("scan", "wall")
    yparse = medians("yaml-parse", "wall")
    lines = [
        "| size | objects | file MB | step | wall s | cpu s | peak RSS MB | x floor | x floor-nogc "
        "| x floor cpu | note |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    for r in results:
        wall, cpu, rss = r.median("wall"), r.median("cpu"), r.median("rss_mb")
        compared = r.step in ("scan", "html", "pdf")
        notes = []
        if r.unavailable:
            notes.append(r.unavailable)
        if r.error:
            notes.append(f"error: {r.error}")
        scan_wall = scan.get(r.size)
        if r.step in ("html", "pdf") and wall is not None and scan_wall is not None:
            notes.append(f"render ~{wall - scan_wall:.1f} s")
        if "pages" in r.extra:
            notes.append(f"{r.extra['pages']} pages")
        if "requests" in r.extra:
            notes.append(
                f"{r.extra['requests']} requests, {r.extra['items']} items on pages, "
                f"{r.extra['objects']} objects kept"
            )
        if "findings" in r.extra:
            notes.append(f"{r.extra['findings']} findings, report {r.extra['report_mb']:.1f} MB")
        if r.step.startswith("yaml-scan") and wall is not None and yparse.get(r.size):
            notes.append(f"x{ratio(wall, yparse.get(r.size)):.2f} yaml-parse")
        if len(r.samples) > 1:
            notes.append(f"median of {len(r.samples)}")
        lines.append(
            f"| {r.size} | {objects.get(r.size, 0)} | {sizes_mb.get(r.size, 0):.1f} | {r.step} "
            f"| {fmt(wall, '.2f')} | {fmt(cpu, '.2f')} | {fmt(rss, '.0f')} "
            f"| {fmt(ratio(wall, floor.get(r.size)) if compared else None, '.2f')} "
            f"| {fmt(ratio(wall, nogc.get(r.size)) if compared else None, '.2f')} "
            f"| {fmt(ratio(cpu, floor_cpu.get(r.size)) if compared else None, '.2f')} "
            f"| {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def growth(results: list[Result], objects: dict[str, int], a: str, b: str) -> str:
    if not objects.get(a) or not objects.get(b):
        return ""
    obj_ratio = objects[b] / objects[a]
    limit = GROWTH[2]
    lines = [
        f"Growth {a} -> {b} (objects x{obj_ratio:.2f}; target: time ratio <= {limit} x object "
        f"ratio = {limit * obj_ratio:.2f}):",
        "",
        "| step | wall ratio | cpu ratio | wall ratio / object ratio |",
        "|---|---:|---:|---:|",
    ]
    by = {(r.size, r.step): r for r in results}
    for step in ALL_STEPS:
        ra, rb = by.get((a, step)), by.get((b, step))
        if not ra or not rb:
            continue
        wa, wb = ra.median("wall"), rb.median("wall")
        ca, cb = ra.median("cpu"), rb.median("cpu")
        if not wa or not wb or not ca or not cb:
            continue
        lines.append(f"| {step} | {wb / wa:.2f} | {cb / ca:.2f} | {(wb / wa) / obj_ratio:.2f} |")
    return "\n".join(lines)


def summary(results: list[Result], objects: dict[str, int]) -> str:
    """One line: each target of benchmarks/README.md, met or not, from this run's figures."""
    by = {(r.size, r.step): r for r in results}
    parts: list[str] = []
    for size, r in sorted({r.size: r for r in results if r.step == "yaml-scan"}.items()):
        json_scan = by.get((size, "scan"))
        yaml_wall = r.median("wall")
        json_wall = json_scan.median("wall") if json_scan else None
        if yaml_wall is None or not json_wall:
            continue
        ratio = yaml_wall / json_wall
        verdict = "met" if ratio <= YAML_VS_JSON else "NOT met"
        serial = by.get((size, "yaml-scan-1"))
        serial_wall = serial.median("wall") if serial else None
        alone = f" (--jobs 1: x{serial_wall / json_wall:.2f})" if serial_wall else ""
        parts.append(f"{size} yaml-scan <= {YAML_VS_JSON:g}x scan: x{ratio:.2f} {verdict}{alone}")
    for size, (limit, steps) in PEAK_MB.items():
        peaks = {s: by[(size, s)].median("rss_mb") for s in steps if (size, s) in by}
        measured = {s: v for s, v in peaks.items() if v is not None}
        if not measured:
            continue
        worst = max(measured.values())
        missing = [s for s in steps if s not in measured]
        verdict = "met" if worst <= limit and not missing else "NOT met"
        what = "+".join(measured)
        note = f" ({', '.join(missing)} not measured)" if missing else ""
        parts.append(f"{size} peak RSS {what} <= {limit:.0f} MB: {worst:.0f} MB {verdict}{note}")
    parts.extend(collect_summary(by))
    a, b, limit = GROWTH
    if objects.get(a) and objects.get(b):
        ra, rb = by.get((a, "scan")), by.get((b, "scan"))
        wa = ra.median("wall") if ra else None
        wb = rb.median("wall") if rb else None
        if wa and wb:
            per_object = (wb / wa) / (objects[b] / objects[a])
            verdict = "met" if per_object <= limit else "NOT met"
            parts.append(f"growth {a}->{b} scan x{per_object:.2f} of linear (<= {limit}) {verdict}")
    else:
        parts.append(f"growth {a}->{b}: not measured in this run")
    return "SUMMARY: " + "; ".join(parts)


def collect_summary(by: dict[tuple[str, str], Result]) -> list[str]:
    """Issue #17 item 4: the live collection's peak RSS no higher than the scan's."""
    parts = []
    for (size, step), r in sorted(by.items()):
        if step != "collect":
            continue
        scan = by.get((size, "scan"))
        got = r.median("rss_mb")
        limit = scan.median("rss_mb") if scan else None
        if got is None or limit is None:
            parts.append(f"{size} collect peak RSS <= {size} scan peak RSS: not measured")
            continue
        verdict = "met" if got <= limit else "NOT met"
        parts.append(
            f"{size} collect peak RSS <= {size} scan peak RSS: {got:.0f} vs {limit:.0f} MB "
            f"{verdict}"
        )
    return parts

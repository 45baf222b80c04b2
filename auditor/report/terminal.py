"""The terminal summary printed after a scan.

Tenant-written text is made inert (auditor/report/text.py): each field is escaped and capped as
it is placed, and the finished summary is passed through `inert` once more, line by line, so no
control character from any input (a report, a baseline, a diff input) can reach the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.report.text import inert

TOP_FINDINGS = 10


def printable(text: object, limit: int = 120) -> str:
    """Untrusted text for one terminal field: control characters escaped, length capped."""
    return inert(text, limit)


def _lines(lines: Sequence[str]) -> str:
    """The final text: every line inert, whatever field it was built from."""
    return "\n".join(inert(line) for line in "\n".join(lines).split("\n"))


def _resource(ref: Mapping[str, Any]) -> str:
    ns = ref.get("namespace")
    name = f"{ns}/{ref['name']}" if ns else ref["name"]
    return printable(f"{ref['kind']} {name}", 80)


def _exposure_line(e: Mapping[str, Any]) -> str:
    tls = (
        "TLS " + e["tls_mode"]
        if e["tls"]
        else ("redirect to HTTPS" if e["redirect_only"] else "PLAINTEXT")
    )
    gw = e["gateway"]
    return (
        f"  {printable(e['host'], 60)}:{e['port']} {e['protocol']} [{tls}] via "
        f"{gw['kind']} {printable(gw['namespace'])}/{printable(gw['name'])} -> "
        f"{printable(', '.join(e['backends']) or '(no backend)', 80)}"
    )


def render(data: Mapping[str, Any], written: Sequence[Path] = ()) -> str:
    lines: list[str] = []
    src = data["source"]
    where = src.get("context") or ", ".join(src.get("paths") or []) or src["type"]
    lines.append(f"mesh-audit {data['tool']['version']}: audited {printable(where)}")
    summary = data["summary"]
    cov = summary["coverage"]
    lines.append(
        f"  kinds read: {cov['kinds_read']}/{cov['kinds_total']}   "
        f"checks run: {summary['checks']['ran']}/{summary['checks']['total']}   "
        f"mesh config: {printable(data['mesh_config']['source'])}"
    )
    missing = [(k, v) for k, v in data["collection"].items() if v["status"] != "ok"]
    for key, entry in missing:
        msg = f": {printable(entry['message'])}" if entry.get("message") else ""
        lines.append(f"  NOT READ {key} ({entry['status']}){msg}")
    for key, entry in data["collection"].items():
        # read, but not everywhere (e.g. some namespaces forbidden): still a partial view
        if entry["status"] == "ok" and entry.get("message"):
            lines.append(f"  PARTIAL {key}: {printable(entry['message'])}")
    for run in data["check_runs"]:
        if run["status"] != "ran":
            lines.append(f"  check {run['check']} {run['status']}: {printable(run['message'])}")
    sev = summary["by_severity"]
    counts = "  ".join(f"{k}: {v}" for k, v in sev.items())
    waived = f"   (waived: {summary['waived']})" if "waived" in summary else ""
    lines.append(f"Findings: {summary['total']}   {counts}{waived}")
    active = [f for f in data["findings"] if not f.get("waiver")]
    for f in active[:TOP_FINDINGS]:
        new = " NEW" if f.get("baseline_status") == "new" else ""
        lines.append(
            f"  [{f['severity'].upper():8}]{new} {f['check']}  {_resource(f['resource'])}  "
            f"{printable(f['path'], 50)}"
        )
        lines.append(f"             {printable(f['message'], 160)}")
    if len(active) > TOP_FINDINGS:
        lines.append(f"  ... and {len(active) - TOP_FINDINGS} more in the report")
    lines.extend(_pipeline_lines(data))
    external = [e for e in data["exposure"] if e["external"]]
    internal = [e for e in data["exposure"] if not e["external"]]
    for title, entries in (
        ("Exposed to the outside", external),
        (
            "Not reachable from outside (internal gateway, or a port no external Service carries)",
            internal,
        ),
    ):
        if not entries:
            continue
        lines.append(f"{title}: {len(entries)} host/port entries")
        lines.extend(_exposure_line(e) for e in entries[:TOP_FINDINGS])
        if len(entries) > TOP_FINDINGS:
            lines.append(f"  ... and {len(entries) - TOP_FINDINGS} more in the report")
    egress = data.get("egress") or []
    if egress:
        via = sum(1 for e in egress if e["via_egress_gateway"])
        lines.append(f"Egress: {len(egress)} external hosts, {via} through an egress gateway")
        for e in egress[:TOP_FINDINGS]:
            ports = ",".join(f"{p['number']}/{p['protocol']}" for p in e["ports"]) or "-"
            gw = e["via_egress_gateway"]
            route = f"via {printable(gw['namespace'])}/{printable(gw['name'])}" if gw else "DIRECT"
            lines.append(
                f"  {printable(e['host'], 60)} {ports} {route} "
                f"[TLS origination: {e['tls_origination']}]"
                + ("" if e["registered_by"] else " UNREGISTERED")
            )
            for reason in e["bypass"][:3]:
                lines.append(f"      bypass: {printable(reason, 140)}")
            if len(e["bypass"]) > 3:
                lines.append(f"      ... and {len(e['bypass']) - 3} more bypass reasons")
        if len(egress) > TOP_FINDINGS:
            lines.append(f"  ... and {len(egress) - TOP_FINDINGS} more in the report")
    if data["warnings"]:
        lines.append(f"Input warnings: {len(data['warnings'])} (listed in report warnings[])")
        for w in data["warnings"][:5]:
            doc = f" document {w['document']}" if w.get("document") else ""
            item = f" items[{w['item']}]" if w.get("item") is not None else ""
            lines.append(f"  {printable(w['source'], 80)}{doc}{item}: {printable(w['problem'])}")
    for path in written:
        lines.append(f"Wrote {path}")
    return _lines(lines)


def _pipeline_lines(data: Mapping[str, Any]) -> list[str]:
    """Baseline change and waiver audit lines, when those were used."""
    lines: list[str] = []
    base = data.get("baseline")
    if base:
        lines.append(
            f"Since baseline {printable(base['source'])} ({base.get('generated_at')}): "
            f"{base['new']} new, {base['unchanged']} unchanged, {base['resolved']} resolved"
        )
    audit = data.get("waiver_audit")
    if audit is not None:
        by_status = {s: sum(1 for w in audit if w["status"] == s) for s in _WAIVER_STATUSES}
        lines.append("Waivers: " + ", ".join(f"{n} {s}" for s, n in by_status.items()))
        for w in audit:
            if w["status"] != "matched":
                lines.append(f"  waivers[{w['index']}] {w['status']}: {_waiver_target(w)}")
    return lines


_WAIVER_STATUSES = ("matched", "unused", "expired")


def _waiver_target(w: Mapping[str, Any]) -> str:
    if w.get("id"):
        return printable(w["id"])
    res = w.get("resource") or {}
    target = "/".join(res.get(k, "*") for k in ("kind", "namespace", "name"))
    expires = f" (expires {w['expires']})" if w.get("expires") else ""
    return printable(f"{w['check']} {target}{expires}")


def _diff_line(f: Mapping[str, Any]) -> str:
    return (
        f"  [{f['severity'].upper():8}] {f['check']}  {_resource(f['resource'])}  "
        f"{printable(f['path'], 50)}  {f['id']}"
    )


def render_diff(result: Mapping[str, Any], written: Path | None = None) -> str:
    """`mesh-audit diff` output: counts, then the new and resolved findings."""
    old, new, counts = result["old"], result["new"], result["counts"]
    lines = [
        f"mesh-audit diff: {old['generated_at']} ({old['findings']} findings) -> "
        f"{new['generated_at']} ({new['findings']} findings)",
        f"New: {counts['new']}   Resolved: {counts['resolved']}   Unchanged: {counts['unchanged']}",
    ]
    for title, key in (("New findings:", "new_findings"), ("Resolved:", "resolved_findings")):
        if result[key]:
            lines.append(title)
            lines.extend(_diff_line(f) for f in result[key])
    if written is not None:
        lines.append(f"Wrote {written}")
    return _lines(lines)

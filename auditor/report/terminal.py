"""The terminal summary printed after a scan.

Tenant-written text is made inert (auditor/base/text.py): each field is escaped and capped as
it is placed, and the finished summary is passed through `inert` once more, line by line, so no
control character from any input (a report, a baseline, a diff input) can reach the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from auditor.base.limits import LIMITS
from auditor.base.text import inert
from auditor.input.completeness import statement

TOP_FINDINGS = 10
TOP_HOSTS = 5

# False while rendering for a pipe or file: nothing is cut (see `render`)
_CAP: ContextVar[bool] = ContextVar("mesh_audit_terminal_cap", default=True)

# ANSI SGR colours for the severity tag, only on a terminal and never with NO_COLOR
_COLOURS = {"CRITICAL": "1;31", "HIGH": "31", "MEDIUM": "33", "LOW": "36", "INFO": "2"}


def printable(text: object, limit: int = 120) -> str:
    """Untrusted text for one terminal field: control characters escaped, length capped to fit
    a terminal line; while rendering for a pipe or file (see `render`) only to the cap every
    rendered report uses (README: Limits), so a 50 MB host never becomes a 50 MB log line."""
    if not _CAP.get():
        return inert(text, LIMITS.max_rendered_chars)
    return inert(text, limit)


def _lines(lines: Sequence[str]) -> str:
    """The final text: every line inert, whatever field it was built from."""
    return "\n".join(inert(line) for line in "\n".join(lines).split("\n"))


def style_for(
    is_tty: bool, env: Mapping[str, str], *, no_color: bool = False, columns: int = 80
) -> tuple[int | None, bool]:
    """(width, colour) for the summary: on a terminal, COLUMNS (else its size, `columns`) and
    colour unless --no-color or NO_COLOR (https://no-color.org: set and not empty); piped or
    redirected, no cutting and no colour."""
    if not is_tty:
        return None, False
    raw = env.get("COLUMNS", "")
    width = int(raw) if raw.isdigit() and int(raw) >= 20 else max(columns, 20)
    return width, not no_color and not env.get("NO_COLOR")


def _fit(line: str, width: int | None) -> str:
    return line if width is None or len(line) <= width else line[: max(width - 1, 1)] + "…"


def _colour(line: str) -> str:
    for sev, code in _COLOURS.items():
        tag = f"[{sev:8}]"
        if line.startswith(f"  {tag}"):
            return f"  \x1b[{code}m{tag}\x1b[0m{line[2 + len(tag) :]}"
    return line


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
    reach = f" ({e['reachability']})" if e.get("reachability") else ""
    around = " AROUND THE ISTIO GATEWAY" if e.get("via_istio_gateway") is False else ""
    return (
        f"  {printable(e['host'], 60)}:{e['port']} {e['protocol']} [{tls}]{reach} via "
        f"{gw['kind']} {printable(gw['namespace'])}/{printable(gw['name'])}{around} -> "
        f"{printable(', '.join(e['backends']) or '(no backend)', 80)}"
    )


def render(
    data: Mapping[str, Any],
    written: Sequence[Path] = (),
    *,
    width: int | None = None,
    color: bool = False,
) -> str:
    """The summary. `width`: the terminal's columns (lines longer are cut with …); None for a
    pipe or file, where nothing is cut. `color`: colour the severity tags (a terminal without
    NO_COLOR)."""
    token = _CAP.set(width is not None)
    try:
        lines = _render(data, written)
    finally:
        _CAP.reset(token)
    lines = [_fit(line, width) for line in _lines(lines).split("\n")]
    if color:
        lines = [_colour(line) for line in lines]
    return "\n".join(lines)


def _render(data: Mapping[str, Any], written: Sequence[Path]) -> list[str]:
    lines: list[str] = []
    src = data["source"]
    where = src.get("context") or ", ".join(src.get("paths") or []) or src["type"]
    lines.append(f"mesh-audit {data['tool']['version']}: audited {printable(where)}")
    incomplete = statement(data)
    if incomplete:
        lines.append(f"  AUDIT INCOMPLETE: {printable(incomplete, 300)}")
    summary = data["summary"]
    cov = summary["coverage"]
    lines.append(
        f"  kinds read: {cov['kinds_read']}/{cov['kinds_total']}   "
        f"checks run: {summary['checks']['ran']}/{summary['checks']['total']}   "
        f"mesh config: {printable(data['mesh_config']['source'])}"
    )
    lines.extend(_scope_lines(data))
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
    if "score" in summary:
        lines.append(f"Score: {summary['score']}/100   grade {summary['grade']}")
    groups = summary.get("groups")
    weaknesses = f" in {groups['total']} weaknesses" if groups else ""
    lines.append(f"Findings: {summary['total']}{weaknesses}   {counts}{waived}")
    active = [f for f in data["findings"] if not f.get("waiver")]
    # one entry per weakness: a group's primary, with the related findings as its facets
    by_id = {f["id"]: f for f in active}
    shown = [
        f
        for f in active
        if (f.get("group") or {}).get("primary", f["id"]) not in by_id
        or (f.get("group") or {}).get("primary", f["id"]) == f["id"]
    ]
    for f in shown[:TOP_FINDINGS]:
        new = " NEW" if f.get("baseline_status") == "new" else ""
        lines.append(
            f"  [{f['severity'].upper():8}]{new} {f['check']}  {_resource(f['resource'])}  "
            f"{printable(f['path'], 50)}"
        )
        lines.append(f"             {printable(f['message'], 160)}")
        related = [by_id[r] for r in (f.get("group") or {}).get("related", ()) if r in by_id]
        if related and (f.get("group") or {}).get("primary") == f["id"]:
            facets = "; ".join(
                f"{r['check']} {_resource(r['resource'])} {printable(r['path'], 40)}"
                for r in related
            )
            lines.append(f"             same weakness: {printable(facets, 200)}")
    if len(shown) > TOP_FINDINGS:
        lines.append(f"  ... and {len(shown) - TOP_FINDINGS} more in the report")
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
        # the same bypass reason (a namespace without an egress NetworkPolicy) applies to many
        # hosts: each is numbered and printed once, with the hosts it applies to
        reasons: dict[str, list[str]] = {}
        for e in egress[:TOP_FINDINGS]:
            ports = ",".join(f"{p['number']}/{p['protocol']}" for p in e["ports"]) or "-"
            gw = e["via_egress_gateway"]
            route = f"via {printable(gw['namespace'])}/{printable(gw['name'])}" if gw else "DIRECT"
            paths = {p.get("path") for p in e["ports"]}
            if not gw and paths in ({"black-hole"}, {"in-pod"}):
                # a route to nothing (proxies answer 503), or the caller's own pod: not direct
                route = "BLACK-HOLE" if paths == {"black-hole"} else "IN-POD"
            numbers = []
            for reason in e["bypass"]:
                hosts = reasons.setdefault(reason, [])
                hosts.append(printable(e["host"], 60))
                numbers.append(str(list(reasons).index(reason) + 1))
            lines.append(
                f"  {printable(e['host'], 60)} {ports} {route} "
                f"[TLS origination: {e['tls_origination']}]"
                + ("" if e["registered_by"] else " UNREGISTERED")
                + (f"  bypass: {','.join(numbers)}" if numbers else "")
            )
        if len(egress) > TOP_FINDINGS:
            lines.append(f"  ... and {len(egress) - TOP_FINDINGS} more in the report")
        if reasons:
            listed = len(egress[:TOP_FINDINGS])
            lines.append("  Bypass reasons (numbered above):")
            for n, (reason, hosts) in enumerate(reasons.items(), start=1):
                if len(hosts) == listed and listed > 1:
                    which = f"all {listed} hosts"
                else:
                    which = ", ".join(hosts[:TOP_HOSTS])
                    if len(hosts) > TOP_HOSTS:
                        which += f" and {len(hosts) - TOP_HOSTS} more"
                lines.append(f"    {n}. {printable(reason, 140)} ({which})")
    lines.extend(_observed_lines(data))
    if data["warnings"]:
        lines.append(f"Input warnings: {len(data['warnings'])} (listed in report warnings[])")
        for w in data["warnings"][:5]:
            doc = f" document {w['document']}" if w.get("document") else ""
            item = f" items[{w['item']}]" if w.get("item") is not None else ""
            lines.append(f"  {printable(w['source'], 80)}{doc}{item}: {printable(w['problem'])}")
    for path in written:
        lines.append(f"Wrote {path}")
    return lines


def _observed_lines(data: Mapping[str, Any]) -> list[str]:
    """`scan --prometheus`: one line of what Istio's metrics saw (coverage notes are warnings)."""
    obs = data.get("observed")
    if not isinstance(obs, Mapping):
        return []
    since = printable(obs["window"]["since"], 20)
    if not obs.get("available"):
        why = obs.get("not_assessed")
        if isinstance(why, str) and why:
            return [f"Observed egress (last {since}): not assessed: {printable(why, 300)}"]
        return [f"Observed egress (last {since}): nothing observed (see warnings)"]
    verdicts = [h["verdict"] for h in obs["hosts"]]

    def who(traffic: Mapping[str, Any]) -> str:
        return str(traffic["sources_total"]) + " workloads"

    return [
        f"Observed egress (last {since}): {verdicts.count('did-bypass')} hosts did bypass, "
        f"{verdicts.count('through-gateway')} only through the egress gateway, "
        f"{verdicts.count('not-observed')} without traffic; PassthroughCluster from "
        f"{who(obs['passthrough'])}, BlackHoleCluster from {who(obs['blackhole'])}"
    ]


def _scope_lines(data: Mapping[str, Any]) -> list[str]:
    """What -n limited: the scope, findings outside it, and findings it could not judge."""
    scope = data.get("scope")
    if not scope:
        return []
    names = scope.get("namespaces")
    where = "namespaces " + ", ".join(printable(n) for n in names) if names else "all namespaces"
    read = scope.get("read")
    lines = [
        f"  scope: {where} ({scope['outside_findings']} findings outside it not reported; "
        + ("read: " + ", ".join(printable(n) for n in read) if read else "read cluster-wide")
        + ")"
    ]
    not_judged = scope.get("not_judged") or []
    if not_judged:
        lines.append(
            f"  NOT JUDGED {len(not_judged)} findings: they depend on namespaces this scan "
            "did not read (listed in report scope.not_judged[])"
        )
        for f in not_judged[:TOP_FINDINGS]:
            lines.append(f"    {f['check']}  {_resource(f['resource'])}")
        if len(not_judged) > TOP_FINDINGS:
            lines.append(f"    ... and {len(not_judged) - TOP_FINDINGS} more in the report")
    return lines


def _pipeline_lines(data: Mapping[str, Any]) -> list[str]:
    """Baseline change and waiver audit lines, when those were used."""
    lines: list[str] = []
    base = data.get("baseline")
    if base:
        lines.append(
            f"Since baseline {printable(base['source'])} ({base.get('generated_at')}): "
            f"{base['new']} new, {base['unchanged']} unchanged, {base['resolved']} resolved"
            + (f", {base['not_compared']} not compared" if base.get("not_compared") else "")
        )
        for f in data.get("not_compared") or []:
            lines.append(
                f"  NOT COMPARED {f['check']}  {_resource(f['resource'])}: "
                f"{printable(f.get('not_compared_reason', ''), 120)}"
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
        f"New: {counts['new']}   Resolved: {counts['resolved']}   Unchanged: {counts['unchanged']}"
        + f"   Not compared: {counts.get('not_compared', 0)}",
    ]
    for title, key in (("New findings:", "new_findings"), ("Resolved:", "resolved_findings")):
        if result[key]:
            lines.append(title)
            lines.extend(_diff_line(f) for f in result[key])
    not_compared = result.get("not_compared_findings") or []
    if not_compared:
        lines.append("Not compared (the newer scan could not see them; not counted as resolved):")
        for f in not_compared:
            lines.append(_diff_line(f))
            lines.append(f"      {printable(f.get('not_compared_reason', ''), 140)}")
    if written is not None:
        lines.append(f"Wrote {written}")
    return _lines(lines)

"""The terminal summary printed after a scan: what to fix first, then where traffic gets in
and out, ending with the score, the counts, the failed controls and the next step.

Every list is in the one risk order (auditor/report/risk.py). Findings at the chosen severity
and above (default medium; `scan --severity`, `--all`) are listed whole, worst first, one
entry per weakness (auditor/report/groups.py) with its related findings; the rest are
counted. Text is wrapped to the terminal, never cut (auditor/report/terminal_text.py).

Tenant-written text is made inert (auditor/base/text.py): each field is escaped as it is
placed, and the finished summary is passed through `inert` once more, line by line, so no
control character from any input (a report, a baseline, a diff input) can reach the terminal.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.base.model import Severity
from auditor.base.text import inert
from auditor.input.completeness import statement
from auditor.report import risk
from auditor.report.terminal_text import message, printable, wrap
from auditor.report.terminal_traffic import egress_lines, exposure_lines

TOP_NOT_JUDGED = 10
DEFAULT_SEVERITY = Severity.MEDIUM
NEXT_FORMATS = "html,json"
# the summary's own indents: a finding's header, its text, a related finding and its text
HEAD, BODY, FACET, FACET_BODY = "  ", "      ", "      - ", "          "

# ANSI SGR colours for the severity tag, only on a terminal and never with NO_COLOR
_COLOURS = {"CRITICAL": "1;31", "HIGH": "31", "MEDIUM": "33", "LOW": "36", "INFO": "2"}


def _lines(lines: Sequence[str]) -> str:
    """The final text: every line inert, whatever field it was built from."""
    return "\n".join(inert(line) for line in "\n".join(lines).split("\n"))


def style_for(
    is_tty: bool, env: Mapping[str, str], *, no_color: bool = False, columns: int = 80
) -> tuple[int | None, bool]:
    """(width, colour) for the summary. Width: COLUMNS when set (as Python's
    shutil.get_terminal_size reads it, also when piped: the user asked for that width), else
    the terminal's size (`columns`), else None (piped: one line per item, nothing wrapped).
    Colour on a terminal unless --no-color or NO_COLOR (https://no-color.org: set and not
    empty). Lines are wrapped to the width, never cut."""
    raw = env.get("COLUMNS", "")
    if raw.isdigit() and int(raw) >= 20:
        width: int | None = int(raw)
    else:
        width = max(columns, 20) if is_tty else None
    return width, is_tty and not no_color and not env.get("NO_COLOR")


def _colour(line: str) -> str:
    for sev, code in _COLOURS.items():
        tag = f"[{sev:8}]"
        if line.startswith(f"{HEAD}{tag}"):
            return f"{HEAD}\x1b[{code}m{tag}\x1b[0m{line[len(HEAD) + len(tag) :]}"
    return line


def _resource(ref: Mapping[str, Any]) -> str:
    ns = ref.get("namespace")
    name = f"{ns}/{ref['name']}" if ns else ref["name"]
    return printable(f"{ref['kind']} {name}")


def render(
    data: Mapping[str, Any],
    written: Sequence[Path] = (),
    *,
    width: int | None = None,
    color: bool = False,
    severity: Severity = DEFAULT_SEVERITY,
) -> str:
    """The summary. `width`: wrap lines to it (None: no wrapping); nothing is ever cut.
    `color`: colour the severity tags (a terminal without NO_COLOR). `severity`: list findings
    at this severity and above; the others are counted."""
    lines = _lines(_render(data, written, width, severity)).split("\n")
    if color:
        lines = [_colour(line) for line in lines]
    return "\n".join(lines)


def _render(
    data: Mapping[str, Any], written: Sequence[Path], width: int | None, severity: Severity
) -> list[str]:
    order = risk.RiskOrder(data)
    lines = _header_lines(data, width)
    lines.extend(_finding_lines(data, order, width, severity))
    lines.extend(_wrapped(_pipeline_lines(data), width))
    lines.extend(exposure_lines(order, width))
    lines.extend(egress_lines(order, width))
    lines.extend(_wrapped(_observed_lines(data), width))
    lines.extend(_compliance_lines(data, width))
    if data["warnings"]:
        lines.append(f"Input warnings: {len(data['warnings'])} (listed in report warnings[])")
        for w in data["warnings"][:5]:
            doc = f" document {w['document']}" if w.get("document") else ""
            item = f" items[{w['item']}]" if w.get("item") is not None else ""
            lines.extend(
                wrap(f"{printable(w['source'])}{doc}{item}: {printable(w['problem'])}", width, "  ")
            )
    lines.extend(_closing_lines(data, written, width))
    return lines


def _compliance_lines(data: Mapping[str, Any], width: int | None) -> list[str]:
    """Each framework's controls, one line each: status, control, and why (the checks that
    found something, or what kept it from being assessed). Failed controls first."""
    order = {"failed": 0, "not assessed": 1, "waived": 2, "passed": 3}
    by_id = {str(f["id"]): str(f["check"]) for f in data["findings"]}
    lines: list[str] = []
    for fw in data.get("compliance") or ():
        s = fw["summary"]
        lines.append("")
        lines.extend(
            wrap(
                f"Controls, {printable(fw['framework']['title'])}: {s['passed']} passed, "
                f"{s['failed']} failed, {s['waived']} waived, {s['not_assessed']} not assessed",
                width,
            )
        )
        for c in sorted(fw["controls"], key=lambda c: order.get(str(c["status"]), 9)):
            status = str(c["status"])
            checks = sorted({by_id[i] for i in c.get("findings") or () if i in by_id})
            why = ", ".join(checks) if status in ("failed", "waived") and checks else ""
            if status == "not assessed":
                why = printable(str(c.get("reason") or ""))
            text = f"{status.upper():<12}  {printable(str(c['id']))}" + (f"  {why}" if why else "")
            lines.extend(wrap(text, width, "  "))
    return lines


def _wrapped(lines: Sequence[str], width: int | None) -> list[str]:
    """Lines built whole (baseline, waivers, scope, observed traffic), wrapped each at its own
    indent."""
    out: list[str] = []
    for line in lines:
        text = line.lstrip(" ")
        indent = line[: len(line) - len(text)]
        out.extend(wrap(text, width, indent))
    return out


def _header_lines(data: Mapping[str, Any], width: int | None) -> list[str]:
    src = data["source"]
    where = src.get("context") or ", ".join(src.get("paths") or []) or src["type"]
    lines = wrap(f"mesh-audit {data['tool']['version']}: audited {printable(where)}", width)
    incomplete = statement(data)
    if incomplete:
        lines.extend(wrap(f"AUDIT INCOMPLETE: {printable(incomplete)}", width, "  "))
    summary = data["summary"]
    cov = summary["coverage"]
    lines.extend(
        wrap(
            f"kinds read: {cov['kinds_read']}/{cov['kinds_total']}   "
            f"checks run: {summary['checks']['ran']}/{summary['checks']['total']}   "
            f"mesh config: {printable(data['mesh_config']['source'])}",
            width,
            "  ",
        )
    )
    lines.extend(_wrapped(_scope_lines(data), width))
    for key, entry in data["collection"].items():
        if entry["status"] != "ok":
            msg = f": {printable(entry['message'])}" if entry.get("message") else ""
            lines.extend(wrap(f"NOT READ {key} ({entry['status']}){msg}", width, "  "))
        elif entry.get("message"):
            # read, but not everywhere (e.g. some namespaces forbidden): still a partial view
            lines.extend(wrap(f"PARTIAL {key}: {printable(entry['message'])}", width, "  "))
    for run in data["check_runs"]:
        if run["status"] != "ran":
            lines.extend(
                wrap(
                    f"check {run['check']} {run['status']}: {printable(run['message'])}",
                    width,
                    "  ",
                )
            )
    return lines


def severity_note(f: Mapping[str, Any], default: str | None) -> str:
    """`high: reachable from the internet (check default: medium)`, when the finding's severity
    is not its check's default and the finding says why ("" otherwise)."""
    reason = f.get("severity_reason")
    if not reason or default is None or default == f["severity"]:
        return ""
    return f"{f['severity']}: {printable(reason)} (check default: {default})"


# related findings shown under a weakness's entry (all of them with --all)
FACETS = 3


def _finding_block(
    f: Mapping[str, Any], defaults: Mapping[str, str], width: int | None, facet: bool = False
) -> list[str]:
    new = " NEW" if f.get("baseline_status") == "new" else ""
    tag = f"[{f['severity'].upper():8}]"
    head = f"{tag}{new} {f['check']}  {_resource(f['resource'])}  {printable(f['path'])}"
    first, body = (FACET, FACET_BODY) if facet else (HEAD, BODY)
    lines = wrap(head.rstrip(), width, first, body)
    note = severity_note(f, defaults.get(f["check"]))
    if note:
        lines.extend(wrap(note, width, body, body))
    lines.extend(wrap(message(f["message"]), width, body, body))
    return lines


def _finding_lines(
    data: Mapping[str, Any], order: risk.RiskOrder, width: int | None, severity: Severity
) -> list[str]:
    active = [f for f in data["findings"] if not f.get("waiver")]
    by_id = {f["id"]: f for f in active}
    defaults = {str(c["id"]): str(c["severity"]) for c in data.get("checks") or ()}

    def leads(f: Mapping[str, Any]) -> bool:
        """A weakness's own entry: its group's primary (or a member whose primary is waived)."""
        primary = (f.get("group") or {}).get("primary", f["id"])
        return bool(primary == f["id"] or primary not in by_id)

    # one entry per weakness: a group's primary, with the related findings as its facets
    chosen = [
        f for f in order.findings(active) if leads(f) and Severity.parse(f["severity"]) >= severity
    ]
    listed: set[str] = set()
    body: list[str] = []
    for f in chosen:
        body.extend(_finding_block(f, defaults, width))
        listed.add(f["id"])
        related = [by_id[r] for r in (f.get("group") or {}).get("related", ()) if r in by_id]
        if related and (f.get("group") or {}).get("primary") == f["id"]:
            body.extend(wrap("same weakness, counted once:", width, BODY))
            ranked = order.findings(related)
            shown = ranked if severity == Severity.INFO else ranked[:FACETS]
            for r in shown:
                body.extend(_finding_block(r, defaults, width, facet=True))
            if len(shown) < len(ranked):
                body.extend(
                    wrap(
                        f"and {len(ranked) - len(shown)} more findings of this weakness "
                        "(--all lists them; each is in report.json)",
                        width,
                        BODY,
                    )
                )
            listed.update(r["id"] for r in ranked)
    scope = (
        "All findings" if severity == Severity.INFO else f"Findings at {severity.label} and above"
    )
    lines = ["", f"{scope}, worst first: {len(listed)} of {len(active)}"] if active else []
    lines.extend(body)
    rest = [f for f in active if f["id"] not in listed]
    if rest:
        counts = ", ".join(
            f"{n} {s.label}"
            for s in sorted(Severity, reverse=True)
            if (n := sum(1 for f in rest if f["severity"] == s.label))
        )
        nearest = max(Severity.parse(f["severity"]) for f in rest)
        lines.extend(
            wrap(
                f"Not listed: {counts} (--severity {nearest.label} adds the {nearest.label} "
                "ones, --all lists every finding)",
                width,
                "  ",
            )
        )
    waived = len(data["findings"]) - len(active)
    if waived:
        lines.append(f"  Waived: {waived} (listed in the report with their waivers)")
    return lines


def _closing_lines(
    data: Mapping[str, Any], written: Sequence[Path], width: int | None
) -> list[str]:
    """Where the eye lands: score, counts, failed controls, then the files or the next step."""
    summary = data["summary"]
    lines: list[str] = []
    if "score" in summary:
        lines.append(f"Score: {summary['score']}/100   grade {summary['grade']}")
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    groups = summary.get("groups")
    distinct = f" ({groups['total']} distinct weaknesses)" if groups else ""
    total = summary["total"]
    waived = f"; {summary['waived']} waived" if summary.get("waived") else ""
    noun = "finding" if total == 1 else "findings"
    lines.extend(
        wrap(f"{total} {noun}{distinct}" + (f": {counts}" if counts else "") + waived, width)
    )
    for fw in data.get("compliance") or ():
        s = fw["summary"]
        failed = [c for c in fw["controls"] if c["status"] == "failed"]
        text = (
            f"{printable(fw['framework']['id'])}: {s['failed']} of {s['controls']} controls "
            f"failed"
            + (": " + ", ".join(printable(c["id"]) for c in failed) if failed else "")
            + (f"; {s['not_assessed']} not assessed" if s.get("not_assessed") else "")
        )
        lines.extend(wrap(text, width))
    for path in written:
        lines.append(f"Wrote {path}")
    if not written:
        lines.append("Write the full report (HTML and JSON):")
        lines.extend(command_lines(next_command(data), width, "  "))
    return ["", *lines]


def command_lines(command: str, width: int | None, indent: str) -> list[str]:
    """A command to copy: wrapped at spaces with shell line continuations (` \\`), so pasting
    the lines runs one command."""
    if width is None:
        return [indent + command]
    lines = wrap(command, width - 2, indent, indent + "    ")
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def next_command(data: Mapping[str, Any]) -> str:
    """The command that writes the report files: this scan's command line (as recorded,
    secrets redacted) with `--format html,json`, without what printed to stdout instead."""
    argv = [str(a) for a in data.get("command") or ()]
    if not argv:
        return f"mesh-audit scan ... --format {NEXT_FORMATS}"
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("-o", "--output", "--format", "--severity"):
            skip = True
            continue
        if a.startswith(("--output=", "--format=", "--severity=")) or a in (
            "--all",
            "-q",
            "--quiet",
        ):
            continue
        out.append(a)
    return printable(shlex.join([*out, "--format", NEXT_FORMATS]))


def _observed_lines(data: Mapping[str, Any]) -> list[str]:
    """`scan --prometheus`: one line of what Istio's metrics saw (coverage notes are warnings)."""
    obs = data.get("observed")
    if not isinstance(obs, Mapping):
        return []
    since = printable(obs["window"]["since"])
    if not obs.get("available"):
        why = obs.get("not_assessed")
        if isinstance(why, str) and why:
            return [f"Observed egress (last {since}): not assessed: {printable(why)}"]
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
        for f in not_judged[:TOP_NOT_JUDGED]:
            lines.append(f"    {f['check']}  {_resource(f['resource'])}")
        if len(not_judged) > TOP_NOT_JUDGED:
            lines.append(
                f"    and {len(not_judged) - TOP_NOT_JUDGED} more (report scope.not_judged[])"
            )
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
                f"{printable(f.get('not_compared_reason', ''))}"
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
        f"{printable(f['path'])}  {f['id']}"
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
            lines.append(f"      {printable(f.get('not_compared_reason', ''))}")
    if written is not None:
        lines.append(f"Wrote {written}")
    return _lines(lines)

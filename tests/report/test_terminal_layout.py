"""The terminal summary (issue #27): wrapped to the width, never cut; findings at medium and
above listed whole, worst first, the rest counted (`--severity`, `--all`); entry points worst
first; egress by way out in a few lines; ends with score, counts, failed controls and the
command that writes the report. Through the CLI on the demo mesh and a generated 15k mesh."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditor.base.model import Severity
from auditor.base.text import inert
from auditor.report.terminal import render, style_for
from tests.helpers import DEMO
from tests.pipeline_helpers import AFTER, COMMON, run_cli
from tests.report.test_risk import MESH15K_PLAINTEXT

ELLIPSIS = "…"


def _flat(text: str) -> str:
    """The text with line breaks and indents as single spaces (how a wrapped message reads)."""
    return " ".join(text.split())


def _summary(monkeypatch: pytest.MonkeyPatch, args: list[str], columns: str = "80") -> str:
    monkeypatch.setenv("COLUMNS", columns)
    result = run_cli(["scan", *args], monkeypatch)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _block(lines: list[str], start: str) -> list[str]:
    """The lines of the section whose first line starts with `start`, up to a blank line."""
    i = next(n for n, line in enumerate(lines) if line.startswith(start))
    end = next((n for n in range(i, len(lines)) if not lines[n].strip()), len(lines))
    return lines[i:end]


def _entry_rows(lines: list[str]) -> list[str]:
    """The entry point rows (first line of each) of the summary."""
    block = _block(lines, "Entry points, worst first:")
    return [line for line in block if re.match(r"^  (critical|high|medium|low|info|-) +\S", line)]


@pytest.mark.parametrize(
    ("tty", "env", "no_color", "expected"),
    [
        (False, {}, False, (None, False)),  # piped: one line per item, no colour
        (False, {"COLUMNS": "60"}, False, (60, False)),  # COLUMNS asks for a width
        (True, {}, False, (132, True)),  # the terminal's own size
        (True, {"COLUMNS": "60"}, False, (60, True)),
        (True, {"COLUMNS": "wide"}, False, (132, True)),
        (True, {"NO_COLOR": "1"}, False, (132, False)),
        (True, {"NO_COLOR": ""}, False, (132, True)),  # no-color.org: set and not empty
        (True, {}, True, (132, False)),  # --no-color
    ],
)
def test_style_for(
    tty: bool, env: dict[str, str], no_color: bool, expected: tuple[int | None, bool]
) -> None:
    assert style_for(tty, env, no_color=no_color, columns=132) == expected


def test_demo_at_80_columns(monkeypatch: pytest.MonkeyPatch, demo_data: dict[str, Any]) -> None:
    text = _summary(monkeypatch, ["--from", str(DEMO)])
    lines = text.splitlines()
    flat = _flat(text)
    # every high and critical finding, whole (wrapped at spaces, nothing left out)
    worst = [f for f in demo_data["findings"] if f["severity"] in ("high", "critical")]
    assert [f["check"] for f in worst if _flat(f["message"]) not in flat] == []
    assert [line for line in lines if line.rstrip().endswith(ELLIPSIS)] == []
    # longer than 80 only where one word (a URL, a host) is longer than the line
    assert [line for line in lines if len(line) > 80 and " " in line.strip()] == []
    # a severity that is not the check's default says why, under the finding's header
    at = lines.index("  [HIGH    ] AUTHZ006  Namespace payments")
    assert _flat("\n".join(lines[at + 1 : at + 3])).startswith(
        "high: a workload it leaves open is reachable from outside the cluster (check default: "
        "medium)"
    )
    # medium findings are listed too; low and info counted, with the option that lists them
    assert "  [MEDIUM  ] MTLS001  Namespace istio-system" in lines
    by_sev = demo_data["summary"]["by_severity"]
    assert (
        f"Not listed: {by_sev['low']} low, {by_sev['info']} info (--severity low adds the low "
        "ones, --all lists every finding)"
    ) in flat
    # the worst entry point first: the plaintext wildcard listener the internet reaches
    assert _entry_rows(lines)[0] == "  high    *:80 HTTP [PLAINTEXT] (internet) via Gateway"
    egress = _block(lines, "Egress:")
    assert len(egress) <= 12, "\n".join(egress)
    assert _flat("\n".join(egress[:3])).startswith(
        # api.unknown-partner.io: routed to, registered by nothing: the proxies answer 503
        "Egress: 9 external hosts, 1 routed through an egress gateway, 1 a route to nothing; "
        "ways around it: all 9 hosts:"
    )
    assert (
        "all 9 hosts: legacy/legacy-billing, payments/payments-reconciler (not in the mesh); "
        "payments/payments-debug (runs as the proxy's UID 1337); payments/payments-batch "
        "(excludeOutboundIPRanges 0.0.0.0/0)"
    ) in _flat("\n".join(egress))
    assert (
        "ALLOW_ANY passthrough: marketing/marketing-web, partner-api/partner-backend, "
        "payments/payments-api -> api.crm-vendor.example.com:80"
    ) in _flat("\n".join(egress))
    assert egress[-1] == "  blocked by NetworkPolicy shop/restrict-egress: shop/frontend, shop/cart"
    # where the eye lands: score, counts, then the command that writes the report
    summary = demo_data["summary"]
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    at = lines.index("Write the full report (HTML and JSON):")
    assert lines[at - 2 : at] == [
        f"Score: {summary['score']}/100   grade {summary['grade']}",
        f"{summary['total']} findings ({summary['groups']['total']} distinct weaknesses): "
        + counts,
    ]
    command = lines[at + 1 :]
    assert all(line.endswith(" \\") for line in command[:-1])  # pasted, one command
    assert _flat(" ".join(line.removesuffix(" \\") for line in command)) == (
        f"mesh-audit scan --from {DEMO} --format html,json"
    )


def test_next_step_is_the_scan_command(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _summary(monkeypatch, ["--from", str(DEMO), "--severity", "high"], columns="200")
    assert text.splitlines()[-2:] == [
        "Write the full report (HTML and JSON):",
        f"  mesh-audit scan --from {DEMO} --format html,json",
    ]


def test_written_files_end_the_summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = _summary(
        monkeypatch, ["--from", str(DEMO), "--format", "json", "--output-dir", str(out)]
    )
    assert text.splitlines()[-1] == f"Wrote {out / 'report.json'}"
    assert "Write the full report" not in text


def test_severity_option(monkeypatch: pytest.MonkeyPatch, demo_data: dict[str, Any]) -> None:
    text = _summary(monkeypatch, ["--from", str(DEMO), "--severity", "high"])
    lines = text.splitlines()
    heads = {line.split("]")[0] + "]" for line in lines if line.startswith("  [")}
    assert heads == {"  [HIGH    ]"}
    assert "Findings at high and above, worst first:" in text
    # not listed: the findings of weaknesses whose primary is below high
    by_id = {f["id"]: f for f in demo_data["findings"]}
    rest = Counter(
        f["severity"]
        for f in demo_data["findings"]
        if by_id[f["group"]["primary"]]["severity"] not in ("high", "critical")
    )
    assert (
        f"Not listed: {rest['medium']} medium, {rest['low']} low, {rest['info']} info "
        "(--severity medium adds the medium ones, --all lists every finding)"
    ) in _flat(text)
    # facets of a listed weakness are listed with it, whatever their severity
    assert "      - [MEDIUM  ] GW004  Gateway marketing/wildcard-gateway" in lines


def test_all_option(monkeypatch: pytest.MonkeyPatch, demo_data: dict[str, Any]) -> None:
    text = _flat(_summary(monkeypatch, ["--from", str(DEMO), "--all"]))
    assert [f["check"] for f in demo_data["findings"] if _flat(f["message"]) not in text] == []
    total = len(demo_data["findings"])
    assert f"All findings, worst first: {total} of {total}" in text
    assert "Not listed" not in text


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--severity", "severe"], "unknown severity 'severe'"),
        (["--severity", "low", "--all"], "give --severity LEVEL or --all, not both"),
    ],
)
def test_bad_severity_options(monkeypatch: pytest.MonkeyPatch, args: list[str], error: str) -> None:
    result = run_cli(["scan", "--from", str(DEMO), *args], monkeypatch)
    assert result.exit_code == 2
    assert error in result.stderr
    assert "Traceback" not in result.stderr


def test_15k_plaintext_listeners_first(monkeypatch: pytest.MonkeyPatch, mesh15k: Path) -> None:
    lines = _summary(monkeypatch, ["--from", str(mesh15k)]).splitlines()
    rows = _entry_rows(lines)
    hosts = {row.split()[1].rsplit(":", 1)[0] for row in rows[:7]}
    assert hosts == MESH15K_PLAINTEXT
    assert {row.split()[2:4][1] for row in rows[:7]} == {"[PLAINTEXT]"}
    assert "[PLAINTEXT]" not in rows[7]
    assert [line for line in lines if line.rstrip().endswith(ELLIPSIS)] == []


def test_15k_default_summary_is_a_screenful_or_two(
    monkeypatch: pytest.MonkeyPatch, mesh15k: Path
) -> None:
    """Medium and above, worst first, then totals: low findings (the generated mesh's injector
    without the CNI plugin and on the default images, PRX001 and IMG001) are counted, not
    listed."""
    default = _summary(monkeypatch, ["--from", str(mesh15k)]).splitlines()
    assert len(default) < 300
    assert not [line for line in default if " PRX001 " in line or " IMG001 " in line]


def test_a_large_weakness_shows_three_related_findings(demo_data: dict[str, Any]) -> None:
    """A weakness lists three of its related findings and counts the rest; --all lists all."""
    data = dict(demo_data)
    primary = dict(data["findings"][0])
    copies = [
        {**primary, "id": f"{primary['id']}-{n}", "path": f"spec.servers[{n + 10}]"}
        for n in range(6)
    ]
    ids = [c["id"] for c in copies]
    group = {"primary": primary["id"], "related": ids}
    members = [{**primary, "group": group}, *({**c, "group": group} for c in copies)]
    data["findings"] = [*members, *data["findings"][1:]]
    text = render(data, width=80)
    facets = [line for line in text.splitlines() if line.startswith("      - [")]
    assert len(facets) == 3
    assert "and 3 more findings of this weakness (--all lists them; each is in" in _flat(text)
    every = render(data, width=80, severity=Severity.INFO)
    assert len([line for line in every.splitlines() if line.startswith("      - [")]) >= 6


def test_piped_output_is_one_line_per_item(demo_data: dict[str, Any]) -> None:
    data = dict(demo_data)
    long_name = "a-very-long-gateway-name-" * 8
    finding = dict(data["findings"][0])
    finding["resource"] = {**finding["resource"], "name": long_name}
    finding["message"] = "word " * 100
    data["findings"] = [finding]
    text = render(data, width=None)
    assert long_name in text and ("word " * 99 + "word") in text
    narrow = render(data, width=60)
    assert [ln for ln in narrow.splitlines() if len(ln) > 60 and " " in ln.strip()] == []
    assert ELLIPSIS not in narrow
    assert _flat("word " * 100) in _flat(narrow)


def test_huge_tenant_text_says_how_much_is_left_out(demo_data: dict[str, Any]) -> None:
    data = dict(demo_data)
    finding = dict(data["findings"][0])
    finding["resource"] = {**finding["resource"], "name": "n" * 5000}
    data["findings"] = [finding]
    text = render(data, width=80)
    ref = finding["resource"]
    shown = f"{ref['kind']} {ref['namespace']}/{ref['name']}"
    left = len(shown) - 1000  # the rendered-text cap (docs/limits.md)
    assert f"{shown[:1000]} [{left:,} more characters in report.json]" in _flat(text)
    assert ELLIPSIS not in text


def test_colour_only_the_severity_tag(demo_data: dict[str, Any]) -> None:
    data = dict(demo_data)
    finding = dict(data["findings"][0])
    finding["resource"] = {**finding["resource"], "name": "evil\x1b[2Jname"}
    data["findings"] = [finding]
    plain, coloured = render(data, width=None), render(data, width=None, color=True)
    assert "\x1b" not in plain
    assert inert("evil\x1b[2Jname") in coloured  # tenant escapes stay neutralised
    tag = f"[{finding['severity'].upper():8}]"
    code = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "info": "2"}
    assert f"  \x1b[{code[finding['severity']]}m{tag}\x1b[0m" in coloured
    assert coloured.count("\x1b[") == 2  # one colour, one reset
    assert (
        coloured.replace(f"\x1b[{code[finding['severity']]}m", "").replace("\x1b[0m", "") == plain
    )


def test_cli_summary_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = run_cli(["scan", "--from", str(COMMON), "--from", str(AFTER)], monkeypatch)
    assert "\x1b" not in result.stdout
    assert any(len(line) > 80 for line in result.stdout.splitlines())  # not wrapped when piped
    assert ELLIPSIS not in result.stdout


def test_failed_controls_end_the_summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--from", str(DEMO), "--framework", "istio-best-practices"]
    text = _summary(monkeypatch, [*args, "--format", "json", "--output-dir", str(out)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (fw,) = report["compliance"]
    failed = [c["id"] for c in fw["controls"] if c["status"] == "failed"]
    assert failed  # the demo fails controls of Istio's security best practices
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("istio-best-practices: "))
    block = _flat("\n".join(lines[at : lines.index(f"Wrote {out / 'report.json'}")]))
    assert block == (
        f"istio-best-practices: {len(failed)} of {len(fw['controls'])} controls failed: "
        + ", ".join(failed)
    )
    assert lines[at - 2].startswith("Score: ")  # score, counts, then the controls

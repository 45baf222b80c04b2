"""The HTML and PDF reports of a scan with a baseline and a waivers file: the change since the
baseline (counts, NEW badges, the resolved list) and the waiver audit (matched, unused, expired).

The scans go through the CLI on the pipeline mesh: the baseline is the `before` mesh scanned a week
earlier, the current run is the `after` mesh (see tests/pipeline_helpers.py for its findings).
"""

from __future__ import annotations

import copy
import html as htmllib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest

from auditor.report.html import render_html
from tests.pipeline_helpers import (
    AFTER,
    BEFORE,
    COMMON,
    EGR001,
    EGR003,
    GW001,
    GW002,
    GW005,
    MTLS001,
    VS001,
    VS002,
    WAIVERS,
    read_json,
    run_cli,
)
from tests.report_support import squash

BASELINE_CLOCK = "2026-11-18T12:00:00Z"  # a week before tests.helpers.FIXED_CLOCK (2026-11-25)

# One entry of each status for the `after` mesh, scanned on 2026-11-25. The reason carries markup:
# the report must show it as text.
WAIVERS_ONE_EACH = """\
waivers:
- check: GW001
  resource: {kind: Gateway, namespace: shop, name: "ghost-*"}
  reason: <b>ghost</b> gateway & co kept for the migration
  owner: shop-team
  expires: "2026-12-31"
  ticket: SEC-101
- check: VS001
  reason: nothing of this kind is left
- check: EGR001
  resource: {kind: ConfigMap, namespace: istio-system}
  reason: egress lock-down scheduled
  owner: platform-team
  expires: 2026-11-24
"""


@dataclass
class Run:
    baseline: Path
    data: dict[str, Any]
    html: str
    pdf_text: str  # every page, whitespace collapsed to single spaces


def scan(out: Path, variant: Path, *extra: str, clock: str = "") -> None:
    args = ["scan", "--from", str(COMMON), "--from", str(variant), "--output-dir", str(out), "-q"]
    with pytest.MonkeyPatch.context() as mp:
        result = run_cli([*args, *extra], mp, **({"clock": clock} if clock else {}))
    assert result.exit_code == 0, result.output


def run_after(tmp: Path, waivers: Path) -> Run:
    scan(tmp / "before", BEFORE, clock=BASELINE_CLOCK)
    baseline = tmp / "before" / "report.json"
    flags = ["--baseline", str(baseline), "--waivers", str(waivers), "--format", "json,html,pdf"]
    scan(tmp / "after", AFTER, *flags)
    reader = pypdf.PdfReader(tmp / "after" / "report.pdf")
    return Run(
        baseline=baseline,
        data=read_json(tmp / "after" / "report.json"),
        html=(tmp / "after" / "report.html").read_text(encoding="utf-8"),
        pdf_text=" ".join(" ".join(p.extract_text() for p in reader.pages).split()),
    )


@pytest.fixture(scope="module")
def one_each(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("one-each")
    waivers = tmp / "waivers.yaml"
    waivers.write_text(WAIVERS_ONE_EACH, encoding="utf-8")
    return run_after(tmp, waivers)


def text_of(fragment: str) -> str:
    """An HTML fragment as a reader sees it: tags gone (a line or cell break is a space), entities
    decoded."""
    fragment = re.sub(r"<br>|</td>|</th>", " ", fragment)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def first(pattern: str, text: str) -> str:
    """Group 1 of the first match; the match must exist."""
    m = re.search(pattern, text, flags=re.S)
    assert m is not None, pattern
    return m.group(1)


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end)]


def findings_in(fragment: str) -> Iterator[tuple[str, str]]:
    """(finding id, its block's HTML) for every finding block in the fragment, in order."""
    pattern = (
        r'<div class="finding [^"]*" data-sev="\w+" data-id="([^"]+)">(.*?)<p class="finding-id">'
    )
    for m in re.finditer(pattern, fragment, flags=re.S):
        yield m.group(1), m.group(2)


def new_badged(fragment: str) -> list[str]:
    return [
        fid for fid, block in findings_in(fragment) if '<span class="new-badge">NEW</span>' in block
    ]


# --- HTML ---------------------------------------------------------------------------------------


def test_html_summary_states_the_change_since_the_baseline(one_each: Run) -> None:
    block = section(one_each.html, '<section id="baseline"', '<h2 id="top">')
    assert text_of(block) == (
        "Change since baseline "
        f"Compared with the baseline report {one_each.baseline}, scanned 2026-11-18 12:00:00 UTC. "
        "1 new · 4 unchanged · 3 resolved "
        "New findings by severity: 0 critical · 0 high · 0 medium · 1 low · 0 info"
    )
    # the same numbers as report.json
    assert one_each.data["baseline"]["new"] == 1
    assert one_each.data["baseline"]["resolved"] == 3


def test_html_marks_exactly_the_new_findings(one_each: Run) -> None:
    html = one_each.html
    findings = section(html, '<section id="findings"', '<section id="resolved"')
    # worst first (the risk order): the medium EGR001 and MTLS001, then the low GW005 (its
    # listener reachable from the internet) and GW002
    assert [fid for fid, _ in findings_in(findings)] == [EGR001, MTLS001, GW005, GW002]
    assert new_badged(findings) == [GW002]
    # GW001 is waived (unchanged): in the appendix, without the badge
    waived = section(html, 'id="waived"', 'id="waiver-audit"')
    assert [fid for fid, _ in findings_in(waived)] == [GW001]
    assert new_badged(waived) == []
    # top weaknesses: only GW002's row says how many of its findings are new
    top = section(html, '<table class="data top-weaknesses">', '<section id="front"')
    rows = re.findall(r"<tr data-check=.*?</tr>", top, flags=re.S)
    marked = [text_of(r) for r in rows if "new-badge" in r]
    assert len(marked) == 1
    assert marked[0].startswith(
        "4 low GW002 Gateway server port is not exposed by the gateway's Service 1 NEW "
    )
    assert len(rows) == 4


def test_html_lists_the_resolved_findings(one_each: Run) -> None:
    resolved = section(one_each.html, '<section id="resolved"', '<section id="appendices"')
    assert re.findall(r'<tr data-id="([^"]+)">', resolved) == [EGR003, VS001, VS002]
    rows = [text_of(r) for r in re.findall(r"<tr data-id=.*?</tr>", resolved, flags=re.S)]
    assert rows == [
        "low EGR003 VirtualService routes to a host no Service or ServiceEntry registers "
        f"VirtualService shop/legacy spec.http[0].route[0].destination.host {EGR003}",
        "low VS001 VirtualService references a Gateway that does not exist "
        f"VirtualService shop/legacy spec.gateways[0] {VS001}",
        "low VS002 VirtualService host is not served by its Gateway "
        f"VirtualService shop/legacy spec.gateways[0] {VS002}",
    ]
    assert text_of(first(r"(<h2[^>]*>.*?</h2>)", resolved)) == "Resolved since baseline 3 findings"


def test_html_waiver_audit_rows_and_statuses(one_each: Run) -> None:
    html = one_each.html
    audit = section(html, 'id="waiver-audit"', 'id="inventory"')
    rows = re.findall(
        r'<tr class="waiver-row waiver-(\w+)" data-index="(\d+)">(.*?)</tr>', audit, flags=re.S
    )
    assert [(int(i), status, text_of(row)) for status, i, row in rows] == [
        (
            0,
            "matched",
            "waivers[0] GW001 on Gateway/shop/ghost-* matched "
            "<b>ghost</b> gateway & co kept for the migration owner shop-team · ticket SEC-101 "
            f"2026-12-31 {GW001}",
        ),
        (
            1,
            "unused",
            "waivers[1] VS001 on any resource unused nothing of this kind is left never none",
        ),
        (
            2,
            "expired",
            "waivers[2] EGR001 on ConfigMap/istio-system/* expired not applied "
            f"egress lock-down scheduled owner platform-team 2026-11-24 {EGR001}",
        ),
    ]
    assert text_of(first(r'<p class="waiver-audit-counts">(.*?)</p>', audit)) == (
        "3 waiver entries: 1 matched · 1 unused · 1 expired. An expired waiver waives nothing: "
        "the findings it still matches are listed with the others and count in the score."
    )
    # the operator's markup is text, never markup
    assert "&lt;b&gt;ghost&lt;/b&gt; gateway &amp; co" in audit
    assert "<b>ghost</b>" not in html


def test_html_flags_the_finding_of_an_expired_waiver_and_counts_it(one_each: Run) -> None:
    html = one_each.html
    findings = dict(findings_in(section(html, '<section id="findings"', '<section id="resolved"')))
    notes = {
        fid: text_of(m.group(1))
        for fid, block in findings.items()
        if (m := re.search(r'<p class="waiver waiver-expired">(.*?)</p>', block, flags=re.S))
    }
    assert notes == {
        EGR001: "Waiver expired. waivers[2] expired on 2026-11-24: this finding is not waived and "
        "counts in the score. Its reason was: egress lock-down scheduled · owner platform-team"
    }
    waived = dict(findings_in(section(html, 'id="waived"', 'id="waiver-audit"')))
    assert text_of(first(r'<p class="waiver">(.*?)</p>', waived[GW001])) == (
        "Waived by waivers[0]. <b>ghost</b> gateway & co kept for the migration · owner shop-team "
        "· expires 2026-12-31 · ticket SEC-101"
    )
    # weaknesses EGR001 4, MTLS001 4 * 0.9, GW002 1 * 0.81, GW005 1 * 0.729 (GW001 waived) = 9.1;
    # exposure: shop.example.com:80 in plaintext to the internet 10. R = 19.1: 100 * e^-0.191 = 82.6
    assert '<div class="scorecard-score"><strong>83</strong> / 100</div>' in html
    assert '<span class="sev-inline sev-medium">2&nbsp;medium</span>' in html


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_shows_the_same_change_resolved_list_and_audit(one_each: Run) -> None:
    text = one_each.pdf_text
    flat = squash(text)
    assert (
        squash(
            f"Change since baseline Compared with the baseline report {one_each.baseline}, "
            "scanned 2026-11-18 12:00:00 UTC. 1 new · 4 unchanged · 3 resolved "
            "New findings by severity: 0 critical · 0 high · 0 medium · 1 low · 0 info "
            "Top weaknesses"
        )
        in flat
    )
    # NEW: once in the top weaknesses (GW002's row), once on the GW002 finding, nowhere else
    assert re.findall(r"\bNEW\b", text) == ["NEW", "NEW"]
    assert "gateway's Service 1 NEW" in text.replace("\n", " ")
    assert "LOW NEW Gateway shop/shop-gateway spec.servers[1].port.number" in text
    resolved = flat[flat.index(squash("Resolved since baseline 3 findings")) :]
    positions = [resolved.index(fid) for fid in (EGR003, VS001, VS002)]
    assert positions == sorted(positions)
    assert (
        squash(
            "3 waiver entries: 1 matched · 1 unused · 1 expired. An expired waiver waives nothing"
        )
        in flat
    )
    for row in (
        f"waivers[0] GW001 on Gateway/shop/ghost-* matched <b>ghost</b> gateway & co kept for the "
        f"migration owner shop-team · ticket SEC-101 2026-12-31 {GW001}",
        "waivers[1] VS001 on any resource unused nothing of this kind is left never none",
        "waivers[2] EGR001 on ConfigMap/istio-system/* expired not applied egress lock-down "
        f"scheduled owner platform-team 2026-11-24 {EGR001}",
    ):
        assert squash(row) in flat, row
    expired_note = "Waiver expired. waivers[2] expired on 2026-11-24: this finding is not waived"
    assert squash(f"{expired_note} and counts in the score.") in flat
    assert squash("B 83 / 100") in flat


# --- a waived new finding, caps, absent keys ------------------------------------------------------


def test_waived_new_finding_keeps_its_badge_in_the_appendix(tmp_path: Path) -> None:
    # the fixture waivers waive GW001 and (by id) GW002, the only new finding
    run = run_after(tmp_path, WAIVERS)
    html = run.html
    block = section(html, '<section id="baseline"', '<h2 id="top">')
    assert text_of(block).endswith(
        "1 new · 4 unchanged · 3 resolved New findings by severity (1 new waived, not counted): "
        "0 critical · 0 high · 0 medium · 0 low · 0 info"
    )
    findings = section(html, '<section id="findings"', '<section id="resolved"')
    assert new_badged(findings) == []
    waived = section(html, 'id="waived"', 'id="waiver-audit"')
    assert [fid for fid, _ in findings_in(waived)] == [GW001, GW002]
    assert new_badged(waived) == [GW002]
    statuses = re.findall(r'<tr class="waiver-row waiver-(\w+)" data-index="(\d+)">', html)
    assert statuses == [("matched", "0"), ("matched", "1"), ("expired", "2"), ("unused", "3")]
    assert re.findall(r"\bNEW\b", run.pdf_text) == ["NEW"]


def test_pdf_caps_the_resolved_list_html_keeps_all(one_each: Run) -> None:
    data = copy.deepcopy(one_each.data)
    old = data["resolved"][1]
    data["resolved"] += [
        {**old, "id": f"VS001-{i:016x}", "resource": {**old["resource"], "name": f"vs-{i}"}}
        for i in range(160)
    ]
    pdf = render_html(data, medium="pdf")
    resolved = section(pdf, '<section id="resolved"', '<section id="appendices"')
    ids = re.findall(r'<tr data-id="([^"]+)">', resolved)
    assert len(ids) == 150
    assert ids[:3] == [EGR003, VS001, VS002] and ids[-1] == f"VS001-{146:016x}"
    assert text_of(first(r'<p class="more">(.*?)</p>', resolved)) == (
        "… and 13 more in report.json/HTML."
    )
    full = section(render_html(data), '<section id="resolved"', '<section id="appendices"')
    assert len(re.findall(r'<tr data-id="', full)) == 163
    assert '<p class="more">' not in full


def test_tenant_text_in_the_baseline_parts_is_escaped(one_each: Run) -> None:
    data = copy.deepcopy(one_each.data)
    data["baseline"]["source"] = "<script>alert(1)</script>.json"
    data["resolved"][0]["resource"]["name"] = "legacy<img src=x onerror=alert(2)>"
    data["resolved"][0]["title"] = "<i>t</i>"
    data["waiver_audit"][1]["reason"] = "</td></tr></table><script>alert(3)</script>"
    data["waiver_audit"][1]["findings"] = ['"><svg onload=alert(4)>']
    html = render_html(data)
    before_own_script = html[: html.rindex("<script>")]  # the report's script is its last element
    for raw in ("<script>", "<img src=x", "<i>t</i>", "<svg onload"):
        assert raw not in before_own_script, raw
    assert "&lt;script&gt;alert(1)&lt;/<wbr>script&gt;.<wbr>json" in html
    assert "legacy&lt;img src=x onerror=alert(2)&gt;" in html.replace("<wbr>", "")
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;svg onload=alert(4)&gt;" in html.replace("<wbr>", "")


def test_without_baseline_or_waivers_nothing_of_them_shows(one_each: Run) -> None:
    data = copy.deepcopy(one_each.data)
    for key in ("baseline", "resolved", "waiver_audit"):
        del data[key]
    for f in data["findings"]:
        del f["baseline_status"], f["waiver"]
    html = render_html(data)
    for marker in ('id="baseline"', 'id="resolved"', 'id="waived"', "new-badge", "waiver-audit"):
        assert marker not in html, marker
    assert ".new-badge" not in html  # the extra stylesheet is left out too
    # waivers without a baseline: the audit, no change block
    data = copy.deepcopy(one_each.data)
    del data["baseline"], data["resolved"]
    for f in data["findings"]:
        del f["baseline_status"]
    html = render_html(data)
    assert 'id="baseline"' not in html and 'id="resolved"' not in html
    assert len(re.findall(r'<tr class="waiver-row ', html)) == 3
    assert "new-badge" not in html.split("</style>")[-1]

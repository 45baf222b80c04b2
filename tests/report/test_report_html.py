"""The HTML report: sections, golden output, escaping of tenant text, waivers, egress, scale."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from auditor.input.files import load_paths
from auditor.input.snapshot import CollectionStatus, Snapshot
from auditor.report import diagram, diagram_exposure
from auditor.report import html as html_report
from auditor.report.command import redact_argv
from auditor.report.html import render_html
from auditor.report.model import Report
from auditor.report.score import score
from auditor.run.scan import scan
from tests.report_support import (
    CASES,
    COMMAND,
    EGRESS_SAMPLE,
    FIXED_CLOCK,
    ROOT,
    at_root,
    parse_html,
    scan_case,
    with_changes,
)

GOLDEN = ROOT / "tests" / "golden" / "small-mesh.html"

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "div", "span", "section", "nav", "ol",
    "li", "h1", "h2", "h3", "h4", "p", "a", "table", "colgroup", "col", "thead", "tbody", "tr",
    "th", "td", "br", "wbr", "small", "strong", "code", "pre", "figure", "figcaption",
    "article", "label", "input", "footer", "script", "svg", "g", "rect", "text", "path",
    "details", "summary",
}  # fmt: skip

# Official documentation the checks cite; every other link target would be injected.
DOC_ORIGINS = (
    "https://istio.io/",
    "https://gateway-api.sigs.k8s.io/",
    "https://kubernetes.io/",
    "https://kiali.io/",
    "https://github.com/istio/istio/",
    "https://github.com/tetratelabs/istio-security-analyzer",
)

HOSTILE = [
    "gw</table><script>alert(1)</script>",
    "orphan</text></svg><script>alert(8)</script>",
    "vs</td></tr></table><iframe src=http://attacker.invalid/>",
    'app=x"><img src=x onerror=alert(2)>',
    '"><svg onload=alert(3)>.example.com',
    "'quoted'<i>.example.com",
    "<a href='javascript:alert(7)'>lb</a>.example.com",
    "back</tspan>end&amp;.evil.svc.cluster.local",
    'lb"><img src=x onerror=alert(6)>',
    "<b>srv</b>",
]


def h_texts(html: str, level: int) -> list[str]:
    found = re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", h).split()) for h in found]


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    return with_changes(scan_case("small-mesh", COMMAND), egress=EGRESS_SAMPLE)


def test_sections_in_the_order_the_issue_lists(small: dict[str, Any]) -> None:
    """Executive first (verdict, top weaknesses, what was not audited), then the findings, then
    the inventories as appendices; the attestation last (issue 27 item 3)."""
    html = render_html(small)
    assert h_texts(html, 1) == [
        "Mesh security audit",
        "Contents",
        "Findings",
        "Appendix: exposure (entry points)",
        "Appendix: egress",
        "Appendix: mutual TLS by workload",
        "Appendix: access (who may call what)",
        "Appendix: coverage, score, inventory and checks",
        "Attestation",  # always last: what an auditor cites (issue 19)
    ]
    assert h_texts(html, 2) == [
        "Top weaknesses",
        "What was not audited",
        "high 2 findings",
        "medium 2 findings",
        "low 4 findings",
        "Entry points with a weakness",
        "External hosts with a weakness",
        "Coverage",
        "How the score is computed",
        "Inventory by kind",
        "Checks and what they look at",
    ]


def test_summary_states_score_grade_formula_and_counts(small: dict[str, Any]) -> None:
    html = render_html(small)
    text = " ".join("".join(parse_html(html).text).split())
    # Weaknesses (each its own group here), heaviest first, each next times 0.9: TLS001 high 10,
    # TLS003 high 10 * 0.9, EGR001 and MTLS001 medium 4 * 0.81 and 4 * 0.729, GW001, GW002,
    # VS001, VS002 low 1 * 0.9^4.. = 28.7; exposure: shop.example.com:80 plaintext to the internet
    # 10, :443 over TLS 1 * 0.8 = 10.8 (port 9090 is not on the LoadBalancer Service: not
    # reachable). R = 38.2: 100 * e^(-0.382) = 68.2.
    assert "37 / 100" not in text and "68 / 100" in text
    assert '<div class="scorecard-grade">D</div>' in html
    # the one-line reason for the grade, from the weaknesses and the largest risk points
    assert (
        "Grade D (68/100): 2 high and 2 medium weaknesses; most risk from entry points the "
        "internet reaches (11 risk points), TLS001 (10), TLS003 (9)."
    ) in text
    assert (
        "8 findings (8 distinct weaknesses): 0 critical · 2 high · 2 medium · 4 low · 0 info"
        in (text.replace("\xa0", " "))
    )
    # the formula and the risk points per check: in the score appendix, not the summary
    score_part = html[html.index('<section id="score">') :]
    assert "critical 25, high 10, medium 4, low 1, info 0" in score_part
    points = re.findall(
        r"<tr><td><strong>(\w+)</strong>[^<]*</td><td class=\"num\">(\d+)</td>", score_part
    )
    assert points == [
        ("EXPOSURE", "11"), ("TLS001", "10"), ("TLS003", "9"), ("EGR001", "3"), ("MTLS001", "3"),
        ("GW001", "1"), ("GW002", "1"), ("VS001", "1"),
    ]  # fmt: skip
    assert html.index('<section id="score">') > html.index('id="findings"')
    top = re.findall(r'<tr data-check="(\w+)"', html)
    assert top == ["TLS001", "TLS003", "EGR001", "MTLS001", "GW001", "GW002", "VS001", "VS002"]


def test_cover_shows_the_command_with_secrets_redacted(small: dict[str, Any]) -> None:
    html = render_html(small)
    assert "--token=***" in html
    assert "abc123" not in html


def test_golden_html_with_fixed_clock(small: dict[str, Any], update_golden: bool) -> None:
    html = render_html(small)
    if update_golden:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(html, encoding="utf-8")
    assert GOLDEN.exists(), "run pytest --update-golden to create the golden file"
    assert html == GOLDEN.read_text(encoding="utf-8"), "HTML changed: review, then --update-golden"


def test_written_file_is_the_golden_page(small: dict[str, Any], tmp_path: Path) -> None:
    """report.html is written as the template yields it (never one string in memory): the file
    is byte for byte the page render_html returns."""
    path = html_report.write(Report(small), tmp_path)
    assert path.read_bytes() == GOLDEN.read_bytes()


@pytest.mark.parametrize("medium", ["html", "pdf"])
def test_hostile_strings_are_escaped_everywhere(medium: str) -> None:
    data = with_changes(scan_case("hostile"))
    hostile_egress = copy.deepcopy(EGRESS_SAMPLE)
    hostile_egress[1]["host"] = "</text><script>alert(9)</script>.example"
    hostile_egress[1]["registered_by"][0]["namespace"] = "ns\"'><svg>"
    data["egress"] = hostile_egress
    data["source"]["context"] = "ctx</title><script>alert(10)</script>"
    data["command"] = ["mesh-audit", "--context", "ctx</code><script>alert(11)</script>"]
    html = render_html(data, medium=medium)
    doc = parse_html(html)
    tags = {tag for tag, _ in doc.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for tag, attrs in doc.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "a":
            href = attrs["href"] or ""
            assert href.startswith(("#", *DOC_ORIGINS)), href
    shipped = resources.files("report_templates").joinpath("report.js").read_text("utf-8")
    assert doc.scripts == ([shipped] if medium == "html" else [])
    text = "".join(doc.text)
    for s in [
        *HOSTILE,
        "</text><script>alert(9)</script>.example",
        "Istio mesh audit: ctx</title><script>alert(10)</script>",
        "mesh-audit --context ctx</code><script>alert(11)</script>",
    ]:
        assert s in text, s
    # Every SVG is well-formed XML whose text is the tenant strings, not markup.
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2
    svg_text = "".join("".join(ET.fromstring(svg).itertext()) for svg in svgs)
    assert "gw</table><script>alert(1)</script>" in svg_text
    # Annotations are not report content; nothing of theirs may appear as markup either.
    assert "alert('annotation')" not in text


def test_svg_labels_and_titles_escape_quotes_and_tags() -> None:
    entry = {
        "host": "\"'<x>&",
        "port": 80,
        "protocol": "HTTP",
        "tls": False,
        "tls_mode": "NONE",
        "gateway": {"kind": "Gateway", "namespace": 'a"b', "name": "</svg>"},
        "listener": "servers[0]",
        "external": True,
        "addresses": ["<script>"],
        "routes": [],
        "backends": ["&lt;b&gt;"],
        "redirect_only": False,
    }
    (svg,) = diagram_exposure.exposure_svgs([entry], None)
    root = ET.fromstring(str(svg))
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert {"\"'<x>&:80", 'a"b/</svg>', "<script>", "&lt;b&gt;"} <= texts
    assert "\"'<x>&:80 (HTTP · plaintext)" in titles


def test_map_labels_wrap_whole_at_dots_and_hyphens() -> None:
    """A label is never cut: it wraps in its box at dots, slashes and hyphens; only a label
    longer than four lines ends in an ellipsis, its whole text kept in the <title>."""
    assert diagram.wrap("settlement-db.bank-partner.example.net:5432", 200) == [
        "settlement-db.bank-",
        "partner.example.net:5432",
    ]
    lines = diagram.wrap("x" * 500, 200)
    assert len(lines) == diagram.MAX_LABEL_LINES and lines[-1].endswith("…")
    assert "".join(diagram.wrap("a" * 40, 200)) == "a" * 40  # a long run splits, nothing lost


def test_exposure_map_caps_listeners_and_says_so() -> None:
    base = {
        "port": 443,
        "protocol": "HTTPS",
        "tls": True,
        "tls_mode": "SIMPLE",
        "gateway": {"kind": "Gateway", "namespace": "gw", "name": "public"},
        "listener": "servers[0]",
        "external": True,
        "addresses": ["203.0.113.1"],
        "routes": [],
        "backends": [],
    }
    entries = [{**base, "host": f"h{i:03}.example.com"} for i in range(45)]
    (svg,) = diagram_exposure.exposure_svgs(entries, None)
    # label and title of each listener drawn: the first MAX_LISTENERS in the order given
    assert str(svg).count("h0") == 2 * diagram_exposure.MAX_LISTENERS
    assert "h039.example.com:443" in str(svg) and "h040.example.com" not in str(svg)
    assert diagram_exposure.exposure_note(45) == (
        "The map draws the 40 riskiest of 45 listeners (risk order: severity, then "
        "reachability); the table lists every listener that carries a weakness."
    )


def test_print_maps_are_sheets_that_each_fit_the_page() -> None:
    """In print a map that does not fit one page is a series of sheets, each within the page
    (no map drawn over the footer); every listener is on exactly one sheet."""
    base = {
        "port": 443,
        "protocol": "HTTPS",
        "tls": True,
        "tls_mode": "SIMPLE",
        "listener": "servers[0]",
        "external": True,
        "addresses": ["203.0.113.1"],
        "routes": [{"kind": "VirtualService", "namespace": "ns", "name": "vs"}],
        "backends": [f"b{j}.ns.svc.cluster.local:80" for j in range(6)],
    }
    entries = [
        {
            **base,
            "host": f"h{i:03}.example.com",
            "gateway": {"kind": "Gateway", "namespace": "gw", "name": f"g{i}"},
        }
        for i in range(30)
    ]
    page = diagram.Page(width=740, height=370)
    svgs = diagram_exposure.exposure_svgs(entries, page)
    assert len(svgs) > 1
    drawn = []
    for svg in svgs:
        root = ET.fromstring(str(svg))
        width, height = (float(v) for v in root.get("viewBox", "").split()[2:])
        assert height * min(diagram.PX, page.width / width) <= page.height
        drawn += re.findall(r"(h\d{3})\.example\.com:443</text>", str(svg))
    assert drawn == [f"h{i:03}" for i in range(30)]


def test_egress_map_and_table(small: dict[str, Any]) -> None:
    html = render_html(small)
    rows = re.findall(r'<tr class="(bypass)?"><td class="host">(.*?)</td>', html)
    # db.partner.example leaves directly (a weakness, first); api.stripe.com only through the
    # egress gateway (the batch job that is not in the mesh is blocked): the rest, collapsed
    assert [(c, h.replace("<wbr>", "")) for c, h in rows] == [
        ("bypass", "db.partner.example"),
        ("", "api.stripe.com"),
    ]
    egress = html[html.index('id="egress"') :]
    assert egress.index("db.partner") < egress.index("<details") < egress.index("api.<wbr>stripe")
    assert "1 more host without a weakness: 1 only through an egress gateway" in egress
    assert (
        "2 external hosts registered or reached; 1 with a way out that no NetworkPolicy stops."
        in html
    )
    svg = re.findall(r"<svg\b.*?</svg>", egress, flags=re.S)[0]
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    nodes = {
        g.findtext(f"{ns}title"): g.get("class") for g in root.iter(f"{ns}g") if g.get("class")
    }
    assert nodes == {
        "Workloads with a proxy (traffic captured)": "node source",
        "payments: Deployment payments/<b>batch</b>": "node source",
        "reports: Deployment reports/exporter": "node source",
        "Egress gateway istio-egress/egress (sidecars send it here)": "node tls",
        "Outside the mesh (no proxy)": "node neutral",
        "Proxy sends it direct (not routed through an egress gateway)": "node neutral",
        "api.stripe.com:443 (only through the egress gateway)": "node tls",
        "db.partner.example:5432 (a way out no NetworkPolicy stops)": "node bypass",
    }
    # the gateway path is green; the batch job's way out is blocked (dotted), not a bypass
    edges = {p.get("stroke"): p.get("stroke-dasharray") for p in root.iter(f"{ns}path")}
    assert edges == {"#2e7d4f": None, "#7d7d7d": "2 3", "#d35400": "5 3"}
    table = egress[egress.index("<table") : egress.index("</table>")]
    assert "5432 proxy sends it direct: reports/<wbr>exporter (no egress NetworkPolicy)" in table


def test_empty_egress_list_says_so(small: dict[str, Any]) -> None:
    html = render_html({**small, "egress": []})
    assert "No external hosts are registered" in html
    assert len(re.findall(r"<svg\b", html)) == 1


def test_waived_findings_have_their_appendix_and_leave_the_score(small: dict[str, Any]) -> None:
    assert "Waived findings" not in h_texts(render_html(small), 2)
    data = copy.deepcopy(small)
    for f in data["findings"]:
        f["waiver"] = None
    assert "No finding is waived." in render_html(data)
    egr = next(f for f in data["findings"] if f["check"] == "EGR001")
    egr["waiver"] = {"reason": "accepted until the egress gateway lands", "expires": "2025-06-30"}
    html = render_html(data)
    assert "Waived findings" in h_texts(html, 2)
    waived = html[html.index('id="waived"') : html.index('id="inventory"')]
    assert "EGR001-" in waived and "accepted until the egress gateway lands" in waived
    # EGR001's weakness is waived: R = 38.2 - 2.7 (its decayed share and the shift of the rest)
    # = 35.6: 100 * e^(-0.356) = 70.1
    assert '<div class="scorecard-score"><strong>70</strong> / 100</div>' in html
    findings = html[html.index('id="findings"') : html.index('id="appendices"')]
    assert "EGR001" not in findings


def test_pdf_medium_shows_the_first_n_per_check_html_keeps_all(small: dict[str, Any]) -> None:
    data = copy.deepcopy(small)
    gw001 = next(f for f in data["findings"] if f["check"] == "GW001")
    data["findings"] += [
        {**gw001, "id": f"GW001-{i:016x}", "resource": {**gw001["resource"], "name": f"gw-{i}"}}
        for i in range(24)
    ]
    html = render_html(data)
    pdf_html = render_html(data, medium="pdf")
    findings = html[html.index('id="findings"') :]
    assert findings.count('data-id="GW001-') == 25
    assert "more in report.json/HTML" not in html
    assert pdf_html[pdf_html.index('id="findings"') :].count('data-id="GW001-') == 20
    assert "… and 5 more in report.json/HTML." in pdf_html


def test_score_decays_per_weakness_and_ignores_waived() -> None:
    findings = [{"check": "TLS001", "severity": "high"}] * 7 + [
        {"check": "GW001", "severity": "low"},
        {"check": "EGR001", "severity": "critical", "waiver": {"reason": "x"}},
    ]
    result = score(findings)
    # seven high weaknesses: 10 * (1 + 0.9 + ... + 0.9^6) = 52.2, the low one 0.9^7 = 0.48
    assert result.deductions == (("TLS001", 52),)
    assert (result.value, result.grade, result.weaknesses) == (59, "F", 8)
    # fifteen criticals: 25 * (1 - 0.9^15) / 0.1 = 198.5: 100 * e^(-1.985) = 13.7
    assert score([{"check": "X001", "severity": "critical"}] * 15).value == 14
    assert score([]).value == 100


def test_redact_argv() -> None:
    argv = [
        "mesh-audit",
        "--token",
        "s3cret",
        "--password=hunter2",
        "--client-key",
        "/k.pem",
        "--server",
        "https://admin:pw@10.0.0.1:6443/?access_token=xyz&x=1",
        "--from",
        "a.yaml",
    ]
    assert redact_argv(argv) == [
        "mesh-audit",
        "--token",
        "***",
        "--password=***",
        "--client-key",
        "***",
        "--server",
        "https://***@10.0.0.1:6443/?access_token=***&x=1",
        "--from",
        "a.yaml",
    ]


def test_template_files_are_package_data() -> None:
    names = {p.name for p in resources.files("report_templates").iterdir()}
    assert {"report.html.j2", "macros.html.j2", "report.css", "print.css", "report.js"} <= names
    pyproject = (ROOT / "pyproject.toml").read_text()
    for ext in ("*.j2", "*.css", "*.js"):
        assert f'"{ext}"' in pyproject


def test_render_reads_no_clock(small: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    first = render_html(small)
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    assert render_html(small) == first


def test_backticks_become_code_and_stay_escaped() -> None:
    from auditor.report.html import ticks

    assert str(ticks("set `a<b>` or `c`")) == "set <code>a&lt;b&gt;</code> or <code>c</code>"
    assert str(ticks("odd ` <i>")) == "odd ` &lt;i&gt;"


def test_pdf_medium_caps_the_exposure_table_html_keeps_all(small: dict[str, Any]) -> None:
    entry = small["exposure"][0]
    data = {**small, "exposure": [{**entry, "host": f"h{i}.example.com"} for i in range(160)]}
    pdf_html = render_html(data, medium="pdf")
    html = render_html(data)
    row = '<tr><td class="host">h'
    assert (html.count(row), pdf_html.count(row)) == (160, 150)
    assert "… and 10 more listeners with a weakness in report.json (exposure[])." in pdf_html
    assert "160 host/port listeners on gateways" in pdf_html
    assert "more listeners with a weakness" not in html


def test_content_security_policy_allows_only_the_shipped_script(small: dict[str, Any]) -> None:
    import base64
    import hashlib

    html = render_html(small)
    (script,) = parse_html(html).scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    assert csp.group(1) == (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'"
    )


GATEWAY_CHECKS = [
    "AUTHZ001", "AUTHZ006", "AUTHZ016", "BYP001", "BYP002", "BYP003", "BYP011", "EGR010",
    "GW001", "GW002", "GW003", "GW004", "GW005", "ISO001", "ISO002",
    "TLS001", "TLS002", "TLS003", "TLS004", "TLS005", "TLS006", "TLS007", "TLS008", "TLS012",
    "VS001", "VS002", "VS004",
]  # fmt: skip


def test_coverage_names_unread_kinds_and_the_checks_they_weaken() -> None:
    """A scan of the small mesh where Gateways were forbidden, as a live collection records it."""
    gateway = "networking.istio.io/Gateway"
    with at_root():
        full = load_paths([f"{CASES}/small-mesh.yaml"])
    snap = Snapshot(full.source)
    for obj in full.all_objects():
        if obj.kind != "Gateway" or obj.group != "networking.istio.io":
            snap.add(obj.raw, origin="small-mesh.yaml", document=None)
    snap.collection[gateway] = CollectionStatus(
        status="forbidden", message="gateways.networking.istio.io is forbidden"
    )
    html = render_html(dict(scan(snap, generated_at=FIXED_CLOCK).data)).replace("<wbr>", "")
    # the executive summary names the first eight checks not audited and points to the rest
    front = html[html.index('id="not-audited"') : html.index('id="findings"')]
    assert re.findall(r"<strong>(\w+)</strong>", front) == GATEWAY_CHECKS[:8]
    assert f"… and {len(GATEWAY_CHECKS) - 8} more checks in the" in front
    html = html[html.index('<section id="coverage">') :]  # the appendix lists them all
    kinds = html[html.index('class="data coverage-kinds"') :]
    kinds = kinds[: kinds.index("</table>")]
    assert re.findall(
        r"<tr><td[^>]*>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", kinds
    ) == [
        (
            gateway,
            "forbidden",
            "gateways.networking.istio.io is forbidden",
            ", ".join(GATEWAY_CHECKS),
        )
    ]
    checks = html[html.index('class="data coverage-checks"') :]
    checks = checks[: checks.index("</table>")]
    assert re.findall(r"<strong>(\w+)</strong>.*?</td><td>(\w+)</td>", checks) == [
        (c, "skipped") for c in GATEWAY_CHECKS
    ]  # registry order happens to be alphabetical here


def test_egress_ways_share_a_line_per_way_and_verdict(small: dict[str, Any]) -> None:
    """A host's other ways out: one line per port, way and NetworkPolicy verdict, naming its
    workloads (the old table said each reason twice, once per group and once as a bypass)."""
    from auditor.report.view_traffic import egress_rows

    egress = copy.deepcopy(EGRESS_SAMPLE)
    port = egress[1]["ports"][0]
    port["direct"] = [
        {**port["direct"][0], "namespace": ns, "workloads": [f"Deployment {ns}-app"]}
        for ns in ("a", "b", "c")
    ] + [
        {
            "namespace": "legacy",
            "why": "outside the mesh (namespace not labelled for injection)",
            "verdict": "no-policy",
            "policies": [],
            "only": [],
            "workloads": ["Deployment billing"],
            "count": 3,
        }
    ]
    (row,) = egress_rows(egress[1:])
    assert row["ways"] == [
        "5432 proxy sends it direct: a/a-app, b/b-app, c/c-app (no egress NetworkPolicy)",
        "5432 outside the mesh: legacy/billing, 2 more in legacy (no egress NetworkPolicy)",
    ]


def test_coverage_lists_kinds_read_only_in_part(small: dict[str, Any]) -> None:
    data = copy.deepcopy(small)
    data["collection"]["Pod"] = {
        "status": "ok",
        "message": "forbidden in namespaces: payments",
        "count": 2,
        "version": "v1",
    }
    html = render_html(data).replace("<wbr>", "")
    kinds = html[html.index('class="data coverage-kinds"') :]
    kinds = kinds[: kinds.index("</table>")]
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", kinds)
    assert [r[:3] for r in rows] == [("Pod", "partial", "forbidden in namespaces: payments")]
    assert "GW001" in rows[0][3].split(", ")


def test_exposure_table_shows_backends_by_route_match() -> None:
    from tests.helpers import DEMO, scan_paths

    html = render_html(dict(scan_paths(DEMO).data))
    # the listeners with a weakness, then the rest (collapsed)
    text = html[html.index('id="exposure"') : html.index('id="egress"')].replace("<wbr>", "")
    # E9: the plaintext /debug rule on the partner gateway, next to the https redirect
    assert "path PathPrefix /debug → partner-backend.partner-api.svc.cluster.local:8080" in text
    assert "redirect to https" in text
    assert "path PathPrefix /payments → payments-api.payments.svc.cluster.local:8080" in text


def _registered_by_many(n: int) -> list[dict[str, Any]]:
    """EGRESS_SAMPLE's direct host registered by a ServiceEntry in each of `n` namespaces."""
    egress = copy.deepcopy(EGRESS_SAMPLE)
    egress[1]["registered_by"] = [
        {"kind": "ServiceEntry", "namespace": f"team-{i:02d}", "name": "db"} for i in range(n)
    ]
    return egress


def _direct_from_many(n: int) -> list[dict[str, Any]]:
    """EGRESS_SAMPLE's direct host reached by a group of workloads in each of `n` namespaces."""
    egress = copy.deepcopy(EGRESS_SAMPLE)
    port = egress[1]["ports"][0]
    port["direct"] = [
        {**port["direct"][0], "namespace": f"team-{i:02d}", "count": 2} for i in range(n)
    ]
    return egress


def test_egress_map_draws_the_first_namespaces_and_one_box_for_the_rest() -> None:
    from auditor.report import diagram_egress

    (svg,) = diagram_egress.egress_svgs(_direct_from_many(12), None)
    root = ET.fromstring(str(svg))
    ns = "{http://www.w3.org/2000/svg}"
    sources = [
        " ".join(t.text or "" for t in g.iter(f"{ns}text"))
        for g in root.iter(f"{ns}g")
        if g.get("class") == "node source"
    ]
    # the first host's blocked batch job (payments) comes first: 7 teams fit, 5 share a box
    assert sorted(sources) == sorted(
        [
            "Workloads with a proxy traffic captured",
            "payments: 1 workload",
            *(f"team-{i:02d}: 2 workloads" for i in range(diagram_egress.MAX_GROUPS - 1)),
            "5 more namespaces: 10 workloads",
        ]
    )


def test_egress_map_draws_every_namespace_up_to_the_cap() -> None:
    from auditor.report import diagram_egress

    (svg,) = diagram_egress.egress_svgs(_direct_from_many(diagram_egress.MAX_GROUPS - 1), None)
    assert "more namespaces" not in str(svg)
    assert str(svg).count(": 2 workloads</text>") == diagram_egress.MAX_GROUPS - 1


def test_pdf_egress_cells_list_eight_lines_and_count_the_rest(small: dict[str, Any]) -> None:
    from auditor.report import view, view_inventories

    data = {**small, "egress": _registered_by_many(12)}
    pdf_rows = view.build(data, medium="pdf")["egress_rows"]
    html_rows = view.build(data, medium="html")["egress_rows"]
    assert pdf_rows[0]["registered_by"] == [
        *(f"ServiceEntry team-{i:02d}/db" for i in range(view_inventories.PDF_CELL_LINES)),
        "… and 4 more in report.json/HTML",
    ]
    assert html_rows[0]["registered_by"] == [f"ServiceEntry team-{i:02d}/db" for i in range(12)]


def test_pdf_break_hints_only_in_long_text() -> None:
    from auditor.report.html import PDF_WBR_MIN_CHARS, breakable, breakable_pdf

    short = "payments/stripe"
    long = "cluster.local/ns/payments/sa/" + "x" * PDF_WBR_MIN_CHARS
    assert str(breakable_pdf(short)) == short
    assert str(breakable_pdf(long)) == str(breakable(long))
    assert str(breakable_pdf("<b>a.b</b>")) == "&lt;b&gt;a.b&lt;/b&gt;"
    assert str(breakable(short)) == "payments/<wbr>stripe"
    assert str(breakable_pdf("sidecar.istio.io/status")) == "sidecar.<wbr>istio.<wbr>io/<wbr>status"

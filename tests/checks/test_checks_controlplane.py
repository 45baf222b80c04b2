"""Control-plane port lockdown (CP): exact findings per case, and the flag/env semantics."""

from __future__ import annotations

import pytest

from auditor.istio import istiod
from tests.case_helpers import Finding, findings, report_for

CASES: dict[str, set[Finding]] = {
    "controlplane/istiod-chart-defaults.yaml": {
        ("CP001", "Deployment", "istio-system", "istiod", "medium"),
        ("CP002", "Deployment", "istio-system", "istiod", "high"),
    },
    "controlplane/istiod-locked-down.yaml": set(),
    "controlplane/istiod-revisions.yaml": {
        ("CP001", "Deployment", "istio-system", "istiod-1-26", "info"),
        ("CP002", "Deployment", "istio-system", "istiod-1-26", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_control_plane_findings(case: str) -> None:
    assert findings(case, ("CP",)) == CASES[case]


def test_plaintext_xds_names_the_publishing_service_and_the_field() -> None:
    data = report_for("controlplane/istiod-chart-defaults.yaml")
    by_check = {f["check"]: f for f in data["findings"] if f["check"].startswith("CP")}
    assert by_check["CP002"]["evidence"] == {"address": ":15010", "services": ["istiod:15010"]}
    assert by_check["CP002"]["path"] == "spec.template.spec.containers[0].args"
    assert by_check["CP001"]["path"] == "spec.template.spec.containers[0].env"


@pytest.mark.parametrize(
    ("args", "serving", "address"),
    [
        ([], True, ":15010"),
        (["discovery", '--grpcAddr=""'], False, ""),
        (["discovery", "--grpcAddr="], False, ""),
        (["discovery", "--grpcAddr", "127.0.0.1:15010"], False, "127.0.0.1:15010"),
        (["discovery", "-grpcAddr=:15011"], True, ":15011"),
        (["--grpcAddr=", "--grpcAddr=:15010"], True, ":15010"),  # the last one wins
        (["--grpcAddrX=", "--secureGRPCAddr="], True, ":15010"),  # other flags
    ],
)
def test_grpc_addr_as_pflag_reads_it(args: list[str], serving: bool, address: str) -> None:
    got = istiod.plaintext_xds({"name": "discovery", "args": args})
    assert (got.serving, got.address) == (serving, address)


@pytest.mark.parametrize(
    ("env", "serving", "how"),
    [
        ([], True, "default"),
        ([{"name": "ENABLE_DEBUG_ON_HTTP", "value": "false"}], False, "set"),
        ([{"name": "ENABLE_DEBUG_ON_HTTP", "value": "F"}], False, "set"),
        ([{"name": "ENABLE_DEBUG_ON_HTTP", "value": "no"}], True, "set"),  # not ParseBool: default
        ([{"name": "ENABLE_DEBUG_ON_HTTP", "value": "true"}], True, "set"),
        (
            [
                {"name": "ENABLE_DEBUG_ON_HTTP", "value": "false"},
                {"name": "ENABLE_DEBUG_ON_HTTP", "value": "true"},
            ],
            True,
            "set",
        ),
        ([{"name": "ENABLE_DEBUG_ON_HTTP", "valueFrom": {"configMapKeyRef": {}}}], True, "unknown"),
    ],
)
def test_debug_on_http_follows_parse_bool(env: list[dict], serving: bool, how: str) -> None:
    got = istiod.debug_on_http({"name": "discovery", "env": env})
    assert (got.serving, got.how) == (serving, how)


def test_debug_interface_bound_to_loopback_is_closed() -> None:
    got = istiod.debug_on_http({"args": ["--httpAddr=127.0.0.1:8080"]})
    assert not got.serving

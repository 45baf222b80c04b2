"""Kubernetes Services as ways out: ExternalName (as the Istio version in force treats it) and
selector-less Services with EndpointSlices. Exact findings and map entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.input.files import load_paths
from auditor.istio import k8s_external as KX
from auditor.run.scan import scan
from tests.case_helpers import CASES, GENERATED_AT, Finding, findings, report_for

CASE = "egress/kubernetes-services.yaml"

EXPECTED: set[Finding] = {
    # the task runs on Istio's default ALLOW_ANY
    ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
    # my-wikipedia's endpoints are internet addresses, sent straight from the sidecar
    ("BYP001", "Service", "default", "my-wikipedia", "medium"),
    # plain HTTP to httpbin.org (the task says so: "unencrypted HTTP requests are sent")
    ("TLS012", "Service", "default", "my-httpbin", "medium"),
    # no egress gateway in the task's mesh: one finding for the mesh
    ("BYP004", "Namespace", "", "istio-system", "medium"),
    # the task keeps the source pod outside on purpose; nothing routes to it and the mesh
    # enforces no egress it could go around
    ("BYP009", "Namespace", "", "without-istio", "low"),
    # no MTLS003: the task's DestinationRules (tls DISABLE) are for services that lead out
}


def test_exact_findings() -> None:
    assert findings(CASE, ("BYP", "EGR", "TLS", "MTLS")) == EXPECTED


def _entries(data: dict) -> dict[str, dict]:
    return {e["host"]: e for e in data["egress"]}


def test_map_entries_for_external_name_alias_and_selectorless_service() -> None:
    entries = _entries(report_for(CASE))
    httpbin = entries["httpbin.org"]
    assert (httpbin["registration"], httpbin["destination_class"]) == ("external-name", "public")
    assert [r["name"] for r in httpbin["registered_by"]] == ["my-httpbin"]
    (port,) = httpbin["ports"]
    assert [(g["namespace"], g["why"], g["verdict"]) for g in port["direct"]] == [
        ("default", "unregistered host passed through by its sidecar (ALLOW_ANY)", "no-policy"),
        ("without-istio", "outside the mesh (namespace not labelled for injection)", "no-policy"),
    ]
    wiki = entries["my-wikipedia.default.svc.cluster.local"]
    assert (wiki["registration"], wiki["destination_class"], wiki["addresses"]) == (
        "service-endpoints",
        "public",
        ["91.198.174.192", "198.35.26.96"],
    )
    assert [(r["kind"], r["name"]) for r in wiki["registered_by"]] == [
        ("EndpointSlice", "my-wikipedia-x7k2p"),
        ("Service", "my-wikipedia"),
    ]
    assert [(p["number"], p["path"], p["tls_origination"]) for p in wiki["ports"]] == [
        (443, "direct", "application")
    ]


def test_before_istio_1_21_an_external_name_is_a_registered_service(tmp_path: Path) -> None:
    """Istio 1.19: ExternalName is its own MESH_EXTERNAL service, so the sidecar sends it
    straight out as a registered host (BYP001), not only because of ALLOW_ANY."""
    text = (CASES / CASE).read_text().replace("pilot:1.24.0", "pilot:1.19.3")
    path = tmp_path / "old.yaml"
    path.write_text(text)
    data = dict(scan(load_paths([str(path)]), generated_at=GENERATED_AT).data)
    byp = {
        (f["resource"]["name"], f["severity"]) for f in data["findings"] if f["check"] == "BYP001"
    }
    assert byp == {("my-httpbin", "medium"), ("my-wikipedia", "medium")}
    httpbin = _entries(data)["httpbin.org"]
    assert httpbin["notes"] == [
        "ExternalName Service default/my-httpbin is a registered external service "
        "(Istio 1.19: ExternalName is a service of its own)"
    ]


@pytest.mark.parametrize(
    ("version", "flag", "mode"),
    [
        ("1.24.2", None, "alias"),
        ("1.24.2", "false", "alias"),  # the flag is gone in 1.24 (istio/istio PR 52317)
        ("1.22.1", None, "alias"),
        ("1.22.1", "false", "service"),
        ("1.20.3", None, "service"),  # 1.20 had the flag, off by default
        ("1.20.3", "true", "alias"),
        ("1.19.3", None, "service"),
        ("1.19.3, 1.24.2", None, "service"),  # the oldest revision still serves the old way
        (None, None, "alias"),
    ],
)
def test_external_name_mode_by_version(version: str | None, flag: str | None, mode: str) -> None:
    assert KX.external_name_mode(version, flag).mode == mode


@pytest.mark.parametrize(
    ("port", "protocol"),
    [
        ({"port": 80, "name": "http"}, "HTTP"),
        ({"port": 80, "name": "http-web"}, "HTTP"),
        ({"port": 443, "name": "tls"}, "TLS"),
        ({"port": 443, "name": "https-port"}, "HTTPS"),
        ({"port": 5432, "name": "db"}, "TCP"),
        ({"port": 8080, "name": "x", "appProtocol": "http"}, "HTTP"),
        ({"port": 53, "name": "dns", "protocol": "UDP"}, "UDP"),
    ],
)
def test_service_port_protocol(port: dict, protocol: str) -> None:
    assert KX.port_protocol(port) == protocol

"""Egress destinations that are not egress (issue 29, item 5): a loopback endpoint is the calling
pod itself, a route to a host nothing registers black-holes, and a selector-less Service backed
by legacy Endpoints is a way out. Each case is a fixture modelled on a public source (its header
names it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.case_helpers import Finding, findings, report_for


def _egress(case: str) -> dict[str, dict[str, Any]]:
    return {e["host"]: e for e in report_for(case)["egress"]}


def _ports(entry: dict[str, Any]) -> list[tuple[int, str, list[str]]]:
    return [(p["number"], p["path"], [g["why"] for g in p["direct"]]) for p in entry["ports"]]


def test_loopback_endpoint_is_the_pod_itself() -> None:
    entry = _egress("egress/opa-ext-authz-loopback.yaml")["opa-ext-authz-grpc.local"]
    assert entry["destination_class"] == "loopback"
    assert entry["addresses"] == ["127.0.0.1"]
    assert _ports(entry) == [(9191, "in-pod", [])]
    assert entry["ports"][0]["notes"] == ["127.0.0.1 is the calling pod itself: not egress"]
    assert entry["bypass"] == []


SENDS = "sent straight out by its sidecar (the mesh has no egress gateway)"


def test_route_to_a_missing_gateway_service_black_holes() -> None:
    egress = _egress("egress/route-black-hole.yaml")
    cnn = egress["edition.cnn.com"]
    assert _ports(cnn) == [(80, "black-hole", []), (443, "direct", [SENDS])]
    assert cnn["ports"][0]["notes"] == [
        "VirtualService default/direct-cnn-through-egress-gateway routes it to "
        "istio-egressgateway.istio-system.svc.cluster.local, which no Service or ServiceEntry "
        "registers: the proxy answers 503"
    ]
    assert cnn["bypass"] == [
        "port 443 no egress gateway in the mesh",
        f"port 443: {SENDS}: Deployment default/curl (no egress NetworkPolicy)",
    ]
    httpbin = egress["httpbin.org"]
    assert (httpbin["registration"], httpbin["ports"]) == ("unregistered", [])
    assert httpbin["notes"] == [
        "VirtualService default/httpbin-ext routes to it, and no Service or ServiceEntry "
        "registers it: the proxy answers 503"
    ]


def test_legacy_endpoints_are_a_way_out() -> None:
    wiki = _egress("egress/kubernetes-services-endpoints.yaml")[
        "my-wikipedia.default.svc.cluster.local"
    ]
    assert (wiki["registration"], wiki["destination_class"]) == ("service-endpoints", "public")
    assert wiki["addresses"] == ["91.198.174.192", "198.35.26.96"]
    assert [(r["kind"], r["name"]) for r in wiki["registered_by"]] == [
        ("Endpoints", "my-wikipedia"),
        ("Service", "my-wikipedia"),
    ]
    assert _ports(wiki) == [
        (443, "direct", [SENDS, "outside the mesh (namespace not labelled for injection)"])
    ]


CASES: dict[str, set[Finding]] = {
    # nothing about opa-ext-authz-grpc.local: it never leaves the pod (the quick start's mesh
    # config leaves Istio's default ALLOW_ANY, which is true and another matter)
    "egress/opa-ext-authz-loopback.yaml": {
        ("EGR001", "ConfigMap", "istio-system", "istio", "medium")
    },
    # port 80 black-holes: neither "leaves without an egress gateway" nor "clear text to the
    # internet"; port 443 does leave directly
    "egress/route-black-hole.yaml": {
        ("BYP001", "ServiceEntry", "default", "cnn", "medium"),
        ("EGR003", "VirtualService", "default", "direct-cnn-through-egress-gateway", "low"),
        ("EGR003", "VirtualService", "default", "httpbin-ext", "medium"),
        ("EGR004", "DestinationRule", "default", "egressgateway-for-cnn", "low"),
    },
    # the same findings as with the EndpointSlice (egress/kubernetes-services.yaml)
    "egress/kubernetes-services-endpoints.yaml": {
        ("BYP001", "Service", "default", "my-wikipedia", "medium"),
        ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
        ("TLS012", "Service", "default", "my-httpbin", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_egress_findings(case: str) -> None:
    assert findings(case, ("BYP001", "EGR", "TLS012")) == CASES[case]


def test_endpoints_and_slice_agree() -> None:
    legacy = _egress("egress/kubernetes-services-endpoints.yaml")
    sliced = _egress("egress/kubernetes-services.yaml")
    key = "my-wikipedia.default.svc.cluster.local"
    assert _ports(legacy[key]) == _ports(sliced[key])
    assert legacy[key]["bypass"] == sliced[key]["bypass"]

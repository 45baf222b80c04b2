"""Per-route gateway binding in the exposure map (#29 item 3): a route's `match.gateways`,
source conditions and `authority` decide which hosts a gateway really serves."""

from __future__ import annotations

from typing import Any

from tests.case_helpers import findings, report_for

VS = "networking.istio.io/v1"


def _served(case: str) -> set[tuple[str, str, int, str, tuple[str, ...], tuple[str, ...]]]:
    """(gateway, host, port, reachability, backends, rule matches) of every exposure entry."""
    report: dict[str, Any] = report_for(case)
    return {
        (
            e["gateway"]["name"],
            e["host"],
            e["port"],
            e["reachability"],
            tuple(e["backends"]),
            tuple(r["match"] for r in e["rules"]),
        )
        for e in report["exposure"]
    }


HELLO = ("hello-00001.default.svc.cluster.local:80",)


def test_knative_cluster_local_names_are_not_internet_exposed() -> None:
    """net-istio's VirtualService lists the public and cluster-local names for both gateways;
    only the public name has a route on the external gateway."""
    local = ("authority prefix hello.default",)
    assert _served("ingress/knative-route-gateways.yaml") == {
        (
            "knative-ingress-gateway",
            "hello.default.example.com",
            80,
            "internet",
            HELLO,
            ("authority prefix hello.default.example.com",),
        ),
        # an authority prefix `hello.default` also takes hello.default.example.com (Envoy's
        # prefix match), on the ClusterIP-only local gateway
        ("knative-local-gateway", "hello.default", 8081, "cluster", HELLO, local),
        ("knative-local-gateway", "hello.default.example.com", 8081, "cluster", HELLO, local),
        ("knative-local-gateway", "hello.default.svc", 8081, "cluster", HELLO, local),
        ("knative-local-gateway", "hello.default.svc.cluster.local", 8081, "cluster", HELLO, local),
    }


def test_knative_plaintext_finding_names_the_public_host_only() -> None:
    report = report_for("ingress/knative-route-gateways.yaml")
    [tls001] = [f for f in report["findings"] if f["check"] == "TLS001"]
    assert tls001["evidence"]["hosts"] == ["hello.default.example.com"]
    assert ("TLS001", "Gateway", "knative-serving", "knative-ingress-gateway", "high") in findings(
        "ingress/knative-route-gateways.yaml", ("TLS",)
    )


def test_routes_for_mesh_or_other_sources_are_not_served_by_the_gateway() -> None:
    """ratings routes only for `mesh`, details only for app=productpage clients: the gateway
    serves neither. reviews' gateway route names the gateway in the legacy FQDN form."""
    reviews = ("reviews.shop.svc.cluster.local:9080",)
    assert _served("ingress/mesh-only-routes.yaml") == {
        ("public", "bookinfo.example.com", 80, "internet", reviews, ("uri prefix /reviews",)),
        (
            "public",
            "reviews.shop.svc.cluster.local",
            80,
            "internet",
            reviews,
            ("uri prefix /reviews",),
        ),
    }
    report = report_for("ingress/mesh-only-routes.yaml")
    [tls001] = [f for f in report["findings"] if f["check"] == "TLS001"]
    assert tls001["evidence"]["hosts"] == [
        "bookinfo.example.com",
        "reviews.shop.svc.cluster.local",
    ]
    assert tls001["evidence"]["backends"] == list(reviews)

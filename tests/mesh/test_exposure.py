"""The exposure map: exact entries for Istio Gateways and Gateway API Gateways."""

from __future__ import annotations

from typing import Any

from auditor.report.terminal import render
from tests.helpers import CASES, DEMO, scan_paths


def _exposure(path: Any) -> list[dict[str, Any]]:
    """The exposure entries by place (external first, host, port, gateway): these tests name
    what the map holds; report.json lists them worst first (tests/report/test_risk.py)."""

    def place(e: dict[str, Any]) -> tuple[Any, ...]:
        gw = e["gateway"]
        return (not e["external"], e["host"], e["port"], gw["kind"], gw["namespace"], gw["name"])

    return sorted(scan_paths(path).data["exposure"], key=place)


def _route(api: str, kind: str, ns: str, name: str) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "namespace": ns, "name": name}


def _rule(
    kind: str, ns: str, name: str, match: str, backends: list[str], redirect: bool = False
) -> dict[str, Any]:
    return {
        "route": {"kind": kind, "namespace": ns, "name": name},
        "match": match,
        "backends": backends,
        "redirect": redirect,
    }


def _svc(ns: str, name: str, typ: str, port: int, target: int, node: int | None) -> dict[str, Any]:
    return {
        "namespace": ns,
        "name": name,
        "type": typ,
        "port": port,
        "target_port": target,
        "node_port": node,
    }


GAPI = "gateway.networking.k8s.io/v1"


def test_istio_gateway_entry_resolves_the_whole_path() -> None:
    assert _exposure(CASES / "ingress" / "wildcard-plaintext.yaml") == [
        {
            "host": "*",
            "port": 80,
            "protocol": "HTTP",
            "tls": False,
            "tls_mode": "NONE",
            "gateway": {"kind": "Gateway", "namespace": "marketing", "name": "wildcard-gateway"},
            "listener": "servers[0]",
            "external": True,
            "addresses": ["203.0.113.10", "node:30080", "node:30443"],
            "routes": [
                _route("networking.istio.io/v1", "VirtualService", "marketing", "marketing-site")
            ],
            "backends": ["marketing-web.marketing.svc.cluster.local:80"],
            "redirect_only": False,
            "service_ports": [
                _svc("istio-ingress", "istio-ingressgateway", "LoadBalancer", 80, 8080, 30080)
            ],
            "notes": [],
            "rules": [
                _rule(
                    "VirtualService",
                    "marketing",
                    "marketing-site",
                    "any request",
                    ["marketing-web.marketing.svc.cluster.local:80"],
                )
            ],
            "entry": "istio-gateway",
            "reachability": "internet",
            "reach_reason": "public load balancer",
            "source_ranges": [],
            "via_istio_gateway": True,
            "workloads": ["istio-ingress/istio-ingressgateway"],
        }
    ]


def test_cluster_ip_gateway_is_listed_as_internal() -> None:
    [entry] = _exposure(CASES / "ingress" / "internal-gateway.yaml")
    assert (entry["host"], entry["external"], entry["addresses"]) == ("*", False, [])
    assert entry["service_ports"] == [
        _svc("istio-ingress", "internal-gateway", "ClusterIP", 80, 8080, None)
    ]
    assert entry["backends"] == ["wiki.tools.svc.cluster.local"]


def test_gateway_api_listeners_routes_and_granted_backends() -> None:
    entries = _exposure(CASES / "ingress" / "gateway-api-good.yaml")
    common = {
        "host": "partners.example.com",
        "gateway": {"kind": "Gateway", "namespace": "partners", "name": "partner-gw"},
        "external": True,
        "addresses": ["203.0.113.20", "node:31080", "node:31443"],
        "notes": [],
        "entry": "gateway-api",
        "reachability": "internet",
        "reach_reason": "public load balancer",
        "source_ranges": [],
        "via_istio_gateway": True,
        "workloads": [],
    }
    assert entries == [
        {
            **common,
            "port": 80,
            "protocol": "HTTP",
            "tls": False,
            "tls_mode": "REDIRECT",
            "listener": "listeners[1] (http)",
            "routes": [_route(GAPI, "HTTPRoute", "partners", "redirect")],
            "backends": [],
            "redirect_only": True,
            "service_ports": [_svc("partners", "partner-gw-istio", "LoadBalancer", 80, 80, 31080)],
            "rules": [_rule("HTTPRoute", "partners", "redirect", "any request", [], True)],
        },
        {
            **common,
            "port": 443,
            "protocol": "HTTPS",
            "tls": True,
            "tls_mode": "Terminate",
            "listener": "listeners[0] (https)",
            "routes": [_route(GAPI, "HTTPRoute", "partners", "api")],
            # the cross-namespace backend is there because a ReferenceGrant permits it
            "backends": [
                "invoices.billing.svc.cluster.local:80",
                "partner-backend.partners.svc.cluster.local:80",
            ],
            "redirect_only": False,
            "service_ports": [
                _svc("partners", "partner-gw-istio", "LoadBalancer", 443, 443, 31443)
            ],
            # each rule with its own match: /invoices goes to the granted billing backend
            "rules": [
                _rule(
                    "HTTPRoute",
                    "partners",
                    "api",
                    "path PathPrefix /api",
                    ["partner-backend.partners.svc.cluster.local:80"],
                ),
                _rule(
                    "HTTPRoute",
                    "partners",
                    "api",
                    "path PathPrefix /invoices",
                    ["invoices.billing.svc.cluster.local:80"],
                ),
            ],
        },
    ]


def test_ungranted_backend_and_unattached_routes_are_not_exposed() -> None:
    entries = _exposure(CASES / "ingress" / "gateway-api-bad.yaml")
    summary = sorted(
        (e["listener"], e["host"], tuple(r["name"] for r in e["routes"]), tuple(e["backends"]))
        for e in entries
    )
    assert summary == [
        ("listeners[0] (http)", "*", (), ()),  # other-gw: class `other`, not Istio's
        ("listeners[0] (http)", "*", ("plain",), ("web.edge.svc.cluster.local:80",)),
        ("listeners[1] (bare)", "bare.example.com", (), ()),
        ("listeners[2] (shared)", "shared.example.com", ("cross-namespace",), ()),
    ]


def test_demo_mesh_exposure_map() -> None:
    entries = _exposure(DEMO)
    summary = [
        (
            e["gateway"]["namespace"],
            e["gateway"]["name"],
            e["host"],
            e["port"],
            e["tls_mode"],
            e["external"],
            tuple(e["backends"]),
        )
        for e in entries
    ]
    pay = "payments-api.payments.svc.cluster.local"
    assert summary == [
        ("marketing", "wildcard-gateway", "*", 80, "NONE", True,
         ("marketing-web.marketing.svc.cluster.local:80",)),
        # X1 and X2: application Services reachable around the gateway
        ("legacy", "legacy-billing-nodeport", "*", 8080, "NONE", True,
         ("legacy-billing-nodeport.legacy.svc.cluster.local:8080",)),
        ("payments", "payments-api-backoffice", "10.240.0.44", 443, "APPLICATION", True,
         ("payments-api-backoffice.payments.svc.cluster.local:443",)),
        ("istio-ingress", "payments-gateway", "checkout.example.com", 80, "REDIRECT", True, ()),
        ("istio-ingress", "payments-gateway", "checkout.example.com", 443, "SIMPLE", True,
         (f"{pay}:8080",)),
        ("partner-api", "partner-gw", "partners.example.com", 80, "NONE", True,
         ("partner-backend.partner-api.svc.cluster.local:8080",)),
        ("partner-api", "partner-gw", "partners.example.com", 443, "Terminate", True,
         ("partner-backend.partner-api.svc.cluster.local:8080", f"{pay}:8080")),
        ("istio-ingress", "payments-gateway", "pay.example.com", 80, "REDIRECT", True, ()),
        ("istio-ingress", "payments-gateway", "pay.example.com", 443, "SIMPLE", True,
         (f"{pay}:8080",)),
        ("istio-ingress", "shop-gateway", "shop.example.com", 80, "REDIRECT", True, ()),
        ("istio-ingress", "shop-gateway", "shop.example.com", 443, "SIMPLE", True,
         ("frontend.shop.svc.cluster.local:80",)),
        ("istio-egress", "egress-gateway", "api.stripe.com", 443, "PASSTHROUGH", False,
         ("api.stripe.com:443",)),
        # E6: the ingress gateway's LoadBalancer Service does not carry port 9443 (GW002), so
        # this listener is not reachable from outside
        ("istio-ingress", "payments-gateway", "pay-admin.example.com", 9443, "PASSTHROUGH", False,
         (f"{pay}:8443",)),
        ("marketing", "promo-gateway", "promo.example.com", 80, "REDIRECT", False, ()),
    ]  # fmt: skip


def test_terminal_summary_lists_external_and_internal_entries() -> None:
    text = render(scan_paths(CASES / "ingress" / "internal-gateway.yaml").data)
    assert (
        "Entry points, worst first: 1 host/port entry, 0 reachable from outside the cluster"
    ) in text
    assert (
        "  -       *:80 HTTP [PLAINTEXT] (cluster only) via Gateway istio-ingress/internal -> "
        "wiki.tools.svc.cluster.local"
    ) in text

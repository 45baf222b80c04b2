"""Istio semantics, table-tested against Istio's documented behaviour.

Sources: istio.io reference pages for Gateway (`hosts` forms), VirtualService (`hosts` short
names, `gateways` references), Sidecar/ServiceEntry `exportTo`, and Istio's pkg/config/host
(`Name.Matches`) and model (`ResolveShortnameToFQDN`, `resolveGatewayName`).
"""

from __future__ import annotations

import pytest

from auditor.istio import gatewayapi as GA
from auditor.istio import hosts as H
from auditor.istio import meshconfig
from auditor.istio.refs import (
    GatewayRef,
    is_internal_gateway_reference,
    resolve_gateway_name,
    virtual_service_gateways,
    visible_in,
)
from auditor.istio.selectors import LabelIndex, SelectorIndex, selector_matches


@pytest.mark.parametrize(
    ("host", "namespace", "expected"),
    [
        ("reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
        ("Reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
        # a name with a dot is taken as written (Istio does not complete `reviews.bookinfo`)
        ("reviews.bookinfo", "default", "reviews.bookinfo"),
        ("reviews.bookinfo.svc.cluster.local", "x", "reviews.bookinfo.svc.cluster.local"),
        ("api.stripe.com.", "x", "api.stripe.com"),
        ("*", "x", "*"),
        ("*.example.com", "x", "*.example.com"),
        ("10.1.2.3", "x", "10.1.2.3"),
        ("::1", "x", "::1"),
        ("2001:DB8::1", "x", "2001:db8::1"),
        # the peer harness keeps objects without a namespace in namespace ""
        ("reviews", "", "reviews.svc.cluster.local"),
    ],
)
def test_fqdn(host: str, namespace: str, expected: str) -> None:
    assert H.fqdn(host, namespace) == expected


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("*", "anything.example.com", True),
        ("*", "*", True),
        ("*", "*.example.com", True),
        ("*.example.com", "shop.example.com", True),
        ("*.example.com", "a.b.example.com", True),  # several labels, as Name.Matches
        ("*.example.com", "example.com", False),
        ("*.example.com", "shop.example.org", False),
        ("*.example.com", "*.a.example.com", True),
        ("*.a.example.com", "*.example.com", False),
        ("*.example.com", "*", False),
        ("shop.example.com", "shop.example.com", True),
        ("shop.example.com", "*.example.com", False),
        ("shop.example.com", "api.example.com", False),
    ],
)
def test_matches(pattern: str, host: str, expected: bool) -> None:
    assert H.matches(pattern, host) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected", "narrow"),
    [
        ("*.example.com", "shop.example.com", True, "shop.example.com"),
        ("shop.example.com", "*.example.com", True, "shop.example.com"),
        ("*", "shop.example.com", True, "shop.example.com"),
        ("*.example.com", "*.shop.example.com", True, "*.shop.example.com"),
        ("shop.example.com", "api.example.com", False, None),
    ],
)
def test_intersects_and_more_specific(a: str, b: str, expected: bool, narrow: str | None) -> None:
    assert H.intersects(a, b) is expected
    assert H.intersects(b, a) is expected
    if narrow:
        assert H.more_specific(a, b) == narrow


@pytest.mark.parametrize(
    ("value", "gateway_ns", "namespace", "host"),
    [
        ("shop.example.com", "istio-ingress", "*", "shop.example.com"),
        ("*/shop.example.com", "istio-ingress", "*", "shop.example.com"),
        ("./shop.example.com", "istio-ingress", "istio-ingress", "shop.example.com"),
        ("shop/shop.example.com", "istio-ingress", "shop", "shop.example.com"),
        ("shop/*", "istio-ingress", "shop", "*"),
        ("*/*", "istio-ingress", "*", "*"),
        ("Shop.Example.com", "istio-ingress", "*", "shop.example.com"),
    ],
)
def test_gateway_host_forms(value: str, gateway_ns: str, namespace: str, host: str) -> None:
    parsed = H.parse_gateway_host(value, gateway_ns)
    assert (parsed.namespace, parsed.host) == (namespace, host)


def test_gateway_host_namespace_binding() -> None:
    only_shop = H.parse_gateway_host("shop/shop.example.com", "istio-ingress")
    assert only_shop.allows_namespace("shop")
    assert not only_shop.allows_namespace("marketing")
    anyone = H.parse_gateway_host("*/shop.example.com", "istio-ingress")
    assert anyone.allows_namespace("marketing")
    nobody = H.parse_gateway_host("~/shop.example.com", "istio-ingress")
    assert not nobody.allows_namespace("shop")


@pytest.mark.parametrize(
    ("value", "namespace", "expected"),
    [
        ("mesh", "shop", None),
        ("shop-gateway", "shop", GatewayRef("shop", "shop-gateway")),
        ("istio-ingress/shop-gateway", "shop", GatewayRef("istio-ingress", "shop-gateway")),
        ("./shop-gateway", "shop", GatewayRef("shop", "shop-gateway")),
        # legacy FQDN forms: name.namespace[.svc.cluster.local]
        ("shop-gateway.istio-ingress", "shop", GatewayRef("istio-ingress", "shop-gateway")),
        (
            "shop-gateway.istio-ingress.svc.cluster.local",
            "shop",
            GatewayRef("istio-ingress", "shop-gateway"),
        ),
    ],
)
def test_resolve_gateway_name(value: str, namespace: str, expected: GatewayRef | None) -> None:
    assert resolve_gateway_name(value, namespace) == expected


def test_virtual_service_gateways_default_is_mesh_only() -> None:
    assert virtual_service_gateways(None, "shop") == (True, ())
    assert virtual_service_gateways([], "shop") == (True, ())
    assert virtual_service_gateways(["gw"], "shop") == (False, (GatewayRef("shop", "gw"),))
    assert virtual_service_gateways(["mesh", "a/gw"], "shop") == (True, (GatewayRef("a", "gw"),))


@pytest.mark.parametrize(
    ("export_to", "owner", "viewer", "expected"),
    [
        (None, "shop", "payments", True),  # default: exported to every namespace
        (["*"], "shop", "payments", True),
        (["."], "shop", "shop", True),
        (["."], "shop", "payments", False),
        (["payments"], "shop", "payments", True),
        (["payments"], "shop", "shop", False),
        (["~"], "shop", "shop", False),
    ],
)
def test_export_to(export_to: list[str] | None, owner: str, viewer: str, expected: bool) -> None:
    assert visible_in(export_to, owner, viewer) is expected


def test_export_to_mesh_default_applies_when_unset() -> None:
    assert visible_in(None, "shop", "payments", default=(".",)) is False
    assert visible_in(None, "shop", "shop", default=(".",)) is True


def test_host_set_lookup_matches_pairwise_semantics() -> None:
    patterns = ["*", "*.example.com", "*.shop.example.com", "api.example.com", "example.com"]
    hosts = [
        "api.example.com",
        "a.shop.example.com",
        "example.com",
        "other.org",
        "*.shop.example.com",
        "*.example.com",
        "*",
    ]
    index = H.HostSet()
    for p in patterns:
        index.add(p, p)
    for host in hosts:
        assert sorted(index.lookup(host)) == sorted(p for p in patterns if H.matches(p, host)), host
        assert sorted(index.overlapping(host)) == sorted(
            p for p in patterns if H.intersects(p, host)
        ), host


def test_selectors() -> None:
    assert selector_matches({"app": "a"}, {"app": "a", "v": "1"})
    assert not selector_matches({"app": "a", "v": "2"}, {"app": "a", "v": "1"})
    assert selector_matches({}, {"x": "y"})
    workloads: LabelIndex[str] = LabelIndex()
    workloads.add({"istio": "ingressgateway", "app": "gw"}, "ingress")
    workloads.add({"istio": "egressgateway"}, "egress")
    workloads.add({"app": "shop"}, "shop")
    assert workloads.select({"istio": "ingressgateway"}) == ["ingress"]
    assert workloads.select({"istio": "ingressgateway", "app": "other"}) == []
    assert sorted(workloads.select({})) == ["egress", "ingress", "shop"]
    services: SelectorIndex[str] = SelectorIndex()
    services.add({"app": "shop"}, "shop-svc")
    services.add({"app": "shop", "version": "v2"}, "shop-v2-svc")
    services.add(None, "headless-no-selector")
    assert services.matching({"app": "shop", "version": "v1"}) == ["shop-svc"]
    assert sorted(services.matching({"app": "shop", "version": "v2"})) == [
        "shop-svc",
        "shop-v2-svc",
    ]


def test_mesh_config_defaults_and_overrides() -> None:
    d = meshconfig.DEFAULT
    assert (d.outbound_mode, d.outbound_mode_set, d.root_namespace) == (
        "ALLOW_ANY",
        False,
        "istio-system",
    )
    mc = meshconfig.parse_text(
        "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nrootNamespace: mesh-root\n"
        "tlsDefaults:\n  minProtocolVersion: TLSV1_3\n"
        "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: 'true'\n",
        "test",
    )
    assert mc.outbound_mode == "REGISTRY_ONLY" and mc.outbound_mode_set
    assert mc.root_namespace == "mesh-root"
    assert mc.tls_min_version == "TLSV1_3"
    assert mc.dns_capture and not mc.dns_auto_allocate
    # a mesh config that sets nothing still means Istio's defaults
    empty = meshconfig.parse_text("", "empty")
    assert (empty.outbound_mode, empty.outbound_mode_set) == ("ALLOW_ANY", False)
    with pytest.raises(ValueError, match="must be a mapping"):
        meshconfig.parse_text("- a\n- b\n", "bad")


# ---- Gateway API (gateway-api.sigs.k8s.io v1 spec; Istio's Gateway API task page) ------------


@pytest.mark.parametrize(
    ("class_name", "controllers", "expected"),
    [
        ("istio", {}, True),  # the class Istio installs, GatewayClass not in the input
        ("istio", {"istio": "istio.io/gateway-controller"}, True),
        ("edge", {"edge": "istio.io/gateway-controller"}, True),
        ("istio", {"istio": "example.com/other"}, False),
        ("nginx", {}, False),
    ],
)
def test_is_istio_gateway(class_name: str, controllers: dict[str, str], expected: bool) -> None:
    assert GA.is_istio_gateway(class_name, controllers) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"name": "gw"}, GA.ParentRef("apps", "gw", None, None)),
        (
            {"name": "gw", "namespace": "edge", "sectionName": "https", "port": 443},
            GA.ParentRef("edge", "gw", "https", 443),
        ),
        ({"name": "svc", "kind": "Service", "group": ""}, None),  # GAMMA: a Service parent
        ({"name": "gw", "group": "example.com"}, None),
    ],
)
def test_parent_ref_defaults(raw: dict[str, object], expected: GA.ParentRef | None) -> None:
    assert GA.parent_ref(raw, "apps") == expected


LABELS = {"apps": {"kubernetes.io/metadata.name": "apps", "edge": "yes"}}
EDGE_YES = {"edge": "yes"}
EDGE_NO = {"edge": "no"}


@pytest.mark.parametrize(
    ("allowed", "route_ns", "expected"),
    [
        ({}, "edge", True),  # Same by default
        ({}, "apps", False),
        ({"namespaces": {"from": "All"}}, "apps", True),
        ({"namespaces": {"from": "Selector", "selector": {"matchLabels": EDGE_YES}}}, "apps", True),
        ({"namespaces": {"from": "Selector", "selector": {"matchLabels": EDGE_NO}}}, "apps", False),
        (
            {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["other"]}
            ]}}},
            "other",  # no Namespace object: the name label is still known
            True,
        ),
    ],
)  # fmt: skip
def test_namespace_allowed(allowed: dict[str, object], route_ns: str, expected: bool) -> None:
    listener = {"allowedRoutes": allowed}
    assert GA.namespace_allowed(listener, "edge", route_ns, LABELS) is expected


@pytest.mark.parametrize(
    ("listener", "kinds"),
    [
        ({"protocol": "HTTP"}, ("HTTPRoute", "GRPCRoute")),
        ({"protocol": "HTTPS"}, ("HTTPRoute", "GRPCRoute")),
        ({"protocol": "TLS"}, ("TLSRoute", "TCPRoute")),
        ({"protocol": "TCP"}, ("TCPRoute",)),
        ({"protocol": "HTTP", "allowedRoutes": {"kinds": [{"kind": "GRPCRoute"}]}}, ("GRPCRoute",)),
    ],
)
def test_allowed_kinds(listener: dict[str, object], kinds: tuple[str, ...]) -> None:
    assert GA.allowed_kinds(listener) == kinds


@pytest.mark.parametrize(
    ("listener_host", "route_hosts", "served"),
    [
        (None, [], ["*"]),
        ("shop.example.com", [], ["shop.example.com"]),
        (None, ["a.example.com"], ["a.example.com"]),
        ("*.example.com", ["a.example.com", "b.example.org"], ["a.example.com"]),
        ("a.example.com", ["*.example.com"], ["a.example.com"]),
        ("a.example.com", ["b.example.com"], []),
    ],
)
def test_served_hostnames(
    listener_host: str | None, route_hosts: list[str], served: list[str]
) -> None:
    assert GA.served_hostnames(listener_host, route_hosts) == served
    assert GA.hostnames_intersect(listener_host, route_hosts) is bool(served)


LISTENERS = [
    {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "a.example.com"},
    {"name": "tls", "port": 443, "protocol": "TLS", "tls": {"mode": "Passthrough"}},
]


@pytest.mark.parametrize(
    ("kind", "route_ns", "hosts", "ref", "listeners", "reason"),
    [
        ("HTTPRoute", "edge", [], GA.ParentRef("edge", "gw", None, None), (0,), ""),
        ("HTTPRoute", "edge", [], GA.ParentRef("edge", "gw", "admin", None), (),
         "no listener matches sectionName 'admin'"),
        ("HTTPRoute", "edge", [], GA.ParentRef("edge", "gw", None, 8080), (),
         "no listener matches port 8080"),
        ("HTTPRoute", "apps", [], GA.ParentRef("edge", "gw", None, None), (),
         "no listener admits routes from namespace 'apps'"),
        ("TCPRoute", "edge", [], GA.ParentRef("edge", "gw", "http", None), (),
         "no listener admits route kind TCPRoute"),
        ("TLSRoute", "edge", ["x.example.com"], GA.ParentRef("edge", "gw", None, None), (1,), ""),
        ("HTTPRoute", "edge", ["b.example.com"], GA.ParentRef("edge", "gw", None, None), (),
         "no listener hostname intersects the route's hostnames"),
    ],
)  # fmt: skip
def test_attach(
    kind: str,
    route_ns: str,
    hosts: list[str],
    ref: GA.ParentRef,
    listeners: tuple[int, ...],
    reason: str,
) -> None:
    assert GA.attach(kind, route_ns, hosts, ref, "edge", LISTENERS, {}) == GA.Attachment(
        listeners, reason
    )


GRANT = {
    "spec": {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "edge"}],
        "to": [{"group": "", "kind": "Service", "name": "invoices"}],
    }
}


@pytest.mark.parametrize(
    ("from_kind", "from_ns", "to_kind", "to_name", "expected"),
    [
        ("HTTPRoute", "edge", "Service", "invoices", True),
        ("HTTPRoute", "edge", "Service", "other", False),  # the grant names one Service
        ("GRPCRoute", "edge", "Service", "invoices", False),
        ("HTTPRoute", "apps", "Service", "invoices", False),
        ("HTTPRoute", "edge", "Secret", "invoices", False),
    ],
)
def test_reference_granted(
    from_kind: str, from_ns: str, to_kind: str, to_name: str, expected: bool
) -> None:
    assert (
        GA.reference_granted([GRANT], GA.GROUP, from_kind, from_ns, "", to_kind, to_name)
        is expected
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}]}, True),
        ({"filters": [{"type": "RequestRedirect", "requestRedirect": {"port": 8443}}]}, False),
        (
            {
                "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}],
                "backendRefs": [{"name": "web"}],
            },
            False,
        ),
        ({"backendRefs": [{"name": "web"}]}, False),
    ],
)
def test_https_redirect_rule(rule: dict[str, object], expected: bool) -> None:
    assert GA.is_https_redirect_rule(rule) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("istio-ingress/gateway~istio-autogenerated-k8s-gateway~foo", True),
        ("gateway~istio-autogenerated-k8s-gateway~foo", True),
        ("istio-ingress/gateway-istio-autogenerated-k8s-gateway-foo", True),  # older releases
        ("istio-ingress/my-gateway", False),
        ("mesh", False),
    ],
)
def test_internal_gateway_reference(value: str, expected: bool) -> None:
    assert is_internal_gateway_reference(value) is expected


def test_label_selector_expressions() -> None:
    from auditor.istio.selectors import label_selector_matches

    sel = {
        "matchLabels": {"team": "shop"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert label_selector_matches(sel, {"team": "shop", "tier": "api"})
    assert not label_selector_matches(sel, {"team": "shop", "tier": "db"})
    assert not label_selector_matches(sel, {"team": "shop", "tier": "web", "legacy": "y"})
    assert not label_selector_matches(sel, {"tier": "web"})
    assert label_selector_matches(
        {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, {}
    )
    assert label_selector_matches(
        {"matchExpressions": [{"key": "env", "operator": "Exists"}]}, {"env": "x"}
    )
    # an unknown operator is an invalid selector, which selects nothing
    assert not label_selector_matches(
        {"matchExpressions": [{"key": "env", "operator": "Like", "values": ["p"]}]}, {"env": "p"}
    )
    assert label_selector_matches(None, {"x": "y"})


def test_route_match_descriptions() -> None:
    from auditor.istio import matches as M

    assert M.istio_http_match({"uri": {"prefix": "/api"}, "method": {"exact": "GET"}}) == (
        "uri prefix /api, method exact GET"
    )
    assert M.istio_http_match({"headers": {"x-user": {"regex": "adm.*"}}, "port": 80}) == (
        "header x-user regex adm.*, port 80"
    )
    assert M.istio_http_match({"sniHosts": ["api.example.com"]}) == "SNI api.example.com"
    assert M.istio_http_match({}) == "any request"
    # matches are OR-ed; one that takes every request makes the rule take every request
    assert M.either(["uri prefix /a", "uri prefix /b"]) == "uri prefix /a OR uri prefix /b"
    assert M.either(["uri prefix /a", "any request"]) == "any request"
    assert M.either([]) == "any request"
    assert M.httproute_match({"path": {"type": "Exact", "value": "/debug"}, "method": "POST"}) == (
        "path Exact /debug, method POST"
    )
    # a match without a path is PathPrefix /, which matches everything
    assert M.httproute_match({}) == "any request"
    assert M.httproute_match({"headers": [{"name": "env", "value": "canary"}]}) == (
        "header env Exact canary"
    )

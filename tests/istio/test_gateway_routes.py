"""auditor/istio/gateway_routes.py against istiod's route building (istio/istio@86c9f01f
route.go BuildHTTPRoutesForVirtualService/sourceMatchHTTP, gateway.go l4SingleMatch)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.istio import gateway_routes as G

GW = "istio-ingress/public"
PROXY = (G.Proxy(namespace="istio-ingress", labels={"istio": "ingressgateway"}),)


@pytest.mark.parametrize(
    ("match", "applies"),
    [
        ({}, True),
        ({"gateways": ["mesh"]}, False),
        ({"gateways": ["public"]}, False),  # a short name is the VirtualService's namespace
        ({"gateways": ["istio-ingress/public"]}, True),
        ({"gateways": ["public.istio-ingress.svc.cluster.local"]}, True),
        ({"gateways": ["public.istio-ingress"]}, True),
        ({"gateways": ["mesh", "istio-ingress/public"]}, True),
        ({"port": 80}, True),
        ({"port": 443}, False),
        ({"sourceLabels": {"istio": "ingressgateway"}}, True),
        ({"sourceLabels": {"app": "productpage"}}, False),
        ({"sourceNamespace": "istio-ingress"}, True),
        ({"sourceNamespace": "shop"}, False),
        # `gateways` decides alone: sourceLabels are not looked at then (sourceMatchHTTP)
        ({"gateways": ["istio-ingress/public"], "sourceLabels": {"app": "x"}}, True),
    ],
)
def test_http_match_applies(match: dict[str, Any], applies: bool) -> None:
    assert G.http_match_applies(match, GW, "shop", 80, PROXY) is applies


def test_the_vs_namespace_resolves_short_and_dot_names() -> None:
    assert G.http_match_applies({"gateways": ["public"]}, GW, "istio-ingress", 80, PROXY)
    assert G.http_match_applies({"gateways": ["./public"]}, GW, "istio-ingress", 80, PROXY)


def _indexes(spec: dict[str, Any], section: str = "http", port: int = 80) -> list[int]:
    return [r.index for r in G.routes_on_gateway(spec, "shop", GW, section, port, PROXY)]


def test_a_catch_all_ends_the_routes() -> None:
    spec = {
        "http": [
            {"match": [{"gateways": ["mesh"]}], "route": [{}]},
            {"match": [{"uri": {"prefix": "/api"}}], "route": [{}]},
            {"match": [{"uri": {"prefix": "/"}}], "route": [{}]},
            {"route": [{}]},
        ]
    }
    assert _indexes(spec) == [1, 2]
    assert _indexes({"http": [{"route": [{}]}, {"route": [{}]}]}) == [0]


def test_tls_and_tcp_routes() -> None:
    tls = {
        "tls": [
            {"match": [{"sniHosts": ["a.example.com"], "gateways": ["mesh"]}], "route": [{}]},
            {"match": [{"sniHosts": ["b.example.com"], "port": 443}], "route": [{}]},
            {"match": [{"sniHosts": ["c.example.com"]}]},  # no route: nothing to serve
        ]
    }
    [applied] = G.routes_on_gateway(tls, "shop", GW, "tls", 443, PROXY)
    assert applied.index == 1
    assert G.served_hosts(applied, "*.example.com") == {"b.example.com"}
    assert G.served_hosts(applied, "a.example.com") == set()
    tcp = {
        "tcp": [
            {"match": [{"port": 9000}], "route": [{}]},
            {"match": [{"gateways": ["istio-ingress/public"]}], "route": [{}]},
            {"route": [{}]},
        ]
    }
    assert _indexes(tcp, "tcp", 31400) == [1]  # the first applying tcp route is used


@pytest.mark.parametrize(
    ("authority", "host", "served"),
    [
        (None, "a.example.com", {"a.example.com"}),
        ({"exact": "a.example.com"}, "a.example.com", {"a.example.com"}),
        ({"exact": "a.example.com"}, "b.example.com", set()),
        ({"exact": "a.example.com:8080"}, "a.example.com", {"a.example.com"}),
        ({"exact": "a.example.com"}, "*.example.com", {"a.example.com"}),
        ({"exact": "a.other.org"}, "*.example.com", set()),
        (
            {"prefix": "hello.default"},
            "hello.default.svc.cluster.local",
            {"hello.default.svc.cluster.local"},
        ),
        ({"prefix": "hello.default.example.com"}, "hello.default.svc", set()),
        ({"prefix": "hello.default"}, "*.example.com", {"*.example.com"}),
        ({"regex": "api\\.example\\.(com|org)"}, "api.example.org", {"api.example.org"}),
        ({"regex": "api\\.example\\.com"}, "www.example.com", set()),
    ],
)
def test_authority_narrows_the_hosts(
    authority: dict[str, str] | None, host: str, served: set[str]
) -> None:
    match: dict[str, Any] = {} if authority is None else {"authority": authority}
    applied = G.AppliedRoute("http", 0, {"route": [{}]}, (match,))
    assert G.served_hosts(applied, host) == served

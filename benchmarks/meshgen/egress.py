"""Egress: the egress gateway with its Gateway, ServiceEntry and VirtualService for every
registered external host; an app namespace's ServiceEntries."""

from __future__ import annotations

from .gen import Gen
from .model import EXTERNAL_HOSTS
from .plan import AppNamespace


def egress_gateway(g: Gen) -> None:
    # -- egress gateway
    eg_labels = {"app": "istio-egressgateway", "istio": "egressgateway"}
    proxy = g.sidecar_container("istio-egress", "istio-egressgateway")
    proxy["args"][1] = "router"
    pods = g.deployment(
        "istio-egress",
        "istio-egressgateway",
        pod_labels={**eg_labels, "sidecar.istio.io/inject": "false"},
        containers=[proxy],
        replicas=2,
        service_account="istio-egressgateway-service-account",
        labels=eg_labels,
        injected=False,
    )
    g.service(
        pods,
        "istio-egress",
        "istio-egressgateway",
        eg_labels,
        [
            {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
        ],
        labels=eg_labels,
    )
    g.istio(
        "Gateway",
        "istio-egress",
        "egress-gateway",
        {
            "selector": {"istio": "egressgateway"},
            "servers": [
                {
                    "hosts": list(EXTERNAL_HOSTS),
                    "port": {"name": "tls", "number": 443, "protocol": "TLS"},
                    "tls": {"mode": "PASSTHROUGH"},
                }
            ],
        },
    )
    g.istio(
        "ServiceEntry",
        "istio-egress",
        "external-apis",
        {
            "exportTo": ["*"],
            "hosts": list(EXTERNAL_HOSTS),
            "location": "MESH_EXTERNAL",
            "ports": [{"name": "tls", "number": 443, "protocol": "TLS"}],
            "resolution": "DNS",
        },
    )
    g.istio(
        "VirtualService",
        "istio-egress",
        "external-apis-via-egress",
        {
            "exportTo": ["*"],
            "gateways": ["mesh", "egress-gateway"],
            "hosts": list(EXTERNAL_HOSTS),
            "tls": [
                {
                    "match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [h]}],
                    "route": [
                        {
                            "destination": {
                                "host": "istio-egressgateway.istio-egress.svc.cluster.local",
                                "port": {"number": 443},
                            }
                        }
                    ],
                }
                for h in EXTERNAL_HOSTS
            ]
            + [
                {
                    "match": [{"gateways": ["egress-gateway"], "port": 443, "sniHosts": [h]}],
                    "route": [{"destination": {"host": h, "port": {"number": 443}}}],
                }
                for h in EXTERNAL_HOSTS
            ],
        },
    )


def namespace_egress(g: Gen, ns: AppNamespace, problems: set[str]) -> None:
    """The ServiceEntries for the external APIs the namespace calls (and a planted wildcard)."""
    n = ns.name
    for host in ns.externals:
        g.istio(
            "ServiceEntry",
            n,
            host.split(".")[-2] + "-" + host.split(".")[0],
            {
                "exportTo": ["."],
                "hosts": [host],
                "location": "MESH_EXTERNAL",
                "ports": [{"name": "tls", "number": 443, "protocol": "TLS"}],
                "resolution": "DNS",
            },
        )
    if "serviceentry-wildcard-host" in problems:
        g.istio(
            "ServiceEntry",
            n,
            "any-com",
            {
                "hosts": ["*.com"],
                "location": "MESH_EXTERNAL",
                "ports": [{"name": "tls", "number": 443, "protocol": "TLS"}],
                "resolution": "NONE",
            },
        )
        g.plant("serviceentry-wildcard-host", "ServiceEntry", n, "any-com", "*.com")

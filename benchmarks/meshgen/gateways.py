"""Ingress: the ingress-gateway shards, the shared Istio Gateways (an HTTPS server per
namespace and the port-80 redirect), the Gateway API namespaces, and the Gateway problems
planted in app namespaces."""

from __future__ import annotations

from typing import Any

from .gen import Gen
from .model import DOMAIN, FAKE_CERT, FAKE_KEY
from .plan import AppNamespace


def ingress_gateways(g: Gen, plans: list[AppNamespace], shards: int) -> None:
    """The ingress-gateway shards and the shared Gateways of the app namespaces."""
    # -- ingress shards
    for s in range(shards):
        label = f"ingressgateway-{s:02d}"
        name = f"istio-{label}"
        gw_labels = {"app": name, "istio": label}
        proxy = g.sidecar_container("istio-ingress", name)
        proxy["args"][1] = "router"
        proxy["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in (15021, 8080, 8443)] + [
            {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}
        ]
        pods = g.deployment(
            "istio-ingress",
            name,
            pod_labels={**gw_labels, "sidecar.istio.io/inject": "false"},
            containers=[proxy],
            replicas=2,
            service_account=f"{name}-service-account",
            labels=gw_labels,
            injected=False,
        )
        g.service(
            pods,
            "istio-ingress",
            name,
            gw_labels,
            [
                {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
                {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
            ],
            type_="LoadBalancer",
            lb_ip=f"203.0.113.{10 + s}",
            labels=gw_labels,
        )

    # -- shared ingress Gateways: an HTTPS server per namespace, one redirect server
    by_gateway: dict[str, list[AppNamespace]] = {}
    for ns in plans:
        by_gateway.setdefault(ns.gateway, []).append(ns)
    for gw_name, members in by_gateway.items():
        shard = members[0].shard
        servers: list[dict[str, Any]] = []
        for ns in members:
            host = f"{ns.name}.{DOMAIN}"
            secret = f"{ns.name}-tls"
            server: dict[str, Any] = {
                "hosts": [f"{ns.name}/{host}"],
                "name": f"https-{ns.name}",
                "port": {"name": f"https-{ns.name}", "number": 443, "protocol": "HTTPS"},
                "tls": {"credentialName": secret, "mode": "SIMPLE"},
            }
            servers.append(server)
            if "gateway-https-secret-missing" in ns.problems:
                g.plant(
                    "gateway-https-secret-missing",
                    "Gateway",
                    "istio-ingress",
                    gw_name,
                    f"credentialName {secret}",
                )
            else:
                g.add(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": g.meta(secret, "istio-ingress", generation=None),
                        "type": "kubernetes.io/tls",
                        "data": {
                            "tls.crt": FAKE_CERT,
                            "tls.key": FAKE_KEY,
                        },
                    }
                )
        redirect_hosts = [
            f"{ns.name}/{ns.name}.{DOMAIN}"
            for ns in members
            if "gateway-plaintext-http-no-redirect" not in ns.problems
        ]
        servers.append(
            {
                "hosts": redirect_hosts,
                "name": "http-redirect",
                "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                "tls": {"httpsRedirect": True},
            }
        )
        for ns in members:
            if "gateway-plaintext-http-no-redirect" in ns.problems:
                servers.append(
                    {
                        "hosts": [f"{ns.name}/{ns.name}.{DOMAIN}"],
                        "name": f"http-{ns.name}",
                        "port": {"name": f"http-{ns.name}", "number": 80, "protocol": "HTTP"},
                    }
                )
                g.plant(
                    "gateway-plaintext-http-no-redirect",
                    "Gateway",
                    "istio-ingress",
                    gw_name,
                    f"{ns.name}.{DOMAIN}:80",
                )
        g.istio(
            "Gateway",
            "istio-ingress",
            gw_name,
            {"selector": {"istio": f"ingressgateway-{shard:02d}"}, "servers": servers},
        )


def namespace_gateway_problems(g: Gen, ns: AppNamespace, problems: set[str]) -> None:
    """The planted Istio Gateway problems, in the app namespace."""
    n = ns.name
    if "gateway-selector-matches-nothing" in problems:
        g.istio(
            "Gateway",
            n,
            f"{n}-private-gw",
            {
                "selector": {"istio": f"{n}-gateway"},
                "servers": [
                    {
                        "hosts": [f"./internal.{n}.{DOMAIN}"],
                        "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                    }
                ],
            },
        )
        g.plant("gateway-selector-matches-nothing", "Gateway", n, f"{n}-private-gw")
    if "gateway-port-not-on-service" in problems:
        host = f"admin.{n}.{DOMAIN}"
        g.istio(
            "Gateway",
            n,
            f"{n}-admin-gw",
            {
                "selector": {"istio": f"ingressgateway-{ns.shard:02d}"},
                "servers": [
                    {
                        "hosts": [f"./{host}"],
                        "port": {"name": "https-admin", "number": 9443, "protocol": "HTTPS"},
                        "tls": {"credentialName": f"{n}-admin-tls", "mode": "SIMPLE"},
                    }
                ],
            },
        )
        g.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": g.meta(f"{n}-admin-tls", "istio-ingress", generation=None),
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": FAKE_CERT, "tls.key": FAKE_KEY},
            }
        )
        g.plant("gateway-port-not-on-service", "Gateway", n, f"{n}-admin-gw", "9443")
    if "virtualservice-unknown-gateway" in problems:
        # the classic mistake: a bare gateway name, which means this namespace
        g.istio(
            "VirtualService",
            n,
            f"{ns.apps[0]}-public",
            {
                "gateways": [ns.gateway],
                "hosts": [f"www.{n}.{DOMAIN}"],
                "http": [{"route": [{"destination": {"host": ns.apps[0]}}]}],
            },
        )
        g.plant(
            "virtualservice-unknown-gateway",
            "VirtualService",
            n,
            f"{ns.apps[0]}-public",
            f"{n}/{ns.gateway}",
        )


def gateway_api(g: Gen, ns: AppNamespace) -> None:
    """A Kubernetes Gateway, Istio's auto-deployed gateway for it, and HTTPRoutes."""
    n = ns.name
    gw = f"{n}-gw"
    host = f"{n}.{DOMAIN}"
    now = g.ts()
    g.add(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": g.meta(gw, n),
            "spec": {
                "gatewayClassName": "istio",
                "listeners": [
                    {
                        "allowedRoutes": {"namespaces": {"from": "Same"}},
                        "hostname": host,
                        "name": "https",
                        "port": 443,
                        "protocol": "HTTPS",
                        "tls": {
                            "certificateRefs": [
                                {"group": "", "kind": "Secret", "name": f"{n}-cert"}
                            ],
                            "mode": "Terminate",
                        },
                    }
                ],
            },
            "status": {
                "addresses": [{"type": "IPAddress", "value": "203.0.113.200"}],
                "conditions": [
                    {
                        "lastTransitionTime": now,
                        "message": "Resource programmed, assigned to service(s) "
                        f"{gw}-istio.{n}.svc.cluster.local:443",
                        "observedGeneration": 1,
                        "reason": "Programmed",
                        "status": "True",
                        "type": "Programmed",
                    }
                ],
            },
        }
    )
    g.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": g.meta(f"{n}-cert", n, generation=None),
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": FAKE_CERT, "tls.key": FAKE_KEY},
        }
    )
    gw_labels = {
        "gateway.istio.io/managed": "istio.io-gateway-controller",
        "gateway.networking.k8s.io/gateway-name": gw,
    }
    proxy = g.sidecar_container(n, f"{gw}-istio")
    proxy["args"][1] = "router"
    pods = g.deployment(
        n,
        f"{gw}-istio",
        # Istio's gateway deployment template labels its pods out of injection (the proxy is
        # in the template already)
        pod_labels={**gw_labels, "sidecar.istio.io/inject": "false"},
        containers=[proxy],
        replicas=1,
        labels=dict(gw_labels),
        injected=False,
    )
    g.service(
        pods,
        n,
        f"{gw}-istio",
        {"gateway.networking.k8s.io/gateway-name": gw},
        [
            {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
        ],
        type_="LoadBalancer",
        lb_ip="203.0.113.200",
        labels=dict(gw_labels),
    )
    for app in ns.apps[:3]:
        g.add(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": g.meta(app, n),
                "spec": {
                    "hostnames": [host],
                    "parentRefs": [
                        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw}
                    ],
                    "rules": [
                        {
                            "backendRefs": [
                                {
                                    "group": "",
                                    "kind": "Service",
                                    "name": app,
                                    "port": 8080,
                                    "weight": 1,
                                }
                            ],
                            "matches": [{"path": {"type": "PathPrefix", "value": f"/{app}"}}],
                        }
                    ],
                },
            }
        )

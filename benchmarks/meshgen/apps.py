"""An app namespace: per app its Deployment, Pods, Service, DestinationRule, VirtualServices
and AuthorizationPolicy; then its policies, egress, Secret and gateways."""

from __future__ import annotations

from .egress import namespace_egress
from .gateways import gateway_api, namespace_gateway_problems
from .gen import Gen
from .model import DOMAIN, REPLICAS
from .plan import AppNamespace
from .policies import namespace_policies


def app_namespace(g: Gen, ns: AppNamespace) -> None:
    rng = g.rng
    n = ns.name
    g.namespace(n, {"istio-injection": "enabled", "team": ns.team})
    problems = set(ns.problems)
    missing_svc_app = (
        ns.apps[-1] if "virtualservice-destination-missing-service" in problems else ""
    )

    for idx, app in enumerate(ns.apps):
        version = f"v{rng.randint(1, 3)}"
        env = [{"name": "LOG_LEVEL", "value": "info"}]
        for host in ns.externals[:1]:
            env.append({"name": "UPSTREAM_API", "value": f"https://{host}"})
        if idx + 1 < len(ns.apps):
            nxt = ns.apps[idx + 1]
            env.append({"name": "NEXT_URL", "value": f"http://{nxt}.{n}.svc.cluster.local:8080"})
        pods = g.deployment(
            n,
            app,
            pod_labels={"app": app, "version": version},
            containers=[
                g.container(
                    app,
                    f"ghcr.io/example-{ns.team}/{app}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.0",
                    8080,
                    env,
                )
            ],
            replicas=rng.choice(REPLICAS),
        )
        if app != missing_svc_app:
            g.service(
                pods,
                n,
                app,
                {"app": app},
                [
                    {
                        "name": "http",
                        "port": 8080,
                        "protocol": "TCP",
                        "targetPort": 8080,
                        "appProtocol": "http",
                    }
                ],
            )
        fqdn = f"{app}.{n}.svc.cluster.local"
        dr_tls = {"mode": "ISTIO_MUTUAL"}
        if idx == 1 and "destinationrule-tls-disabled" in problems:
            dr_tls = {"mode": "DISABLE"}
            g.plant("destinationrule-tls-disabled", "DestinationRule", n, app, fqdn)
        if app != missing_svc_app:  # a deleted Service takes its DestinationRule with it
            g.istio(
                "DestinationRule",
                n,
                app,
                {
                    "host": fqdn,
                    "subsets": [{"labels": {"version": version}, "name": version}],
                    "trafficPolicy": {
                        "connectionPool": {"http": {"http1MaxPendingRequests": 1024}},
                        "outlierDetection": {
                            "baseEjectionTime": "30s",
                            "consecutive5xxErrors": 5,
                            "interval": "10s",
                        },
                        "tls": dr_tls,
                    },
                },
            )
        if idx == 0 and not ns.gateway_api:
            # the namespace's front door, on the shared ingress gateway
            g.istio(
                "VirtualService",
                n,
                f"{app}-ingress",
                {
                    "gateways": [f"istio-ingress/{ns.gateway}"],
                    "hosts": [f"{n}.{DOMAIN}"],
                    "http": [
                        {
                            "match": [{"uri": {"prefix": "/api/"}}],
                            "name": "api",
                            "route": [
                                {
                                    "destination": {
                                        "host": ns.apps[min(1, len(ns.apps) - 1)],
                                        "port": {"number": 8080},
                                    }
                                }
                            ],
                            "timeout": "15s",
                        },
                        {
                            "name": "web",
                            "route": [{"destination": {"host": fqdn, "port": {"number": 8080}}}],
                        },
                    ],
                },
            )
        elif rng.random() < 0.55:
            dest = app
            if app == missing_svc_app:
                g.plant(
                    "virtualservice-destination-missing-service", "VirtualService", n, app, fqdn
                )
            g.istio(
                "VirtualService",
                n,
                app,
                {
                    "hosts": [app],
                    "http": [
                        {
                            "retries": {"attempts": 3, "perTryTimeout": "2s"},
                            "route": [
                                {
                                    "destination": {
                                        "host": dest,
                                        "port": {"number": 8080},
                                        # no DestinationRule (and subset) for a deleted Service
                                        **({} if app == missing_svc_app else {"subset": version}),
                                    },
                                    "weight": 100,
                                }
                            ],
                        }
                    ],
                },
            )
        elif app == missing_svc_app:
            g.istio(
                "VirtualService",
                n,
                app,
                {"hosts": [app], "http": [{"route": [{"destination": {"host": app}}]}]},
            )
            g.plant("virtualservice-destination-missing-service", "VirtualService", n, app, fqdn)
        if idx % 3 == 0:
            caller = ns.apps[(idx + 1) % len(ns.apps)]
            g.istio(
                "AuthorizationPolicy",
                n,
                f"{app}-allow",
                {
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [
                                {
                                    "source": {
                                        "principals": [
                                            f"cluster.local/ns/{n}/sa/{caller}",
                                            "cluster.local/ns/istio-ingress/sa/"
                                            f"istio-ingressgateway-{ns.shard:02d}-service-account",
                                        ]
                                    }
                                }
                            ],
                            "to": [{"operation": {"methods": ["GET", "POST"], "paths": ["/*"]}}],
                        }
                    ],
                    "selector": {"matchLabels": {"app": app}},
                },
                group="security.istio.io",
            )

    namespace_policies(g, ns, problems)
    namespace_egress(g, ns, problems)
    g.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": g.meta(f"{ns.apps[0]}-config", n, generation=None),
            "type": "Opaque",
            "data": {"DATABASE_URL": "ZmFrZQ==", "API_TOKEN": "ZmFrZQ=="},
        }
    )

    if ns.gateway_api:
        gateway_api(g, ns)

    namespace_gateway_problems(g, ns, problems)

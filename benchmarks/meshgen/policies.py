"""An app namespace's security policies: PeerAuthentication, AuthorizationPolicies, the
Sidecar, NetworkPolicies."""

from __future__ import annotations

from .gen import Gen
from .plan import AppNamespace


def namespace_policies(g: Gen, ns: AppNamespace, problems: set[str]) -> None:
    """The namespace-wide policies."""
    n = ns.name
    mode = "STRICT"
    if "peerauthentication-permissive" in problems:
        mode = "PERMISSIVE"
        g.plant("peerauthentication-permissive", "PeerAuthentication", n, "default")
    g.istio("PeerAuthentication", n, "default", {"mtls": {"mode": mode}}, group="security.istio.io")
    if "authorizationpolicy-allow-all" in problems:
        g.istio(
            "AuthorizationPolicy",
            n,
            "allow-all",
            {"action": "ALLOW", "rules": [{}]},
            group="security.istio.io",
        )
        g.plant("authorizationpolicy-allow-all", "AuthorizationPolicy", n, "allow-all")
    g.istio(
        "Sidecar",
        n,
        "default",
        {
            "egress": [{"hosts": ["./*", "istio-system/*", "istio-egress/*"]}],
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        },
    )
    g.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": g.meta("default-deny", n),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }
    )
    g.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": g.meta("allow-mesh", n),
            "spec": {
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "istio-system"}
                                }
                            },
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "istio-egress"}
                                }
                            },
                        ]
                    },
                    {
                        "ports": [{"port": 53, "protocol": "UDP"}],
                        "to": [
                            {
                                "namespaceSelector": {},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                    },
                ],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
            },
        }
    )

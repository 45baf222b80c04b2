"""auditor/istio/netpol_ingress.py against the Kubernetes NetworkPolicy documentation
(https://kubernetes.io/docs/concepts/services-networking/network-policies/): isolation by
Ingress policies, peers (podSelector alone: same namespace; namespaceSelector; both ANDed),
ports (number, name on the server pod, endPort), the automatic namespace name label."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.istio.netpol_ingress import ingress_allows

DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress"]}
FROM_DEV = {
    "podSelector": {"matchLabels": {"app": "web"}},
    "ingress": [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dev"}}}
            ],
            "ports": [{"port": "http"}],
        }
    ],
}
SAME_NS_PODS = {
    "podSelector": {},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}],
}
BOTH = {
    "podSelector": {},
    "ingress": [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"team": "a"}},
                    "podSelector": {"matchLabels": {"role": "client"}},
                }
            ],
            "ports": [{"port": 8000, "endPort": 8100}],
        }
    ],
}
IPBLOCK = {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}

CASES: list[tuple[list[dict[str, Any]], int | None, str, dict[str, str], dict[str, str], bool]] = [
    ([], 8080, "dev", {}, {}, True),  # not isolated
    ([DENY_ALL], 8080, "dev", {}, {}, False),
    ([DENY_ALL, FROM_DEV], 8080, "dev", {}, {}, True),  # named port http = 8080
    ([DENY_ALL, FROM_DEV], 9090, "dev", {}, {}, False),
    ([DENY_ALL, FROM_DEV], None, "dev", {}, {}, True),  # some port
    ([DENY_ALL, FROM_DEV], 8080, "prod", {}, {}, False),
    ([SAME_NS_PODS], 8080, "web", {}, {"role": "client"}, True),
    ([SAME_NS_PODS], 8080, "dev", {}, {"role": "client"}, False),  # podSelector alone: own ns
    ([BOTH], 8050, "dev", {"team": "a"}, {"role": "client"}, True),
    ([BOTH], 8050, "dev", {"team": "a"}, {}, False),
    ([BOTH], 8200, "dev", {"team": "a"}, {"role": "client"}, False),
    ([IPBLOCK], 8080, "dev", {}, {}, False),  # pod addresses unknown: not counted
]


@pytest.mark.parametrize(("specs", "port", "ns", "ns_labels", "labels", "expected"), CASES)
def test_ingress_allows(
    specs: list[dict[str, Any]],
    port: int | None,
    ns: str,
    ns_labels: dict[str, str],
    labels: dict[str, str],
    expected: bool,
) -> None:
    got = ingress_allows(
        [("web", s) for s in specs],
        {"app": "web"},
        {"http": 8080},
        port,
        caller_namespace=ns,
        namespace_labels=ns_labels,
        caller_labels=labels,
    )
    assert got is expected

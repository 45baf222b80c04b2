"""Mutual TLS checks (MTLS): exact findings per fixture case."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings

CASES: dict[str, set[Finding]] = {
    "egress/hardened-mesh.yaml": set(),
    "mtls/default-permissive.yaml": {("MTLS001", "Namespace", "", "istio-system", "medium")},
    "mtls/weak-overrides.yaml": {
        ("MTLS002", "PeerAuthentication", "legacy", "default", "medium"),
        ("MTLS002", "PeerAuthentication", "shop", "metrics-plaintext", "high"),
        ("MTLS002", "PeerAuthentication", "shop", "metrics-plaintext", "medium"),  # port 9090
        ("MTLS002", "PeerAuthentication", "shop", "cart-strict", "high"),  # port 15090
        ("MTLS003", "DestinationRule", "shop", "cart-plaintext", "medium"),
        ("MTLS003", "DestinationRule", "istio-system", "all-local-simple", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mtls_findings(case: str) -> None:
    assert findings(case, ("MTLS",)) == CASES[case]

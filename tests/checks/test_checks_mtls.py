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
        # port 9090 PERMISSIVE under the policy's own DISABLE accepts mTLS again: it weakens
        # nothing (was medium before verdicts followed the effective state)
        ("MTLS002", "PeerAuthentication", "shop", "metrics-plaintext", "info"),
        ("MTLS002", "PeerAuthentication", "shop", "cart-strict", "high"),  # port 15090
        ("MTLS003", "DestinationRule", "shop", "cart-plaintext", "medium"),
        ("MTLS003", "DestinationRule", "istio-system", "all-local-simple", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mtls_findings(case: str) -> None:
    assert findings(case, ("MTLS",)) == CASES[case]


# Cases modelled on Istio's documentation (each fixture names its source).
DOC_CASES: dict[str, set[Finding]] = {
    # mtls-migration end state: STRICT mesh-wide; nothing to report
    "mtls/mtls-migration.yaml": set(),
    # authn-policy: DISABLE toward httpbin.legacy (no sidecar) and the API server is the
    # prescribed setting, not a finding; a port left to plaintext under STRICT is (DISABLE: high)
    "mtls/authn-policy.yaml": {
        ("MTLS002", "PeerAuthentication", "foo", "finance", "high"),
    },
    # a mesh route to a workload outside the mesh: named on both sides (MTLS001: no mesh-wide
    # policy in this input)
    "mtls/mesh-to-outside.yaml": {
        ("MTLS001", "Namespace", "", "istio-system", "medium"),
        ("MTLS004", "Service", "legacy", "billing", "medium"),
    },
    # the admission-webhook port the API server calls: low; an application port: medium
    "mtls/webhook-port.yaml": {
        ("MTLS002", "PeerAuthentication", "policy", "policy-controller-webhook", "low"),
        ("MTLS002", "PeerAuthentication", "policy", "reports", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(DOC_CASES))
def test_mtls_doc_cases(case: str) -> None:
    assert findings(case, ("MTLS",)) == DOC_CASES[case]

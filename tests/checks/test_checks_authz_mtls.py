"""AUTHZ015: identity rules on ports that accept plaintext; exact findings per fixture case.

Each case file under fixtures/cases/authz-mtls/ names the source it follows (the
AuthorizationPolicy and PeerAuthentication references, Istio's own tests, Kiali's checker data).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.case_helpers import Finding, findings, report_for

CASES: dict[str, set[Finding]] = {
    # the reference's DENY example under Istio's default PERMISSIVE
    "authz-mtls/ref-deny-permissive.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "foo", "httpbin", "medium"),
    },
    # ... and the very namespace it denies is outside the mesh: it sends plaintext
    "authz-mtls/ref-deny-outside.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "foo", "httpbin", "high"),
    },
    # ... and the same under mesh-wide STRICT: enforceable, no finding
    "authz-mtls/ref-deny-strict.yaml": set(),
    # STRICT with a port-level PERMISSIVE exception: only the rule covering that port
    "authz-mtls/port-exception.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "foo", "deny-legacy-batch", "medium"),
    },
    # Kiali's checker cases: DISABLE (mesh clients send plaintext: auto mTLS, or the
    # DestinationRule), PERMISSIVE workload under STRICT namespace, STRICT workload
    "authz-mtls/kiali-19-workload-disable.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "bookinfo", "policy", "high"),
    },
    "authz-mtls/kiali-20-workload-disable-no-dr.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "bookinfo", "policy", "high"),
    },
    "authz-mtls/kiali-21-workload-permissive.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "bookinfo", "policy", "medium"),
    },
    "authz-mtls/kiali-18-workload-strict.yaml": set(),
    # a DestinationRule DISABLE in a client namespace: only that namespace's clients send
    # plaintext, so only the DENY naming them is skipped by a caller it names
    "authz-mtls/dr-client-scope.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "shop", "deny-frontend", "high"),
        ("AUTHZ015", "AuthorizationPolicy", "shop", "deny-batch", "medium"),
    },
    # a wildcard DestinationRule DISABLE in the root namespace: every mesh client sends plaintext
    "authz-mtls/kiali-10-mesh-dr-disable.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "bookinfo", "deny-reviews", "high"),
        ("AUTHZ015", "Deployment", "bookinfo", "productpage-v1", "info"),
    },
    # ALLOW on identity over a plaintext-accepting workload: info on the workload
    "authz-mtls/kiali-7-disable-allow.yaml": {
        ("AUTHZ015", "Deployment", "bookinfo", "productpage-v1", "info"),
    },
    "authz-mtls/kiali-23-mesh-permissive-allow.yaml": {
        ("AUTHZ015", "Deployment", "bookinfo", "ratings-v1", "info"),
    },
    # Istio's own plaintext test: DENY notPrincipals ["*"] fails closed
    "authz-mtls/istio-plaintext-not-principals.yaml": set(),
    # namespace-wide STRICT: nothing there; the PERMISSIVE namespace beside it: medium
    "authz-mtls/namespace-strict.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "open", "deny-dev", "medium"),
    },
    # ambient: ztunnel accepts plaintext unless STRICT; workload DISABLE ends STRICT
    "authz-mtls/ambient.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "amb", "deny-curl", "high"),
        ("AUTHZ015", "AuthorizationPolicy", "amb-mixed", "deny-curl", "high"),
    },
    "authz-mtls/conditions.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "shop", "deny-when-namespace", "medium"),
        ("AUTHZ015", "AuthorizationPolicy", "shop", "deny-when-sni", "medium"),
    },
    "authz-mtls/capture-exclusion.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "shop", "deny-reporting", "high"),
    },
    "authz-mtls/loadbalancer.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "shop", "deny-partners", "medium"),
    },
    # an ingress NetworkPolicy that admits the denied namespace (high) or nobody (medium)
    "authz-mtls/network-policy.yaml": {
        ("AUTHZ015", "AuthorizationPolicy", "opened", "deny-dev", "high"),
        ("AUTHZ015", "AuthorizationPolicy", "closed", "deny-dev", "medium"),
    },
    # the ALLOW denies plaintext anyway: the skipped DENY grants nothing
    "authz-mtls/allow-guards-deny.yaml": {
        ("AUTHZ015", "Deployment", "shop", "orders", "info"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_identity_rules_on_plaintext(case: str) -> None:
    assert findings(case, ("AUTHZ015",)) == CASES[case]


def _only(case: str) -> dict[str, Any]:
    (found,) = [f for f in report_for(case)["findings"] if f["check"] == "AUTHZ015"]
    return dict(found)


def test_message_names_rule_port_setting_and_fix() -> None:
    found = _only("authz-mtls/port-exception.yaml")
    assert found["path"] == "spec.rules[0].from[0].source.principals"
    assert found["message"] == (
        "AuthorizationPolicy foo/deny-legacy-batch spec.rules[0] DENYs by peer identity "
        "(from[0].source.principals), which a plaintext request never carries: Deployment "
        "foo/finance accepts plaintext on port 8080 (PeerAuthentication foo/finance "
        "portLevelMtls sets PERMISSIVE), so plaintext requests pass this DENY"
    )
    assert "`notPrincipals` / `notNamespaces`" in found["remediation"]
    assert "STRICT for Deployment foo/finance port 8080" in found["remediation"]


def test_high_names_the_denied_caller_that_sends_plaintext() -> None:
    found = _only("authz-mtls/ref-deny-outside.yaml")
    assert found["evidence"]["named_callers_sending_plaintext"] == [
        "Deployment dev/sleep (outside the mesh)"
    ]
    assert found["message"].endswith(
        "callers it names send plaintext: Deployment dev/sleep (outside the mesh)"
    )


def test_disable_makes_every_mesh_client_a_plaintext_sender() -> None:
    found = _only("authz-mtls/kiali-20-workload-disable-no-dr.yaml")
    assert found["evidence"]["named_callers_sending_plaintext"] == [
        "every mesh client (auto mTLS sends plaintext to a DISABLE port)"
    ]
    with_dr = _only("authz-mtls/kiali-19-workload-disable.yaml")
    assert (
        "mesh clients, as DestinationRule bookinfo/ratings-mtls sets DISABLE"
        in with_dr["evidence"]["named_callers_sending_plaintext"]
    )
    scoped = [
        f
        for f in report_for("authz-mtls/dr-client-scope.yaml")["findings"]
        if f["check"] == "AUTHZ015" and f["resource"]["name"] == "deny-frontend"
    ]
    assert scoped[0]["evidence"]["named_callers_sending_plaintext"] == [
        "mesh clients, as DestinationRule frontend/backend-plaintext sets DISABLE for clients in "
        "frontend"
    ]


def test_capture_exclusion_of_the_dialled_service_port() -> None:
    found = _only("authz-mtls/capture-exclusion.yaml")
    assert found["evidence"]["named_callers_sending_plaintext"] == [
        "Deployment shop/reporting (outbound capture excludes 80)"
    ]


def test_external_clients_are_listed_but_not_named_by_the_rule() -> None:
    found = _only("authz-mtls/loadbalancer.yaml")
    assert found["evidence"]["named_callers_sending_plaintext"] == []
    assert found["evidence"]["plaintext_from"] == [
        "clients outside the cluster through Service shop/orders (LoadBalancer)"
    ]


def test_allow_info_names_who_is_denied() -> None:
    found = _only("authz-mtls/allow-guards-deny.yaml")
    assert found["severity"] == "info"
    assert found["message"] == (
        "Deployment shop/orders accepts plaintext on every port (no PeerAuthentication applies: "
        "Istio's default PERMISSIVE), but its ALLOW policies (shop/allow-frontend) admit only "
        "callers with a peer identity: every plaintext caller is denied (Deployment legacy/cron "
        "(outside the mesh))"
    )


def test_access_model_says_whether_identity_rules_hold() -> None:
    def status(case: str) -> dict[str, str]:
        return {
            f"{a['workload']['namespace']}/{a['workload']['name']}": a["identity_rules"]["status"]
            for a in report_for(case)["authorization"]
        }

    assert status("authz-mtls/namespace-strict.yaml") == {
        "open/httpbin": "bypassable",
        "secure/httpbin": "enforced",
        "dev/sleep": "none",
    }
    assert status("authz-mtls/allow-guards-deny.yaml")["shop/orders"] == "plaintext-denied"


def test_network_policy_that_keeps_the_caller_out_is_named() -> None:
    found = [
        f
        for f in report_for("authz-mtls/network-policy.yaml")["findings"]
        if f["check"] == "AUTHZ015" and f["resource"]["namespace"] == "closed"
    ]
    assert found[0]["evidence"]["ingress_network_policies"] == ["closed/default-deny-ingress"]
    assert found[0]["message"].endswith(
        "(plaintext from: Deployment dev/sleep (outside the mesh)); ingress NetworkPolicies "
        "closed/default-deny-ingress limit which pods connect"
    )

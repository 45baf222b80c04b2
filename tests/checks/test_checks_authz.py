"""AuthorizationPolicy checks on fixture cases: exact findings per case."""

from __future__ import annotations

import pytest

from tests.case_helpers import findings, report_for


def test_allow_all_rules() -> None:
    assert findings("authz/allow-all.yaml", ("AUTHZ004",)) == {
        ("AUTHZ004", "AuthorizationPolicy", "marketing", "allow-all", "medium"),
        ("AUTHZ004", "AuthorizationPolicy", "istio-system", "mesh-allow-all", "high"),
        ("AUTHZ004", "AuthorizationPolicy", "shop", "frontend-open", "medium"),
    }
    by_name = {
        f["resource"]["name"]: f
        for f in report_for("authz/allow-all.yaml")["findings"]
        if f["check"] == "AUTHZ004"
    }
    assert by_name["frontend-open"]["path"] == "spec.rules[1]"
    assert by_name["frontend-open"]["message"] == (
        "AuthorizationPolicy shop/frontend-open has an empty ALLOW rule (spec.rules[1]): any "
        "caller may send any request to workloads labelled app=frontend in namespace shop"
    )
    assert by_name["mesh-allow-all"]["message"].endswith(
        "every workload in the mesh (root namespace, no selector)"
    )


AUTHZ_CASES: dict[str, set[tuple[str, str, str, str, str]]] = {
    # documented correct patterns: nothing at medium or above. AUTHZ015 info: ALLOW rules on
    # peer identity over Istio's default PERMISSIVE deny every plaintext caller (safe; named)
    "authz/kubeflow-oauth2-proxy.yaml": {
        ("AUTHZ013", "RequestAuthentication", "istio-system", "dex-jwt", "low"),
        ("AUTHZ015", "Deployment", "kubeflow", "centraldashboard", "info"),
    },
    "authz/istio-authz-http.yaml": {
        ("AUTHZ015", "Deployment", "default", "details-v1", "info"),
        ("AUTHZ015", "Deployment", "default", "reviews-v1", "info"),
        ("AUTHZ015", "Deployment", "default", "ratings-v1", "info"),
    },
    "authz/istio-authz-deny.yaml": set(),
    "authz/istio-authz-custom.yaml": set(),
    "authz/deny-paths-merge-slashes.yaml": set(),
    # the doc's own key is Istio's published sample
    "authz/istio-authz-jwt.yaml": {
        ("AUTHZ012", "RequestAuthentication", "foo", "jwt-example", "high"),
    },
    # the gateway's IP allow-list is clean; httpbin itself admits any in-mesh caller
    "authz/istio-authz-ingress.yaml": {
        ("AUTHZ006", "Namespace", "", "foo", "medium"),
    },
    "authz/istio-authz-ingress-gateway-api.yaml": {
        ("AUTHZ006", "Namespace", "", "foo", "medium"),
    },
    "authz/istio-authz-dry-run.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "medium"),
    },
    "authz/kubeflow-pipelines.yaml": {
        ("AUTHZ004", "AuthorizationPolicy", "kubeflow", "service-cache-server", "medium"),
        ("AUTHZ007", "AuthorizationPolicy", "kubeflow", "ml-pipeline", "medium"),
        ("AUTHZ007", "AuthorizationPolicy", "kubeflow", "ml-pipeline-ui", "medium"),
    },
    "authz/no-policy-mesh.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "high"),
    },
    "authz/weak-rules.yaml": {
        ("AUTHZ007", "AuthorizationPolicy", "apps", "partner-header", "high"),
        ("AUTHZ008", "AuthorizationPolicy", "apps", "reports-not-private", "medium"),
        ("AUTHZ008", "AuthorizationPolicy", "apps", "reports-not-private", "low"),
        ("AUTHZ009", "AuthorizationPolicy", "apps", "deny-admin-path", "medium"),
        ("AUTHZ015", "Deployment", "apps", "admin", "info"),
    },
    "authz/request-auth.yaml": {
        ("AUTHZ010", "RequestAuthentication", "apps", "idp", "medium"),
        ("AUTHZ011", "RequestAuthentication", "apps", "legacy-idp", "high"),
        ("AUTHZ012", "RequestAuthentication", "apps", "batch-jwt", "high"),
        ("AUTHZ013", "RequestAuthentication", "apps", "idp", "low"),
        ("AUTHZ015", "Deployment", "apps", "web", "info"),
    },
}


@pytest.mark.parametrize("case", sorted(AUTHZ_CASES))
def test_authorization_findings(case: str) -> None:
    assert findings(case, ("AUTHZ",)) == AUTHZ_CASES[case]


def _by_check(case: str, check: str) -> list[dict[str, object]]:
    return [f for f in report_for(case)["findings"] if f["check"] == check]


def test_bypass_names_the_policies_that_combine() -> None:
    (found,) = _by_check("authz/weak-rules.yaml", "AUTHZ007")
    assert found["path"] == "spec.rules[0]"
    assert found["evidence"] == {
        "weak_rule": "apps/partner-header spec.rules[0]",
        "bypassed_rules": ["apps/require-jwt spec.rules[0]"],
        "workloads": ["Deployment apps/payments (exposed)"],
    }


def test_http_key_fetches_are_reported_per_field() -> None:
    paths = sorted(f["path"] for f in _by_check("authz/request-auth.yaml", "AUTHZ011"))
    assert paths == ["spec.jwtRules[0].jwksUri", "spec.jwtRules[1].issuer"]


def test_oauth2_proxy_pattern_access_model() -> None:
    model = {
        a["workload"]["name"]: a
        for a in report_for("authz/kubeflow-oauth2-proxy.yaml")["authorization"]
    }
    gw = model["istio-ingressgateway"]
    assert (gw["role"], gw["exposed"], gw["open_to_internet"]) == ("gateway", True, False)
    assert gw["default"] == "restricted" and gw["token_required"] is True
    assert gw["custom_authorization"] == ["istio-system/istio-ingressgateway-oauth2-proxy"]
    assert [(p["action"], p["name"]) for p in gw["policies"]] == [
        ("CUSTOM", "istio-ingressgateway-oauth2-proxy"),
        ("DENY", "istio-ingressgateway-require-jwt"),
        ("ALLOW", "global-deny-all"),
        ("ALLOW", "istio-ingressgateway"),
    ]
    dash = model["centraldashboard"]
    assert dash["effective_callers"] == [
        {
            "policy": "kubeflow/central-dashboard",
            "rule": 0,
            "sources": [
                {
                    "principals": [
                        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
                    ]
                }
            ],
            "limited_to_operations": False,
        }
    ]
    assert dash["anyone"] is False and dash["exposed"] is True


def test_gateway_api_gateway_takes_policy_through_target_refs() -> None:
    model = {
        a["workload"]["name"]: a
        for a in report_for("authz/istio-authz-ingress-gateway-api.yaml")["authorization"]
    }
    gw = model["httpbin-gateway-istio"]
    assert (gw["role"], gw["exposed"], gw["open_to_internet"]) == ("gateway", True, False)
    assert [p["name"] for p in gw["policies"]] == ["ingress-policy"]
    assert gw["effective_callers"][0]["sources"] == [{"remoteIpBlocks": ["1.2.3.4", "5.6.7.0/24"]}]
    httpbin = model["httpbin"]
    assert (httpbin["default"], httpbin["exposed"], httpbin["open_to_internet"]) == (
        "allow-all",
        True,
        False,
    )

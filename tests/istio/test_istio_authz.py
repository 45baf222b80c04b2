"""auditor/istio/authz.py and jwt.py, table-tested against Istio's documented behaviour.

Sources: the AuthorizationPolicy reference (istio.io docs/reference/config/security/
authorization-policy: evaluation order, `spec: {}` deny-all, `rules: [{}]` allow-all, AUDIT,
root-namespace scope), pilot/pkg/model/policyattachment.go (ShouldAttachPolicy: targetRefs vs
selector), pilot/pkg/security/authz/builder/builder.go (dry-run policies are shadow rules), and
the security best-practices page (positive ALLOW, negative DENY, path normalization).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.istio import authz as A
from auditor.istio import jwt as J

ROOT = "istio-system"


def pol(
    ns: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
) -> A.Policy:
    return A.parse_policy(ns, name, spec, annotations or {})


APP = A.Target(namespace="foo", labels={"app": "httpbin"})
GW = A.Target(namespace="gw", labels={A.GATEWAY_NAME_LABEL: "edge"})
WAYPOINT = A.Target(
    namespace="foo", labels={A.GATEWAY_NAME_LABEL: "waypoint"}, waypoint=True, services=("reviews",)
)
TARGET_GW = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]


@pytest.mark.parametrize(
    ("policy", "target", "expected"),
    [
        # selector-less: the whole namespace; in the root namespace the whole mesh
        (pol("foo", "ns-wide", {}), APP, True),
        (pol("bar", "other-ns", {}), APP, False),
        (pol(ROOT, "mesh-wide", {}), APP, True),
        # root-namespace selectors match workloads in every namespace
        (pol(ROOT, "root-sel", {"selector": {"matchLabels": {"app": "httpbin"}}}), APP, True),
        (pol("foo", "sel-miss", {"selector": {"matchLabels": {"app": "x"}}}), APP, False),
        # a policy with targetRefs never applies to a sidecar workload
        (pol("foo", "refs-on-sidecar", {"targetRefs": TARGET_GW}), APP, False),
        # Gateway API gateways take policy only through targetRefs, in their own namespace
        (pol("gw", "by-ref", {"targetRefs": TARGET_GW}), GW, True),
        (pol("gw", "legacy-ref", {"targetRef": TARGET_GW[0]}), GW, True),
        # ... and, while ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on (istiod's default), by
        # selector too, including selector-less namespace and mesh policies (IST0166 warns)
        (
            pol("gw", "by-selector", {"selector": {"matchLabels": {A.GATEWAY_NAME_LABEL: "edge"}}}),
            GW,
            True,
        ),
        (pol("gw", "sel-miss-gw", {"selector": {"matchLabels": {"app": "other"}}}), GW, False),
        (pol(ROOT, "root-ref", {"targetRefs": TARGET_GW}), GW, False),
        (pol("gw", "ns-wide-on-gw", {}), GW, True),
        (pol(ROOT, "mesh-wide-on-gw", {}), GW, True),
        (pol("gw", "other-gw", {"targetRefs": [{**TARGET_GW[0], "name": "other"}]}), GW, False),
        # a waypoint never takes a selector or selector-less policy
        (pol("foo", "ns-wide-on-waypoint", {}), WAYPOINT, False),
        (pol(ROOT, "mesh-wide-on-waypoint", {}), WAYPOINT, False),
        # waypoints: Service targetRefs in the namespace, GatewayClass istio-waypoint from root
        (
            pol(
                "foo",
                "svc-ref",
                {"targetRefs": [{"kind": "Service", "group": "", "name": "reviews"}]},
            ),
            WAYPOINT,
            True,
        ),
        (
            pol(
                "foo",
                "svc-miss",
                {"targetRefs": [{"kind": "Service", "group": "", "name": "ratings"}]},
            ),
            WAYPOINT,
            False,
        ),
        (
            pol(
                ROOT,
                "class",
                {
                    "targetRefs": [
                        {
                            "kind": "GatewayClass",
                            "group": "gateway.networking.k8s.io",
                            "name": "istio-waypoint",
                        }
                    ]
                },
            ),
            WAYPOINT,
            True,
        ),
    ],
)
def test_attachment(policy: A.Policy, target: A.Target, expected: bool) -> None:
    assert A.applies(policy, target, ROOT) is expected


def test_gateway_selector_attachment_follows_the_istiod_flag() -> None:
    by_selector = pol("gw", "sel", {"selector": {"matchLabels": {A.GATEWAY_NAME_LABEL: "edge"}}})
    assert not A.applies(by_selector, GW, ROOT, selector_on_k8s_gateways=False)
    assert A.applies(pol("gw", "ref", {"targetRefs": TARGET_GW}), GW, ROOT, False)


DENY_ALL = pol("foo", "allow-nothing", {})
ALLOW_ANY = pol("foo", "allow-any", {"rules": [{}]})
FROM_SA = pol(
    "foo",
    "from-sa",
    {"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/foo/sa/sleep"]}}]}]},
)
GET_ONLY = pol("foo", "get", {"rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]})
HEADER = pol(
    "foo",
    "header",
    {"rules": [{"when": [{"key": "request.headers[x-token]", "values": ["admin"]}]}]},
)
AUDIT = pol("foo", "audit", {"action": "AUDIT", "rules": [{}]})
DENY_NO_JWT = pol(
    "foo",
    "require-jwt",
    {"action": "DENY", "rules": [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}]},
)
CUSTOM = pol(
    "foo", "ext", {"action": "CUSTOM", "provider": {"name": "oauth2-proxy"}, "rules": [{}]}
)
DRY_DENY_ALL = pol("foo", "dry", {"action": "DENY", "rules": [{}]}, {"istio.io/dry-run": "true"})
ALLOW_JWT = pol(
    "foo", "jwt", {"rules": [{"from": [{"source": {"requestPrincipals": ["iss/sub"]}}]}]}
)


@pytest.mark.parametrize(
    ("policies", "default", "anyone", "token", "guarded"),
    [
        ([], "allow-all", True, False, False),  # no policy: allow
        ([DENY_ALL], "deny-all", False, True, False),  # spec: {} ALLOW matches nothing
        ([DENY_ALL, ALLOW_ANY], "restricted", True, False, False),  # ALLOWs are ORed
        ([DENY_ALL, FROM_SA], "restricted", False, False, False),
        ([GET_ONLY], "restricted", True, False, False),  # authz-http productpage-viewer
        ([AUDIT], "allow-all", True, False, False),  # AUDIT never decides
        ([DRY_DENY_ALL], "allow-all", True, False, False),  # dry-run enforces nothing
        (
            [pol("foo", "deny-any", {"action": "DENY", "rules": [{}]}), ALLOW_ANY],
            "deny-all",
            False,
            True,
            False,
        ),
        ([DENY_NO_JWT, ALLOW_ANY], "restricted", True, True, True),  # DENY before ALLOW
        ([CUSTOM, ALLOW_ANY], "restricted", True, False, True),  # CUSTOM before ALLOW
        ([ALLOW_JWT], "restricted", False, True, False),
        ([ALLOW_JWT, HEADER], "restricted", True, False, False),  # the header rule is ORed in
    ],
)
def test_evaluation(
    policies: list[A.Policy], default: str, anyone: bool, token: bool, guarded: bool
) -> None:
    posture = A.evaluate(policies)
    assert (posture.default, posture.anyone, posture.token_required, posture.identity_guarded) == (
        default,
        anyone,
        token,
        guarded,
    )


def test_evaluation_orders_custom_deny_allow_and_names_weaknesses() -> None:
    neg = pol("foo", "neg", {"rules": [{"to": [{"operation": {"notPaths": ["/private"]}}]}]})
    deny_path = pol(
        "foo",
        "deny-admin",
        {"action": "DENY", "rules": [{"to": [{"operation": {"paths": ["/admin"]}}]}]},
    )
    posture = A.evaluate([neg, deny_path, CUSTOM, HEADER])
    assert [p.name for p in posture.policies] == ["ext", "deny-admin", "header", "neg"]
    assert [(w.policy, w.path, w.kind) for w in posture.weaknesses] == [
        ("foo/header", "spec.rules[0]", "client-controlled"),
        ("foo/neg", "spec.rules[0]", "client-controlled"),
        ("foo/neg", "spec.rules[0].to[0].operation.notPaths", "negative-match"),
        ("foo/deny-admin", "spec.rules[0].to[0].operation.paths", "deny-paths-unnormalized"),
    ]
    merged = A.evaluate([deny_path], "MERGE_SLASHES")
    assert merged.weaknesses == ()


@pytest.mark.parametrize(
    ("rule", "identity", "client_only"),
    [
        ({}, False, False),
        ({"from": [{"source": {"principals": ["cluster.local/ns/a/sa/b"]}}]}, True, False),
        ({"from": [{"source": {"namespaces": ["*"]}}]}, False, False),  # `*` names nobody
        ({"from": [{"source": {"notNamespaces": ["prod"]}}]}, False, True),
        ({"when": [{"key": "request.auth.claims[groups]", "values": ["admin"]}]}, True, False),
        ({"when": [{"key": "request.headers[authorization]", "values": ["*"]}]}, False, True),
        ({"to": [{"operation": {"hosts": ["api.example.com"]}}]}, False, True),  # Host header
        ({"to": [{"operation": {"paths": ["/public"]}}]}, False, False),  # positive scope
        ({"to": [{"operation": {"notPaths": ["/admin"]}}]}, False, True),
    ],
)
def test_rule_classification(rule: dict[str, Any], identity: bool, client_only: bool) -> None:
    assert A.requires_identity(rule) is identity
    assert A.client_controlled_only(rule) is client_only


def test_restricts_callers() -> None:
    assert A.restricts_callers(A.evaluate([DENY_ALL]))
    assert A.restricts_callers(A.evaluate([FROM_SA]))
    assert not A.restricts_callers(A.evaluate([GET_ONLY]))
    deny_outsiders = pol(
        "foo",
        "d",
        {"action": "DENY", "rules": [{"from": [{"source": {"notNamespaces": ["payments"]}}]}]},
    )
    assert A.restricts_callers(A.evaluate([deny_outsiders]))


SAMPLE_JWKS = (
    '{"keys":[{"e":"AQAB","kid":"DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ","kty":"RSA",'
    '"n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9VswgsCg"}]}'
)


@pytest.mark.parametrize(
    ("rule", "sample"),
    [
        (
            {
                "jwksUri": "https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json"
            },
            True,
        ),
        (
            {
                "jwksUri": "https://raw.githubusercontent.com/istio/istio/master/security/tools/jwt/samples/jwks.json"
            },
            True,
        ),
        (
            {
                "jwksUri": "https://github.com/istio/istio/raw/master/security/tools/jwt/samples/jwks.json"
            },
            True,
        ),
        ({"jwks": SAMPLE_JWKS}, True),
        ({"jwks": SAMPLE_JWKS.replace("DHFbpo", "other")}, True),  # same modulus
        ({"jwksUri": "https://idp.example.com/jwks.json"}, False),
        ({"jwks": "not json"}, False),
    ],
)
def test_sample_key(rule: dict[str, Any], sample: bool) -> None:
    assert bool(J.sample_key_evidence(rule)) is sample


@pytest.mark.parametrize(
    ("rule", "fetches"),
    [
        (
            {"issuer": "https://a.example.com", "jwksUri": "http://a.example.com/k"},
            [("jwksUri", "http://a.example.com/k")],
        ),
        ({"issuer": "http://a.example.com"}, [("issuer", "http://a.example.com")]),
        ({"issuer": "http://a.example.com", "jwksUri": "https://a.example.com/k"}, []),
        ({"issuer": "http://a.example.com", "jwks": "{}"}, []),
        ({"issuer": "http://dex.auth.svc.cluster.local:5556/dex"}, []),
        ({"issuer": "http://keycloak"}, []),
    ],
)
def test_plain_http_fetches(rule: dict[str, Any], fetches: list[tuple[str, str]]) -> None:
    assert J.plain_http_fetches(rule) == fetches

"""Ambient waypoints (AMB area): exact findings per fixture case, every family, and Istio's
waypoint binding and ztunnel policy rules table-tested (auditor/istio/waypoint.py)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.input.files import load_paths
from auditor.istio import waypoint as WP
from auditor.mesh.index import MeshIndex
from auditor.mesh.waypoints import waypoint_map
from tests.case_helpers import CASES, Finding, findings, report_for

# True of every ambient doc case below and not about waypoints: the docs set no
# outboundTrafficPolicy (EGR001), no egress NetworkPolicy (BYP004) and no mesh-wide STRICT
# PeerAuthentication (MTLS001).
DOC_DEFAULTS: set[Finding] = {
    ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
    ("MTLS001", "Namespace", "", "istio-system", "medium"),
}


def _egress(*namespaces: str) -> set[Finding]:
    """No egress NetworkPolicy in these namespaces and no egress gateway in the mesh: one
    finding, on the mesh (BYP004 lists the namespaces in its evidence)."""
    assert namespaces
    return {("BYP004", "Namespace", "", "istio-system", "medium")}


def _plaintext_denied(namespace: str, name: str) -> set[Finding]:
    """AUTHZ015 info: an ALLOW on peer identity over ztunnel's default PERMISSIVE denies every
    plaintext caller (clients outside the mesh)."""
    return {("AUTHZ015", "Deployment", namespace, name, "info")}


# the waypoint Deployment istiod renders (gateway.istio.io/managed) runs proxyv2 without the
# distroless suffix: the revision's values choose it, and without them in the input the mesh
# (root namespace) carries the finding
WAYPOINT_IMAGE = {("IMG001", "Namespace", "", "istio-system", "low")}

CASES_EXPECTED: dict[str, set[Finding]] = {
    # the waypoint guide's end state (namespace, Service and pod waypoints; policy on the
    # waypoint, route on the Service): no AMB or AUTHZ finding at all
    "ambient/waypoint-usage.yaml": DOC_DEFAULTS | _egress("default") | WAYPOINT_IMAGE,
    # the L4 policy guide's L4 policy: enforced by ztunnel as written
    "ambient/l4-policy.yaml": DOC_DEFAULTS
    | _egress("ambient-demo")
    | _plaintext_denied("ambient-demo", "httpbin"),
    # the same guide's HTTP rule without a waypoint: ztunnel denies every connection; a DENY
    # on paths is widened to the whole rule (and AUTHZ009's `//path` bypass does not apply)
    "ambient/l4-policy-http-rules.yaml": DOC_DEFAULTS
    | _egress("ambient-demo")
    | {
        ("AMB001", "AuthorizationPolicy", "ambient-demo", "allow-sleep-to-httpbin", "medium"),
        ("AMB001", "AuthorizationPolicy", "ambient-demo", "deny-admin-path", "medium"),
    },
    # getting started before its last step: the ztunnel policy refuses the waypoint
    "ambient/getting-started-l4-not-updated.yaml": DOC_DEFAULTS
    | _egress("default")
    | {
        ("AMB004", "AuthorizationPolicy", "default", "productpage-ztunnel", "medium"),
        ("AMB005", "Deployment", "default", "curl", "info"),
    }
    | _plaintext_denied("default", "productpage-v1")
    | WAYPOINT_IMAGE,
    # ... and after it (the membership fixture follows the doc's end state)
    "membership/ambient-bookinfo.yaml": DOC_DEFAULTS
    | _egress("default")
    | {("AMB005", "Deployment", "default", "curl", "info")}
    | _plaintext_denied("default", "productpage-v1")
    | WAYPOINT_IMAGE,
    # a selector policy with an HTTP rule where a waypoint is in the path: ztunnel, not the
    # waypoint, enforces it (AMB004, not AMB001)
    "ambient/selector-http-rule-behind-waypoint.yaml": DOC_DEFAULTS
    | _egress("ambient-demo")
    | {("AMB004", "AuthorizationPolicy", "ambient-demo", "allow-sleep-to-httpbin", "medium")},
    # the getting-started route (and a VirtualService) with no waypoint deployed: not applied;
    # the doc's authorization step is skipped, so no policy exists (AUTHZ006 on the mesh)
    "ambient/route-without-waypoint.yaml": DOC_DEFAULTS
    | _egress("default")
    | {
        ("AMB006", "HTTPRoute", "default", "reviews", "low"),
        ("AMB006", "VirtualService", "default", "ratings", "low"),
        ("AUTHZ006", "Namespace", "", "istio-system", "medium"),
    },
    # sidecar capture annotations on an ambient pod open nothing: no BYP005 (was high)
    "ambient/capture-annotation-ignored.yaml": DOC_DEFAULTS
    | _egress("ambient-demo")
    | _plaintext_denied("ambient-demo", "httpbin"),
    # a Sidecar resource selecting an ambient Deployment (IST0167), judged by mesh_status
    "ambient/sidecar-resource.yaml": DOC_DEFAULTS
    | _egress("ambient-demo")
    | {("CFG008", "Sidecar", "ambient-demo", "httpbin-egress", "low")}
    | _plaintext_denied("ambient-demo", "httpbin"),
    # the ext-authz task's CUSTOM policy with a selector on an ambient workload: ztunnel
    # refuses CUSTOM, so nothing is enforced (and AUTHZ006 sees the namespace unprotected)
    "ambient/ext-authz-selector.yaml": {
        ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
        ("MTLS001", "Namespace", "", "istio-system", "medium"),
        ("AMB007", "AuthorizationPolicy", "foo", "ext-authz", "high"),
        ("AUTHZ006", "Namespace", "", "foo", "medium"),
    }
    | _egress("foo"),
    # labels Istio does not honour; the namespace `other` has no policy of its own (AUTHZ006),
    # `frontend` is covered by its policy on the cross-namespace waypoint
    "ambient/waypoint-misbound.yaml": DOC_DEFAULTS
    | _egress("bookinfo", "frontend", "other")
    | {
        ("AMB002", "AuthorizationPolicy", "bookinfo", "deny-delete", "high"),
        ("AMB002", "AuthorizationPolicy", "bookinfo", "ratings-viewer", "high"),
        ("AMB003", "Deployment", "bookinfo", "reviews-v2", "medium"),
        ("AMB003", "Namespace", "", "other", "medium"),
        ("AMB003", "Service", "bookinfo", "details", "medium"),
        ("AMB003", "Service", "bookinfo", "ratings", "medium"),
        ("AUTHZ006", "Namespace", "", "other", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES_EXPECTED))
def test_ambient_case_findings(case: str) -> None:
    assert findings(case, ("",)) == CASES_EXPECTED[case]


def test_ambient_egress_doc_has_no_waypoint_finding() -> None:
    # Istio's ambient egress gateway task: the L7 policy targets the ServiceEntry that the
    # namespace waypoint serves (the egress family's findings are asserted in
    # test_checks_egress_paths)
    assert findings("egress/ambient-egress-waypoint.yaml", ("AMB", "AUTHZ")) == set()


def _messages(case: str, check: str) -> list[str]:
    return sorted(f["message"] for f in report_for(case)["findings"] if f["check"] == check)


def test_messages_say_what_ztunnel_does() -> None:
    allow, deny = _messages("ambient/l4-policy-http-rules.yaml", "AMB001")
    assert "allows nothing and every connection to them is refused" in allow
    assert "rules[0].to[0].operation.methods" in allow
    assert "enforces a DENY rule without its HTTP attributes" in deny
    (behind,) = _messages("ambient/getting-started-l4-not-updated.yaml", "AMB004")
    assert "does not allow cluster.local/ns/default/sa/waypoint" in behind
    reasons = _messages("ambient/waypoint-misbound.yaml", "AMB003")
    assert any("admits only namespaces 'Same'" in m for m in reasons)
    assert any("is for 'workload' traffic" in m for m in reasons)
    assert any("no waypoint Gateway bookinfo/ratings-waypoint" in m for m in reasons)


def test_ambient_messages_never_speak_of_sidecars() -> None:
    for case in CASES_EXPECTED:
        for f in report_for(case)["findings"]:
            if f["check"] == "CFG008":
                continue  # names the Sidecar resource it reports
            assert "sidecar" not in f["message"].lower(), (case, f["check"], f["message"])


def test_waypoint_in_path_per_workload() -> None:
    index = MeshIndex(load_paths([str(CASES / "ambient/waypoint-usage.yaml")]))
    paths = {
        f"{w.obj.kind} {w.obj.name}": sorted(
            f"{how} -> {wp.key}" for how, wp in waypoint_map(index).in_path(w)
        )
        for w in index.workloads
        if index.mesh_status(w).mode == "ambient"
    }
    assert paths == {
        "Deployment productpage-v1": ["Service default/productpage -> default/waypoint"],
        "Deployment reviews-v1": [
            "Service default/reviews -> default/reviews-svc-waypoint",
            "Service default/reviews-v1 -> default/waypoint",
        ],
        "Deployment reviews-v2": [
            "Service default/reviews -> default/reviews-svc-waypoint",
            "Service default/reviews-v2 -> default/waypoint",
        ],
        # the labelled pod: its pod IPs go through the workload waypoint
        "Pod reviews-v2-5b667bcbf8-spnnh": [
            "Service default/reviews -> default/reviews-svc-waypoint",
            "Service default/reviews-v2 -> default/waypoint",
            "its pod IPs -> default/reviews-v2-pod-waypoint",
        ],
    }
    assert waypoint_map(index).services_of("default", "waypoint") == (
        "productpage",
        "reviews-v1",
        "reviews-v2",
    )
    assert waypoint_map(index).services_of("default", "reviews-svc-waypoint") == ("reviews",)


# ---- auditor/istio/waypoint.py, against istiod's waypoints.go and authorization.go -----------


def _wp(ns: str, name: str, traffic: str = "service", from_ns: str = "Same") -> WP.Waypoint:
    return WP.Waypoint(
        namespace=ns,
        name=name,
        traffic_type=traffic,
        from_namespaces=from_ns,
        namespace_selector={},
    )


WAYPOINTS = {
    ("shop", "waypoint"): _wp("shop", "waypoint"),
    ("shop", "pods"): _wp("shop", "pods", "workload"),
    ("shop", "both"): _wp("shop", "both", "all"),
    ("mesh", "shared"): _wp("mesh", "shared", "service", "All"),
}
NS = {"istio.io/use-waypoint": "waypoint"}


@pytest.mark.parametrize(
    ("traffic", "labels", "ns_labels", "expected"),
    [
        # no label anywhere: no waypoint
        ("service", {}, {}, (None, "", "")),
        # the namespace's label applies to services
        ("service", {}, NS, ("shop/waypoint", "Namespace", "")),
        # ... and is not used for pod IPs when it takes only service traffic (the default)
        ("workload", {}, NS, ("shop/waypoint", "Namespace", "traffic-type")),
        # `none` on the object opts out, whatever the namespace says
        ("service", {"istio.io/use-waypoint": "none"}, NS, (None, "Service", "")),
        # the object's own label wins; a missing waypoint does not fall back to the namespace's
        ("service", {"istio.io/use-waypoint": "gone"}, NS, (None, "Service", "missing")),
        (
            "service",
            {"istio.io/use-waypoint": "pods"},
            NS,
            ("shop/pods", "Service", "traffic-type"),
        ),
        ("workload", {"istio.io/use-waypoint": "pods"}, {}, ("shop/pods", "Service", "")),
        ("workload", {"istio.io/use-waypoint": "both"}, {}, ("shop/both", "Service", "")),
        # another namespace: named with use-waypoint-namespace, admitted by allowedRoutes
        (
            "service",
            {"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "mesh"},
            {},
            ("mesh/shared", "Service", ""),
        ),
        (
            "service",
            {},
            {"istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-namespace": "shop"},
            ("shop/waypoint", "Namespace", ""),
        ),
        # a waypoint's own Service has none
        (
            "service",
            {"gateway.istio.io/managed": "istio.io-mesh-controller"},
            NS,
            (None, "", ""),
        ),
    ],
)
def test_bind(
    traffic: str,
    labels: dict[str, str],
    ns_labels: dict[str, str],
    expected: tuple[str | None, str, str],
) -> None:
    binding = WP.bind(traffic, "Service", "shop", labels, ns_labels, WAYPOINTS)
    key = binding.waypoint.key if binding.waypoint else None
    assert (key, binding.label_on, binding.problem) == expected


def test_bind_refuses_a_waypoint_that_does_not_admit_the_namespace() -> None:
    binding = WP.bind(
        "service",
        "Service",
        "web",
        {},
        {"istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-namespace": "shop"},
        WAYPOINTS,
    )
    assert binding.problem == "not-admitted"
    assert WP.binding_in_use(binding) is None


@pytest.mark.parametrize(
    ("labels", "spec", "class_labels", "expected"),
    [
        # the default traffic type is service, and the listener admits its own namespace
        ({}, {"listeners": [{"port": 15008, "protocol": "HBONE"}]}, None, ("service", "Same")),
        # the GatewayClass label sets the default, the Gateway's own label wins
        ({}, {}, {"istio.io/waypoint-for": "all"}, ("all", "Same")),
        (
            {"istio.io/waypoint-for": "workload"},
            {},
            {"istio.io/waypoint-for": "all"},
            ("workload", "Same"),
        ),
        (
            {},
            {
                "listeners": [
                    {
                        "port": 80,
                        "protocol": "HTTP",
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    },
                    {
                        "port": 15008,
                        "protocol": "HBONE",
                        "allowedRoutes": {
                            "namespaces": {
                                "from": "Selector",
                                "selector": {"matchLabels": {"mesh": "on"}},
                            }
                        },
                    },
                ]
            },
            None,
            ("service", "Selector"),
        ),
    ],
)
def test_waypoint_from_gateway(
    labels: dict[str, str],
    spec: dict[str, Any],
    class_labels: dict[str, str] | None,
    expected: tuple[str, str],
) -> None:
    wp = WP.waypoint_from_gateway("shop", "waypoint", labels, spec, class_labels)
    assert (wp.traffic_type, wp.from_namespaces) == expected


def test_selector_admission() -> None:
    spec = {
        "listeners": [
            {
                "port": 15008,
                "protocol": "HBONE",
                "allowedRoutes": {
                    "namespaces": {"from": "Selector", "selector": {"matchLabels": {"mesh": "on"}}}
                },
            }
        ]
    }
    wp = WP.waypoint_from_gateway("shop", "waypoint", {}, spec)
    assert wp.admits("web", {"mesh": "on"})
    assert not wp.admits("web", {"mesh": "off"})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # L4 only: principals, namespaces, ipBlocks, ports, L4 `when` keys
        (
            {
                "from": [
                    {
                        "source": {
                            "principals": ["a"],
                            "namespaces": ["b"],
                            "ipBlocks": ["10.0.0.0/8"],
                        }
                    }
                ],
                "to": [{"operation": {"ports": ["8080"]}}],
                "when": [{"key": "source.ip", "values": ["10.0.0.1"]}],
            },
            [],
        ),
        (
            {"to": [{"operation": {"methods": ["GET"], "paths": ["/x"]}}]},
            ["to[0].operation.methods", "to[0].operation.paths"],
        ),
        (
            {"to": [{"operation": {"hosts": ["a"], "notHosts": ["b"]}}]},
            ["to[0].operation.hosts", "to[0].operation.notHosts"],
        ),
        (
            {"from": [{"source": {"requestPrincipals": ["*"]}}]},
            ["from[0].source.requestPrincipals"],
        ),
        (
            {"from": [{"source": {"remoteIpBlocks": ["1.2.3.4"]}}]},
            ["from[0].source.remoteIpBlocks"],
        ),
        (
            {"when": [{"key": "request.headers[x]", "values": ["y"]}]},
            ["when[0] request.headers[x]"],
        ),
    ],
)
def test_http_attributes(rule: dict[str, Any], expected: list[str]) -> None:
    assert WP.http_attributes(rule) == expected


def test_ztunnel_view() -> None:
    l4 = {"from": [{"source": {"principals": ["a"]}}]}
    l7 = {"to": [{"operation": {"methods": ["GET"]}}]}
    assert WP.ztunnel_view("ALLOW", (l4, l7)).allows_nothing is False
    assert WP.ztunnel_view("ALLOW", (l7,)).allows_nothing is True
    view = WP.ztunnel_view("DENY", (l4, l7))
    assert (view.l7_rules, view.attributes, view.allows_nothing) == (
        (1,),
        ("rules[1].to[0].operation.methods",),
        False,
    )


@pytest.mark.parametrize(
    ("rule", "admitted"),
    [
        ({"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/waypoint"]}}]}, True),
        ({"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/*"]}}]}, True),
        ({"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/gateway"]}}]}, False),
        ({"from": [{"source": {"namespaces": ["shop"]}}]}, True),
        ({"from": [{"source": {"serviceAccounts": ["waypoint"]}}]}, True),
        ({"from": [{"source": {"serviceAccounts": ["other/waypoint"]}}]}, False),
        (
            {"from": [{"source": {"namespaces": ["shop"], "notPrincipals": ["*/sa/waypoint"]}}]},
            False,
        ),
        # a rule with HTTP attributes matches nothing at ztunnel
        (
            {
                "from": [{"source": {"namespaces": ["shop"]}}],
                "to": [{"operation": {"methods": ["GET"]}}],
            },
            False,
        ),
        ({"to": [{"operation": {"ports": ["9080"]}}]}, True),
    ],
)
def test_admits_identity(rule: dict[str, Any], admitted: bool) -> None:
    assert WP.admits_identity((rule,), "shop", "shop", "waypoint", "cluster.local") is admitted


def _access(case: str) -> dict[str, tuple[str, list[tuple[str, str, bool]]]]:
    return {
        e["workload"]["name"]: (
            e["default"],
            [(p["name"], p["action"], p["enforced"]) for p in e["policies"]],
        )
        for e in report_for(case)["authorization"]
        if e["mode"] == "ambient"
    }


def test_access_model_follows_ztunnel_for_ambient_workloads() -> None:
    # the ALLOW rule with a method is dropped (the policy allows nobody) and the DENY on paths
    # is enforced without them (it refuses every connection): ztunnel, not an Envoy proxy
    assert _access("ambient/l4-policy-http-rules.yaml") == {
        "httpbin": (
            "deny-all",
            [("deny-admin-path", "DENY", True), ("allow-sleep-to-httpbin", "ALLOW", True)],
        ),
        "sleep": ("deny-all", [("deny-admin-path", "DENY", True)]),
    }
    # the L4 policy keeps its caller
    assert _access("ambient/l4-policy.yaml") == {
        "httpbin": ("restricted", [("allow-sleep-to-httpbin", "ALLOW", True)]),
        "sleep": ("allow-all", []),
    }
    # CUSTOM is not enforced by ztunnel
    assert _access("ambient/ext-authz-selector.yaml") == {
        "httpbin": ("allow-all", [("ext-authz", "CUSTOM", False)]),
    }

"""Findings with their context, and the gaps of issue 29 (items 6 and 7): severity of membership
findings from who reaches the workload and what it escapes, one mesh-level finding where no egress
gateway exists, the token bypass named once, workloads no policy can reach behind a gateway, a
running pod taken out of ambient, and pods listening on the node's network. Each case is a fixture
modelled on a public source (its header names it); the sets are exact for the families named."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings, report_for

MESH_EGRESS = ("BYP004", "Namespace", "", "istio-system", "medium")

CASES: dict[str, tuple[tuple[str, ...], set[Finding]]] = {
    # cert-manager and a CronJob kept out on purpose: nothing routes to them, and the mesh
    # enforces no egress they could go around (low); `reports` is served by the public gateway
    # while outside the mesh (medium for its namespace, AUTHZ016 high: no policy can apply)
    "bypass/deliberately-outside.yaml": (
        ("BYP", "AUTHZ016"),
        {
            MESH_EGRESS,
            ("BYP006", "CronJob", "shop", "hello", "low"),
            ("BYP009", "Namespace", "", "cert-manager", "low"),
            ("BYP009", "Namespace", "", "reporting", "medium"),
            ("AUTHZ016", "Deployment", "reporting", "reports", "high"),
        },
    ),
    # a classic Gateway and a Gateway API Gateway both named istio-system/public: `reports` is
    # served through the Gateway API one, whose pods no policy restricts (high); the classic
    # gateway's IP allow-list guards other pods (was judged by it: medium)
    "authz/same-name-gateways.yaml": (
        ("AUTHZ",),
        {("AUTHZ016", "Deployment", "reporting", "reports", "high")},
    ),
    # the header rule is the bypass, named once (AUTHZ007); AUTHZ010 does not repeat it
    "authz/jwt-header-bypass.yaml": (
        ("AUTHZ",),
        {("AUTHZ007", "AuthorizationPolicy", "foo", "internal-header", "medium")},
    ),
    # a namespace rule without a token is no client-controlled bypass: AUTHZ010 names it
    "authz/jwt-namespace-rule.yaml": (
        ("AUTHZ",),
        {("AUTHZ010", "RequestAuthentication", "foo", "jwt-example", "medium")},
    ),
    # the running pod labelled out of ambient by hand gets its own finding (informational:
    # nothing routes to it and the mesh enforces no egress)
    "ambient/pod-opt-out.yaml": (
        ("AMB", "BYP"),
        {
            ("AMB005", "Pod", "default", "curl-7c5b6f9d4f-2lqkz", "info"),
            MESH_EGRESS,
        },
    ),
    # on the host network every declared container port is the node's: GW008 as for hostPort;
    # its egress is BYP007's alone (no NetworkPolicy selects it, it can never be injected: no
    # BYP004 or BYP009 for the same fact)
    "entrypoints/host-network.yaml": (
        ("GW008", "BYP"),
        {
            ("GW008", "DaemonSet", "ingress-nginx", "ingress-nginx-controller", "medium"),
            ("BYP007", "DaemonSet", "ingress-nginx", "ingress-nginx-controller", "medium"),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exact_findings(case: str) -> None:
    prefixes, expected = CASES[case]
    assert findings(case, prefixes) == expected


def _only(case: str, check: str) -> dict:
    (found,) = [f for f in report_for(case)["findings"] if f["check"] == check]
    return dict(found)


def test_mesh_level_egress_lists_the_namespaces() -> None:
    found = _only("bypass/deliberately-outside.yaml", "BYP004")
    assert found["message"] == (
        "The mesh has no egress gateway and 3 namespace(s) have no NetworkPolicy containing "
        "egress (cert-manager, reporting, shop): egress is enforced nowhere outside the proxies, "
        "and their pods can connect to the internet directly"
    )
    assert found["evidence"]["namespaces"] == {
        "cert-manager": [
            "Deployment cert-manager",
            "Deployment cert-manager-cainjector",
            "Deployment cert-manager-webhook",
        ],
        "reporting": ["Deployment reports"],
        "shop": ["CronJob hello"],
    }


def test_reach_is_the_evidence_of_severity() -> None:
    data = report_for("bypass/deliberately-outside.yaml")
    byp009 = {
        f["resource"]["name"]: f["evidence"] for f in data["findings"] if f["check"] == "BYP009"
    }
    assert byp009["reporting"]["reached_by"] == [
        "VirtualService reporting/reports",
        "entry point Gateway istio-system/reports-gateway",
    ]
    assert byp009["cert-manager"]["reached_by"] == []
    assert not byp009["cert-manager"]["escapes_egress_control"]
    authz = _only("bypass/deliberately-outside.yaml", "AUTHZ016")
    assert authz["path"] == "spec.template.metadata.labels"
    assert authz["evidence"] == {
        "entry_points": ["Gateway istio-system/reports-gateway reports.example.com:443"],
        "outside_because": "namespace not labelled for injection",
    }


def test_token_message_names_the_rule_without_a_token() -> None:
    found = _only("authz/jwt-namespace-rule.yaml", "AUTHZ010")
    assert found["message"] == (
        "RequestAuthentication foo/jwt-example validates tokens on Deployment foo/httpbin, but "
        "ALLOW rule(s) foo/allow-same-namespace spec.rules[0] admit requests without one, ORed "
        "with the rules that require it: requests without a token are accepted"
    )
    assert found["evidence"]["rules_without_token"] == ["foo/allow-same-namespace spec.rules[0]"]


def test_host_network_finding_points_at_the_field() -> None:
    found = _only("entrypoints/host-network.yaml", "GW008")
    assert found["path"] == "spec.template.spec.hostNetwork"
    assert found["evidence"] == {
        "host_ports": ["80/HTTP", "443/HTTPS", "8443/UNKNOWN"],
        "host_network": True,
    }

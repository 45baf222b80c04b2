"""Table tests for the Istio/Kubernetes semantics behind the egress, bypass and mTLS checks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from auditor.istio import injection as inj
from auditor.istio.mtls import PeerAuthIndex, client_tls_modes
from auditor.istio.netpol import egress_posture, open_rule, policy_types
from auditor.istio.refs import GatewayRef, lookup_scopes
from auditor.istio.selectors import label_selector_matches
from auditor.mesh.egress_routing import over_broad_host, rule_applies


@pytest.mark.parametrize(
    ("labels", "by_default", "mode"),
    [
        ({"istio-injection": "enabled"}, False, "sidecar"),
        ({"istio-injection": "disabled"}, False, "disabled"),
        ({"istio-injection": "disabled"}, True, "disabled"),
        ({"istio.io/rev": "canary"}, False, "sidecar"),
        ({"istio-injection": "disabled", "istio.io/rev": "canary"}, False, "disabled"),
        ({"istio.io/dataplane-mode": "ambient"}, False, "ambient"),
        ({"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"}, False, "sidecar"),
        ({}, False, "unlabelled"),
        ({}, True, "sidecar"),
    ],
)
def test_namespace_mode(labels: dict[str, str], by_default: bool, mode: str) -> None:
    assert inj.namespace_mode(labels, by_default) == mode


@pytest.mark.parametrize(
    ("labels", "annotations", "spec", "ns", "in_mesh", "reason"),
    [
        ({}, {}, {"containers": [{"name": "istio-proxy", "image": "p"}]}, {}, True, ""),
        ({}, {}, {"hostNetwork": True}, {"istio-injection": "enabled"}, False, "hostNetwork"),
        (
            {"sidecar.istio.io/inject": "false"},
            {"sidecar.istio.io/inject": "true"},
            {},
            {"istio-injection": "enabled"},
            False,
            "label sidecar.istio.io/inject='false'",
        ),
        ({"sidecar.istio.io/inject": "true"}, {}, {}, {}, True, ""),
        ({}, {"sidecar.istio.io/inject": "false"}, {}, {"istio-injection": "enabled"}, False, ""),
        ({}, {}, {}, {"istio.io/rev": "stable"}, True, ""),
        ({}, {"ambient.istio.io/redirection": "enabled"}, {}, {}, True, ""),
        ({}, {}, {}, {}, False, "namespace not labelled for injection"),
        ({}, {}, {}, {"istio-injection": "disabled"}, False, "namespace label"),
    ],
)
def test_mesh_status(
    labels: dict[str, str],
    annotations: dict[str, str],
    spec: dict[str, Any],
    ns: dict[str, str],
    in_mesh: bool,
    reason: str,
) -> None:
    status = inj.mesh_status(labels, annotations, spec, ns)
    assert status.in_mesh is in_mesh
    assert reason in status.reason


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, {}),
        ({inj.INCLUDE_IPS: "*"}, {}),
        ({inj.INCLUDE_IPS: "10.0.0.0/8"}, {inj.INCLUDE_IPS: "10.0.0.0/8"}),
        ({inj.EXCLUDE_IPS: "1.2.3.4/32"}, {inj.EXCLUDE_IPS: "1.2.3.4/32"}),
        ({inj.EXCLUDE_PORTS: "443, 8443"}, {inj.EXCLUDE_PORTS: "443, 8443"}),
        ({inj.EXCLUDE_IPS: ""}, {}),
    ],
)
def test_capture_exclusions(annotations: dict[str, str], expected: dict[str, str]) -> None:
    assert inj.capture_exclusions(annotations) == expected


def test_proxy_uid_ignores_the_proxy_container() -> None:
    proxy = {"name": "istio-proxy", "securityContext": {"runAsUser": 1337}}
    app = {"name": "app", "securityContext": {"runAsUser": 1337}}
    assert inj.runs_as_proxy_uid({"containers": [proxy]}) == ""
    assert inj.runs_as_proxy_uid({"containers": [proxy, app]}) == (
        "containers[1].securityContext.runAsUser"
    )
    assert inj.runs_as_proxy_uid({"securityContext": {"runAsUser": 1337}}) == (
        "securityContext.runAsUser"
    )


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({}, {"Ingress"}),
        ({"egress": [{}]}, {"Ingress", "Egress"}),
        ({"policyTypes": ["Egress"]}, {"Egress"}),
    ],
)
def test_policy_types_default(spec: dict[str, Any], types: set[str]) -> None:
    assert policy_types(spec) == types


@pytest.mark.parametrize(
    ("rule", "opens"),
    [
        ({}, True),
        ({"ports": [{"port": 53, "protocol": "UDP"}]}, False),
        ({"ports": [{"port": 443}]}, True),
        ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}, True),
        ({"to": [{"ipBlock": {"cidr": "::/0"}}]}, True),
        ({"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}, False),
        ({"to": [{"namespaceSelector": {"matchLabels": {"a": "b"}}}]}, False),
        ({"to": [{}]}, True),
    ],
)
def test_open_rule(rule: dict[str, Any], opens: bool) -> None:
    assert bool(open_rule(rule)) is opens


def test_label_selector_expressions() -> None:
    sel = {
        "matchLabels": {"app": "a"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert label_selector_matches(sel, {"app": "a", "tier": "web"})
    assert not label_selector_matches(sel, {"app": "a", "tier": "db"})
    assert not label_selector_matches(sel, {"app": "a", "tier": "web", "legacy": "1"})
    assert label_selector_matches({}, {"anything": "x"})


def _obj(name: str, spec: dict[str, Any], namespace: str = "shop") -> Any:
    return SimpleNamespace(name=name, namespace=namespace, spec=spec)


def test_egress_posture_adds_up_policies() -> None:
    restrict = _obj("r", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{}]}]})
    ingress = _obj("i", {"podSelector": {}})
    assert not egress_posture([ingress], {"app": "x"}).restricted
    posture = egress_posture([restrict], {"app": "x"})
    assert posture.restricted and not posture.contained


def test_peer_authentication_precedence() -> None:
    mesh = _obj("default", {"mtls": {"mode": "STRICT"}}, "istio-system")
    ns = _obj("default", {"mtls": {"mode": "PERMISSIVE"}}, "legacy")
    unset = _obj("w", {"selector": {"matchLabels": {"app": "a"}}, "mtls": {"mode": "UNSET"}})
    index = PeerAuthIndex([mesh, ns, unset], "istio-system")
    assert index.mesh_mode().mode == "STRICT"
    assert index.effective("legacy", {}).mode == "PERMISSIVE"
    assert index.effective("shop", {"app": "a"}).mode == "STRICT"  # UNSET inherits
    assert PeerAuthIndex([], "istio-system").effective("shop", {}).mode == "PERMISSIVE"


def test_client_tls_modes_covers_ports_and_subsets() -> None:
    spec = {
        "trafficPolicy": {
            "tls": {"mode": "ISTIO_MUTUAL"},
            "portLevelSettings": [{"port": {"number": 80}, "tls": {"mode": "simple"}}],
        },
        "subsets": [{"name": "v1", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}],
    }
    assert client_tls_modes(spec) == [
        ("spec.trafficPolicy.tls.mode", "ISTIO_MUTUAL", None),
        ("spec.trafficPolicy.portLevelSettings[0].tls.mode", "SIMPLE", 80),
        ("spec.subsets[0].trafficPolicy.tls.mode", "DISABLE", None),
    ]


@pytest.mark.parametrize(
    ("rule", "target", "port", "applies"),
    [
        ({}, None, 80, True),
        ({"match": [{"gateways": ["mesh"], "port": 80}]}, None, 80, True),
        ({"match": [{"gateways": ["mesh"], "port": 80}]}, None, 443, False),
        ({"match": [{"gateways": ["istio-system/egress"]}]}, None, 80, False),
        (
            {"match": [{"gateways": ["istio-system/egress"]}]},
            GatewayRef("istio-system", "egress"),
            80,
            True,
        ),
        ({"match": [{"gateways": ["egress"]}]}, GatewayRef("apps", "egress"), 80, True),
        ({"match": [{"port": 80}]}, GatewayRef("apps", "egress"), 80, True),
    ],
)
def test_rule_applies(
    rule: dict[str, Any], target: GatewayRef | None, port: int, applies: bool
) -> None:
    assert rule_applies(rule, "apps", target, port) is applies


@pytest.mark.parametrize(
    ("host", "broad"),
    [("*", True), ("*.com", True), ("*.example.com", False), ("api.example.com", False)],
)
def test_over_broad_host(host: str, broad: bool) -> None:
    assert over_broad_host(host) is broad


@pytest.mark.parametrize(
    ("export_to", "scopes"),
    [(None, ("hello",)), (["."], ("hello",)), (["*"], ("*",)), (["a", "."], ("a", "hello"))],
)
def test_lookup_scopes(export_to: list[str] | None, scopes: tuple[str, ...]) -> None:
    assert lookup_scopes(export_to, "hello") == scopes

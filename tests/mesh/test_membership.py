"""Mesh membership from evidence (auditor/istio/injection.py mesh_status), table-tested.

Ground truth: Istio's injector (pkg/kube/inject/inject.go injectRequired; the webhook selectors
in manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml), istioctl's
pkg/config/analysis/analyzers/util/in_mesh.go, and ambient enrolment in
cni/pkg/util/podutil.go PodRedirectionEnabled.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.istio import injection as inj

PROXY = {"containers": [{"name": "app", "image": "a"}, {"name": "istio-proxy", "image": "p"}]}
NATIVE = {
    "initContainers": [{"name": "istio-proxy", "image": "p", "restartPolicy": "Always"}],
    "containers": [{"name": "app", "image": "a"}],
}
PLAIN = {"containers": [{"name": "app", "image": "a"}]}
STATUS = {"sidecar.istio.io/status": '{"containers":["istio-proxy"],"revision":"canary"}'}

# Istio's chart for revision "canary" and its tag "prod" (istioctl tag set prod --revision canary)
CANARY_HOOKS = inj.injector_webhooks(
    [
        (
            "istio-sidecar-injector-canary",
            {
                "webhooks": [
                    {
                        "name": "rev.namespace.sidecar-injector.istio.io",
                        "clientConfig": {"service": {"path": "/inject/cluster/c/net/"}},
                        "namespaceSelector": {
                            "matchExpressions": [
                                {"key": "istio.io/rev", "operator": "In", "values": ["canary"]},
                                {"key": "istio-injection", "operator": "DoesNotExist"},
                            ]
                        },
                        "objectSelector": {
                            "matchExpressions": [
                                {
                                    "key": "sidecar.istio.io/inject",
                                    "operator": "NotIn",
                                    "values": ["false"],
                                }
                            ]
                        },
                    }
                ]
            },
        ),
        (
            "istio-revision-tag-prod",
            {
                "webhooks": [
                    {
                        "name": "rev.namespace.sidecar-injector.istio.io",
                        "clientConfig": {"service": {"path": "/inject"}},
                        "namespaceSelector": {
                            "matchExpressions": [
                                {"key": "istio.io/rev", "operator": "In", "values": ["prod"]},
                                {"key": "istio-injection", "operator": "DoesNotExist"},
                            ]
                        },
                    }
                ]
            },
        ),
        ("cert-manager-webhook", {"webhooks": [{"name": "webhook.cert-manager.io"}]}),
    ]
)


@pytest.mark.parametrize(
    ("labels", "annotations", "spec", "ns", "running", "membership", "decided_by", "evidence"),
    [
        # static injection (kube-inject, GitOps manifests) in an unlabelled namespace
        ({}, STATUS, PROXY, {}, False, "sidecar", "template", "container istio-proxy"),
        ({}, {}, NATIVE, {}, False, "sidecar", "template", "native sidecar"),
        ({}, STATUS, PLAIN, {}, True, "sidecar", "pod", "revision canary"),
        # an istio-proxy init container that is not a native sidecar does not count
        (
            {},
            {},
            {"initContainers": [{"name": "istio-proxy", "image": "p"}]},
            {},
            False,
            "none",
            "rules",
            "not labelled",
        ),
        # labels and the injector's rules
        ({}, {}, PLAIN, {"istio-injection": "enabled"}, False, "sidecar", "rules", "enabled"),
        (
            {},
            {"sidecar.istio.io/inject": "yes"},
            PLAIN,
            {"istio-injection": "enabled"},
            False,
            "sidecar",
            "rules",
            "istio-injection=enabled",
        ),
        (
            {"sidecar.istio.io/inject": "false"},
            {"sidecar.istio.io/inject": "true"},
            PLAIN,
            {"istio-injection": "enabled"},
            False,
            "none",
            "rules",
            "label sidecar.istio.io/inject",
        ),
        (
            {"sidecar.istio.io/inject": "true"},
            {},
            PLAIN,
            {},
            False,
            "sidecar",
            "rules",
            "pod label sidecar.istio.io/inject=true",
        ),
        # the annotation alone does not make the webhook call the injector in an unlabelled ns
        (
            {},
            {"sidecar.istio.io/inject": "true"},
            PLAIN,
            {},
            False,
            "none",
            "rules",
            "not labelled",
        ),
        (
            {},
            {},
            PLAIN,
            {"istio-injection": "disabled", "istio.io/rev": "canary"},
            False,
            "none",
            "rules",
            "istio-injection='disabled'",
        ),
        (
            {},
            {},
            {"hostNetwork": True, **PLAIN},
            {"istio-injection": "enabled"},
            False,
            "none",
            "rules",
            "hostNetwork",
        ),
        # ambient
        (
            {},
            {},
            PLAIN,
            {"istio.io/dataplane-mode": "ambient"},
            False,
            "ambient",
            "rules",
            "namespace label istio.io/dataplane-mode=ambient",
        ),
        (
            {"istio.io/dataplane-mode": "none"},
            {},
            PLAIN,
            {"istio.io/dataplane-mode": "ambient"},
            False,
            "none",
            "rules",
            "dataplane-mode=none",
        ),
        (
            {"istio.io/dataplane-mode": "ambient"},
            {},
            PLAIN,
            {},
            False,
            "ambient",
            "rules",
            "pod label",
        ),
        (
            {},
            {"ambient.istio.io/redirection": "enabled"},
            PLAIN,
            {},
            True,
            "ambient",
            "pod",
            "ztunnel enrolled",
        ),
        # sidecar injection wins over an ambient namespace label
        (
            {},
            {},
            PLAIN,
            {"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"},
            False,
            "sidecar",
            "rules",
            "istio-injection=enabled",
        ),
        # a pod that predates its namespace's label: outside, whatever the label says now
        (
            {},
            {},
            PLAIN,
            {"istio-injection": "enabled"},
            True,
            "none",
            "pod",
            "no istio-proxy container",
        ),
        # gateways, waypoints and Istio's own components
        ({"istio": "ingressgateway"}, {}, PROXY, {}, True, "gateway", "pod", "istio-proxy"),
        (
            {"gateway.istio.io/managed": "istio.io-mesh-controller"},
            {},
            PLAIN,
            {},
            False,
            "gateway",
            "rules",
            "waypoint pod",
        ),
        ({"app": "ztunnel"}, {}, PLAIN, {}, False, "none", "rules", "ztunnel pod"),
        ({"k8s-app": "istio-cni-node"}, {}, PLAIN, {}, False, "none", "rules", "cni pod"),
        ({"app": "istiod"}, {}, PLAIN, {}, False, "none", "rules", "control-plane pod"),
    ],
)
def test_membership(
    labels: dict[str, str],
    annotations: dict[str, str],
    spec: dict[str, Any],
    ns: dict[str, str],
    running: bool,
    membership: str,
    decided_by: str,
    evidence: str,
) -> None:
    status = inj.mesh_status(labels, annotations, spec, ns, namespace="shop", running=running)
    assert status.membership == membership
    assert status.in_mesh is (membership != "none")
    assert status.decided_by == decided_by
    assert any(evidence in e for e in status.evidence), status.evidence


@pytest.mark.parametrize(
    ("ns", "pod", "membership", "why"),
    [
        ({"istio.io/rev": "canary"}, {}, "sidecar", "istio-sidecar-injector-canary"),
        ({"istio.io/rev": "prod"}, {}, "sidecar", "istio-revision-tag-prod"),
        # a revision label naming no installed revision or tag injects nothing
        ({"istio.io/rev": "1-19"}, {}, "none", "names no installed revision"),
        # only the revision webhooks exist: istio-injection=enabled selects none of them
        ({"istio-injection": "enabled"}, {}, "none", "no injector webhook of the default"),
        ({"istio.io/rev": "canary"}, {"sidecar.istio.io/inject": "false"}, "none", "inject"),
    ],
)
def test_revisions_and_tags(
    ns: dict[str, str], pod: dict[str, str], membership: str, why: str
) -> None:
    injector = inj.Injector(webhooks=CANARY_HOOKS)
    status = inj.mesh_status(pod, {}, PLAIN, ns, namespace="shop", injector=injector)
    assert status.membership == membership
    assert why in (status.reason if status.reason else " ".join(status.evidence))


def test_injector_webhooks_ignore_other_webhooks() -> None:
    assert [h.config for h in CANARY_HOOKS] == [
        "istio-sidecar-injector-canary",
        "istio-revision-tag-prod",
    ]

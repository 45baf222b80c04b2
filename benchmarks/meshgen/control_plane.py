"""The control plane: the istio GatewayClass, system namespaces, the mesh config, istiod
and the admission webhooks its install leaves, the mesh-wide PeerAuthentication."""

from __future__ import annotations

from typing import Any

from .gen import Gen
from .model import FAKE_CERT, ISTIO_VERSION


def control_plane(g: Gen) -> None:
    g.add(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": g.meta("istio", None),
            "spec": {
                "controllerName": "istio.io/gateway-controller",
                "description": "The default Istio GatewayClass",
            },
            "status": {
                "conditions": [
                    {
                        "lastTransitionTime": g.ts(),
                        "message": "Handled by Istio controller",
                        "observedGeneration": 1,
                        "reason": "Accepted",
                        "status": "True",
                        "type": "Accepted",
                    }
                ]
            },
        }
    )
    for system_ns in ("istio-system", "istio-ingress", "istio-egress"):
        g.namespace(system_ns, {})
    mesh_yaml = (
        "accessLogFile: /dev/stdout\n"
        "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"
        "  tracing:\n    zipkin:\n      address: zipkin.istio-system:9411\n"
        "enablePrometheusMerge: true\n"
        "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
        "rootNamespace: istio-system\ntrustDomain: cluster.local\n"
    )
    g.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": g.meta(
                "istio",
                "istio-system",
                labels={"app": "istiod", "istio.io/rev": "default", "release": "istio"},
                generation=None,
            ),
            "data": {"mesh": mesh_yaml, "meshNetworks": "networks: {}"},
        }
    )
    pods = g.deployment(
        "istio-system",
        "istiod",
        pod_labels={
            "app": "istiod",
            "istio": "pilot",
            "istio.io/rev": "default",
            "sidecar.istio.io/inject": "false",
        },
        containers=[g.container("discovery", f"docker.io/istio/pilot:{ISTIO_VERSION}", 15010)],
        replicas=2,
        service_account="istiod",
        injected=False,
    )
    g.service(
        pods,
        "istio-system",
        "istiod",
        {"app": "istiod", "istio": "pilot"},
        [
            {"name": "grpc-xds", "port": 15010, "protocol": "TCP", "targetPort": 15010},
            {"name": "https-dns", "port": 15012, "protocol": "TCP", "targetPort": 15012},
            {"name": "https-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017},
        ],
    )
    istiod_webhooks(g)
    g.istio(
        "PeerAuthentication",
        "istio-system",
        "default",
        {"mtls": {"mode": "STRICT"}},
        group="security.istio.io",
    )


def _selector(*exprs: tuple[str, str, list[str] | None]) -> dict[str, Any]:
    return {
        "matchExpressions": [
            {"key": k, "operator": op, **({"values": v} if v is not None else {})}
            for k, op, v in exprs
        ]
    }


def istiod_webhooks(g: Gen) -> None:
    """The admission webhooks a default-revision `istioctl install` / istiod Helm chart leaves
    (istio/istio manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml
    and validatingwebhookconfiguration.yaml, 1.2x, as the API server returns them with its
    defaults): the sidecar injector's four webhooks (revision by namespace label, revision by
    pod label, `istio-injection=enabled`, `sidecar.istio.io/inject=true`) and the config
    validator, plus the default-revision validator. A handful per cluster, not per namespace."""
    client = {
        "caBundle": FAKE_CERT,
        "service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443},
    }
    not_false = ("sidecar.istio.io/inject", "NotIn", ["false"])
    injector = [
        (
            "rev.namespace.sidecar-injector.istio.io",
            _selector(
                ("istio.io/rev", "In", ["default"]), ("istio-injection", "DoesNotExist", None)
            ),
            _selector(not_false),
        ),
        (
            "rev.object.sidecar-injector.istio.io",
            _selector(
                ("istio.io/rev", "DoesNotExist", None), ("istio-injection", "DoesNotExist", None)
            ),
            _selector(not_false, ("istio.io/rev", "In", ["default"])),
        ),
        (
            "namespace.sidecar-injector.istio.io",
            _selector(("istio-injection", "In", ["enabled"])),
            _selector(not_false),
        ),
        (
            "object.sidecar-injector.istio.io",
            _selector(
                ("istio-injection", "DoesNotExist", None), ("istio.io/rev", "DoesNotExist", None)
            ),
            _selector(
                ("sidecar.istio.io/inject", "In", ["true"]), ("istio.io/rev", "DoesNotExist", None)
            ),
        ),
    ]
    labels = {
        "app": "sidecar-injector",
        "install.operator.istio.io/owning-resource": "unknown",
        "istio.io/rev": "default",
        "operator.istio.io/component": "Pilot",
        "release": "istio",
    }
    g.add(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": g.meta("istio-sidecar-injector", None, labels=labels, generation=3),
            "webhooks": [
                {
                    "admissionReviewVersions": ["v1beta1", "v1"],
                    "clientConfig": client,
                    "failurePolicy": "Fail",
                    "matchPolicy": "Equivalent",
                    "name": name,
                    "namespaceSelector": ns_sel,
                    "objectSelector": obj_sel,
                    "reinvocationPolicy": "Never",
                    "rules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["pods"],
                            "scope": "*",
                        }
                    ],
                    "sideEffects": "None",
                    "timeoutSeconds": 10,
                }
                for name, ns_sel, obj_sel in injector
            ],
        }
    )
    validate = {
        "caBundle": FAKE_CERT,
        "service": {
            "name": "istiod",
            "namespace": "istio-system",
            "path": "/validate",
            "port": 443,
        },
    }
    for config, hook, obj_sel in (
        (
            "istio-validator-istio-system",
            "rev.validation.istio.io",
            _selector(("istio.io/rev", "In", ["default"])),
        ),
        (
            "istiod-default-validator",
            "validation.istio.io",
            _selector(("istio.io/rev", "DoesNotExist", None)),
        ),
    ):
        g.add(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingWebhookConfiguration",
                "metadata": g.meta(
                    config,
                    None,
                    labels={"app": "istiod", "istio": "istiod", "istio.io/rev": "default"},
                    generation=2,
                ),
                "webhooks": [
                    {
                        "admissionReviewVersions": ["v1beta1", "v1"],
                        "clientConfig": validate,
                        "failurePolicy": "Ignore",
                        "matchPolicy": "Equivalent",
                        "name": hook,
                        "namespaceSelector": {},
                        "objectSelector": obj_sel,
                        "rules": [
                            {
                                "apiGroups": [
                                    "security.istio.io",
                                    "networking.istio.io",
                                    "telemetry.istio.io",
                                    "extensions.istio.io",
                                ],
                                "apiVersions": ["*"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["*"],
                                "scope": "*",
                            }
                        ],
                        "sideEffects": "None",
                        "timeoutSeconds": 10,
                    }
                ],
            }
        )

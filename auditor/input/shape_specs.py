"""The specs of every kind mesh-audit reads, in the shape language of
auditor/input/shape_lang.py: only
the fields checks read, so an object with a wrong type there is left out with a warning."""

from __future__ import annotations

from typing import Any

from auditor.input.shape_lang import INT_OR_STR, PORT, MapOf, Nullable

LABELS = MapOf(str)

# ---- specs for the fields checks read -------------------------------------------------------

_PORT_SELECTOR = {"number": PORT}
_TLS_SETTINGS = {
    "mode": str,
    "credentialName": str,
    "credentialNames": [str],
    "caCertificates": str,
    "subjectAltNames": [str],
    "insecureSkipVerify": bool,
    "sni": str,
    "clientCertificate": str,
    "privateKey": str,
    "caCrl": str,
}
_DESTINATION = {"host": str, "subset": str, "port": _PORT_SELECTOR}
_ROUTE_DEST = [{"destination": _DESTINATION, "weight": int}]
_L4_MATCH = [{"port": PORT, "gateways": [str], "sniHosts": [str], "destinationSubnets": [str]}]

GATEWAY = {
    "spec": {
        "selector": LABELS,
        "servers": [
            {
                "port": {"number": PORT, "protocol": str, "name": str, "targetPort": PORT},
                "hosts": [str],
                "bind": str,
                "name": str,
                "tls": {
                    "httpsRedirect": bool,
                    "mode": str,
                    "serverCertificate": str,
                    "privateKey": str,
                    "caCertificates": str,
                    "credentialName": str,
                    "credentialNames": [str],
                    "subjectAltNames": [str],
                    "minProtocolVersion": str,
                    "maxProtocolVersion": str,
                    "cipherSuites": [str],
                },
            }
        ],
    }
}

VIRTUAL_SERVICE = {
    "spec": {
        "hosts": [str],
        "gateways": [str],
        "exportTo": [str],
        "http": [
            {
                "name": str,
                "match": [
                    {
                        "gateways": [str],
                        "port": PORT,
                        "uri": MapOf(str),
                        "authority": MapOf(str),
                        "method": MapOf(str),
                        "headers": MapOf(MapOf(str)),
                    }
                ],
                "route": _ROUTE_DEST,
                "redirect": {"scheme": str, "port": PORT, "authority": str, "uri": str},
                "mirror": _DESTINATION,
                "mirrors": [{"destination": _DESTINATION}],
            }
        ],
        "tls": [{"match": _L4_MATCH, "route": _ROUTE_DEST}],
        "tcp": [{"match": _L4_MATCH, "route": _ROUTE_DEST}],
    }
}

_TRAFFIC_POLICY = {
    "tls": _TLS_SETTINGS,
    "portLevelSettings": [{"port": _PORT_SELECTOR, "tls": _TLS_SETTINGS}],
}

DESTINATION_RULE = {
    "spec": {
        "host": str,
        "exportTo": [str],
        "trafficPolicy": _TRAFFIC_POLICY,
        "subsets": [{"name": str, "labels": LABELS, "trafficPolicy": _TRAFFIC_POLICY}],
        "workloadSelector": {"matchLabels": LABELS},
    }
}

SERVICE_ENTRY = {
    "spec": {
        "hosts": [str],
        "addresses": [str],
        "ports": [{"number": PORT, "protocol": str, "name": str, "targetPort": PORT}],
        "location": str,
        "resolution": str,
        "exportTo": [str],
        "endpoints": [{"address": str, "ports": MapOf(PORT), "labels": LABELS}],
        "workloadSelector": {"labels": LABELS},
    },
    "status": {"addresses": [{"host": str, "value": str}]},
}

SIDECAR = {
    "spec": {
        "workloadSelector": {"labels": LABELS},
        "egress": [
            {"hosts": [str], "port": {"number": PORT, "protocol": str, "name": str}, "bind": str}
        ],
        "outboundTrafficPolicy": {"mode": str, "egressProxy": _DESTINATION},
    }
}

_SELECTOR = {"matchLabels": LABELS}
_TARGET_REF = {"group": str, "kind": str, "name": str, "namespace": str}

PEER_AUTHENTICATION = {
    "spec": {
        "selector": _SELECTOR,
        "mtls": {"mode": str},
        "portLevelMtls": MapOf({"mode": str}),
    }
}

AUTHORIZATION_POLICY = {
    "spec": {
        "selector": _SELECTOR,
        "targetRef": _TARGET_REF,
        "targetRefs": [_TARGET_REF],
        "action": str,
        "provider": {"name": str},
        "rules": [
            {
                "from": [{"source": MapOf([str])}],
                "to": [{"operation": MapOf([str])}],
                "when": [{"key": str, "values": [str], "notValues": [str]}],
            }
        ],
    }
}

REQUEST_AUTHENTICATION = {"spec": {"selector": _SELECTOR, "targetRefs": [_TARGET_REF]}}

WORKLOAD_ENTRY = {"spec": {"address": str, "labels": LABELS, "serviceAccount": str}}

_PARENT_REF = {
    "group": str,
    "kind": str,
    "namespace": str,
    "name": str,
    "sectionName": str,
    "port": PORT,
}
_BACKEND_REF = {"group": str, "kind": str, "namespace": str, "name": str, "port": PORT}
_ROUTE_COMMON = {"parentRefs": [_PARENT_REF], "hostnames": [str]}

GATEWAY_CLASS = {"spec": {"controllerName": str}}
K8S_GATEWAY = {
    "spec": {
        "gatewayClassName": str,
        "addresses": [{"type": str, "value": str}],
        "listeners": [
            {
                "name": str,
                "hostname": str,
                "port": PORT,
                "protocol": str,
                "tls": {
                    "mode": str,
                    "certificateRefs": [{"group": str, "kind": str, "name": str, "namespace": str}],
                    "options": MapOf(str),
                },
                "allowedRoutes": {
                    "namespaces": {
                        "from": str,
                        "selector": {
                            "matchLabels": LABELS,
                            "matchExpressions": [{"key": str, "operator": str, "values": [str]}],
                        },
                    },
                    "kinds": [{"group": str, "kind": str}],
                },
            }
        ],
    },
    "status": {"addresses": [{"type": str, "value": str}]},
}
HTTP_ROUTE = {
    "spec": {
        **_ROUTE_COMMON,
        "rules": [
            {
                "backendRefs": [_BACKEND_REF],
                "filters": [{"type": str, "requestRedirect": {"scheme": str, "port": PORT}}],
                "matches": [
                    {
                        "path": {"type": str, "value": str},
                        "method": str,
                        "headers": [{"name": str, "value": str, "type": str}],
                    }
                ],
            }
        ],
    }
}
L4_ROUTE = {"spec": {**_ROUTE_COMMON, "rules": [{"backendRefs": [_BACKEND_REF]}]}}
REFERENCE_GRANT = {
    "spec": {
        "from": [{"group": str, "kind": str, "namespace": str}],
        "to": [{"group": str, "kind": str, "name": str}],
    }
}

NAMESPACE = {"metadata": {"labels": LABELS}}
SERVICE = {
    "spec": {
        "type": str,
        "selector": LABELS,
        "clusterIP": str,
        "externalIPs": [str],
        "externalName": str,
        "loadBalancerIP": str,
        "loadBalancerClass": str,
        "loadBalancerSourceRanges": [str],
        "ports": [
            {
                "name": str,
                "port": PORT,
                "targetPort": INT_OR_STR,
                "nodePort": PORT,
                "protocol": str,
                "appProtocol": str,
            }
        ],
    },
    "status": {"loadBalancer": {"ingress": [{"ip": str, "hostname": str}]}},
}
_CONTAINER = {
    "name": str,
    "image": str,
    "args": [str],
    "ports": [{"containerPort": PORT, "hostPort": PORT, "name": str, "protocol": str}],
    "securityContext": {"runAsUser": int, "privileged": bool, "capabilities": {"add": [str]}},
    "env": [{"name": str}],
}
POD_SPEC = {
    "hostNetwork": bool,
    "serviceAccountName": str,
    "securityContext": {"runAsUser": int},
    "containers": [_CONTAINER],
    "initContainers": [_CONTAINER],
    "volumes": [{"name": str}],
}
_TEMPLATE_META = {"labels": LABELS, "annotations": LABELS}
WORKLOAD = {
    "spec": {
        "selector": {"matchLabels": LABELS},
        "template": {"metadata": _TEMPLATE_META, "spec": POD_SPEC},
    }
}
# batch/v1 CronJob: its pod template is one level further down, in the Job template
CRON_JOB = {"spec": {"jobTemplate": {"spec": {"template": WORKLOAD["spec"]["template"]}}}}
# argoproj.io/v1alpha1 Rollout: a Deployment's fields, or `workloadRef` naming a Deployment whose
# template it runs; the pod-template hashes of its current and stable ReplicaSets (status)
ROLLOUT = {
    "spec": {
        **WORKLOAD["spec"],
        "workloadRef": {"apiVersion": str, "kind": str, "name": str, "scaleDown": str},
    },
    "status": {"currentPodHash": str, "stableRS": str},
}
POD = {"spec": POD_SPEC}
_LABEL_SELECTOR = {
    "matchLabels": LABELS,
    "matchExpressions": [{"key": str, "operator": str, "values": [str]}],
}
NETWORK_POLICY = {
    "spec": {
        "podSelector": _LABEL_SELECTOR,
        "policyTypes": [str],
        "egress": [
            {
                "to": [
                    {
                        "ipBlock": {"cidr": str, "except": [str]},
                        "namespaceSelector": _LABEL_SELECTOR,
                        "podSelector": _LABEL_SELECTOR,
                    }
                ],
                "ports": [{"port": INT_OR_STR, "protocol": str, "endPort": PORT}],
            }
        ],
    }
}
_INGRESS_BACKEND = {
    "service": {"name": str, "port": {"number": int, "name": str}},
    "resource": {"apiGroup": str, "kind": str, "name": str},
}
INGRESS = {
    "spec": {
        "ingressClassName": str,
        "defaultBackend": _INGRESS_BACKEND,
        "tls": [{"hosts": [str], "secretName": str}],
        "rules": [
            {
                "host": str,
                "http": {"paths": [{"path": str, "pathType": str, "backend": _INGRESS_BACKEND}]},
            }
        ],
    },
    "status": {"loadBalancer": {"ingress": [{"ip": str, "hostname": str}]}},
}
# discovery.k8s.io/v1 EndpointSlice: what the egress model reads of selector-less Services
ENDPOINT_SLICE = {
    "addressType": str,
    "endpoints": Nullable(
        [
            {
                "addresses": [str],
                "conditions": {"ready": bool, "serving": bool, "terminating": bool},
                "targetRef": {"kind": str, "namespace": str, "name": str},
            }
        ]
    ),
    "ports": Nullable([{"name": str, "port": PORT, "protocol": str, "appProtocol": str}]),
}
# admissionregistration.k8s.io/v1 Mutating/ValidatingWebhookConfiguration: the injector's rules
# (membership) and the webhook ports the API server calls (mTLS)
WEBHOOK_CONFIGURATION = {
    "webhooks": [
        {
            "name": str,
            "clientConfig": {
                "url": str,
                "service": {"namespace": str, "name": str, "path": str, "port": PORT},
            },
            "namespaceSelector": _LABEL_SELECTOR,
            "objectSelector": _LABEL_SELECTOR,
        }
    ]
}
# v1 Endpoints (legacy): the addresses behind a selector-less Service when no EndpointSlice is in
# the input
ENDPOINTS = {
    "subsets": Nullable(
        [
            {
                "addresses": Nullable([{"ip": str, "hostname": str}]),
                "ports": Nullable([{"name": str, "port": PORT, "protocol": str}]),
            }
        ]
    )
}
CONFIG_MAP = {"data": MapOf(str)}
SECRET = {"type": str}

METADATA = {
    "metadata": {
        "name": str,
        "namespace": str,
        "labels": LABELS,
        "annotations": LABELS,
        "ownerReferences": [{"apiVersion": str, "kind": str, "name": str, "controller": bool}],
    },
}

SPECS: dict[tuple[str, str], Any] = {
    ("networking.istio.io", "Gateway"): GATEWAY,
    ("networking.istio.io", "VirtualService"): VIRTUAL_SERVICE,
    ("networking.istio.io", "DestinationRule"): DESTINATION_RULE,
    ("networking.istio.io", "ServiceEntry"): SERVICE_ENTRY,
    ("networking.istio.io", "Sidecar"): SIDECAR,
    ("networking.istio.io", "WorkloadEntry"): WORKLOAD_ENTRY,
    ("security.istio.io", "PeerAuthentication"): PEER_AUTHENTICATION,
    ("security.istio.io", "AuthorizationPolicy"): AUTHORIZATION_POLICY,
    ("security.istio.io", "RequestAuthentication"): REQUEST_AUTHENTICATION,
    ("gateway.networking.k8s.io", "GatewayClass"): GATEWAY_CLASS,
    ("gateway.networking.k8s.io", "Gateway"): K8S_GATEWAY,
    ("gateway.networking.k8s.io", "HTTPRoute"): HTTP_ROUTE,
    ("gateway.networking.k8s.io", "GRPCRoute"): HTTP_ROUTE,
    ("gateway.networking.k8s.io", "TLSRoute"): L4_ROUTE,
    ("gateway.networking.k8s.io", "TCPRoute"): L4_ROUTE,
    ("gateway.networking.k8s.io", "ReferenceGrant"): REFERENCE_GRANT,
    ("", "Namespace"): NAMESPACE,
    ("", "Service"): SERVICE,
    ("apps", "Deployment"): WORKLOAD,
    ("apps", "StatefulSet"): WORKLOAD,
    ("apps", "DaemonSet"): WORKLOAD,
    ("apps", "ReplicaSet"): WORKLOAD,
    ("batch", "Job"): WORKLOAD,
    ("batch", "CronJob"): CRON_JOB,
    ("argoproj.io", "Rollout"): ROLLOUT,
    ("", "Pod"): POD,
    ("", "Secret"): SECRET,
    ("networking.k8s.io", "NetworkPolicy"): NETWORK_POLICY,
    ("networking.k8s.io", "Ingress"): INGRESS,
    ("", "ConfigMap"): CONFIG_MAP,
    ("discovery.k8s.io", "EndpointSlice"): ENDPOINT_SLICE,
    ("", "Endpoints"): ENDPOINTS,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): WEBHOOK_CONFIGURATION,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): WEBHOOK_CONFIGURATION,
}

_SPEC_OPTIONAL = frozenset(
    {
        ("networking.istio.io", "Sidecar"),
        ("security.istio.io", "AuthorizationPolicy"),
        ("security.istio.io", "PeerAuthentication"),
    }
)

# Kinds whose objects mean nothing without a spec.
SPEC_REQUIRED: frozenset[tuple[str, str]] = frozenset(
    k
    for k in SPECS
    if k[1]
    not in (
        "Namespace",
        "Secret",
        "ConfigMap",
        "Pod",
        "EndpointSlice",
        "Endpoints",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    )
    # every field of these is optional: an empty Sidecar imports everything, an empty
    # AuthorizationPolicy denies all requests, an empty PeerAuthentication inherits
    and k not in _SPEC_OPTIONAL
)

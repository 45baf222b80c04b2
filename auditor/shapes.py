"""Shape checks for the fields mesh-audit reads, so checks can trust the types they see.

The API server validates objects against their schema before it stores them, but files hold
whatever someone typed: `hosts: foo` instead of a list, a port number of "eighty". An object whose
fields have the wrong type could never exist in a cluster, so the loader leaves it out of the audit
and reports why in `warnings[]`. A `null` where a list or mapping belongs is read as absent (as the
API server does) and also reported.

A null *inside* a list or as a mapping's value (`servers: [null]`, `labels: {app: null}`) has no
"absent" reading, so it is fatal like a wrong type. Integers are bounded where they are used:
`PORT` is 1-65535 (what the API server and Istio's validation accept).

Specs are small: `str`, `int`, `bool`, `INT_OR_STR`, `PORT`, `ANY`, a one-element list `[spec]`
for a list, a dict for an object (unknown keys are ignored), `MapOf(spec)` for a string-keyed
mapping, and `Nullable(spec)` for a list or mapping the API server writes as `null` when empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MapOf:
    value: Any


@dataclass(frozen=True, slots=True)
class Nullable:
    """A list or mapping the API server itself writes as `null` when empty (Go fields without
    `omitempty`, e.g. EndpointSlice `endpoints` and `ports`): null is absent, with no warning."""

    value: Any


class _IntOrStr:
    pass


class _Any:
    pass


class _Port:
    pass


INT_OR_STR = _IntOrStr()
PORT = _Port()
PORT_MIN, PORT_MAX = 1, 65535
ANY = _Any()
LABELS = MapOf(str)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class ShapeProblem:
    path: str
    message: str
    fatal: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate(value: Any, spec: Any, path: str, out: list[ShapeProblem]) -> None:
    if isinstance(spec, Nullable):
        if value is not None:
            validate(value, spec.value, path, out)
        return
    if value is None:
        if isinstance(spec, list | dict | MapOf):
            out.append(ShapeProblem(path, "is null; read as absent", fatal=False))
        return
    if spec is ANY:
        return
    if spec is PORT:
        if isinstance(value, bool) or not isinstance(value, int):
            shown = f" {value!r}" if isinstance(value, str) else ""
            out.append(
                ShapeProblem(path, f"expected an integer, got {_type_name(value)}{shown}", True)
            )
        elif not PORT_MIN <= value <= PORT_MAX:
            out.append(ShapeProblem(path, f"port {value} is outside {PORT_MIN}-{PORT_MAX}", True))
        return
    if spec is str:
        if not isinstance(value, str):
            out.append(ShapeProblem(path, f"expected a string, got {_type_name(value)}", True))
        return
    if spec is int:
        if isinstance(value, bool) or not isinstance(value, int):
            shown = f" {value!r}" if isinstance(value, str) else ""
            out.append(
                ShapeProblem(path, f"expected an integer, got {_type_name(value)}{shown}", True)
            )
        return
    if spec is bool:
        if not isinstance(value, bool):
            out.append(ShapeProblem(path, f"expected true or false, got {_type_name(value)}", True))
        return
    if spec is INT_OR_STR:
        if isinstance(value, bool) or not isinstance(value, int | str):
            out.append(
                ShapeProblem(path, f"expected an integer or string, got {_type_name(value)}", True)
            )
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            out.append(ShapeProblem(path, f"expected a list, got {_type_name(value)}", True))
            return
        for i, item in enumerate(value):
            if item is None:
                out.append(ShapeProblem(f"{path}[{i}]", "is null", True))
            else:
                validate(item, spec[0], f"{path}[{i}]", out)
        return
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            out.append(ShapeProblem(path, f"expected a mapping, got {_type_name(value)}", True))
            return
        for key, item in value.items():
            if not isinstance(key, str):
                out.append(ShapeProblem(f"{path}", f"key {key!r} is not a string", True))
            elif item is None:
                out.append(ShapeProblem(f"{path}.{key}", "is null", True))
            else:
                validate(item, spec.value, f"{path}.{key}", out)
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            out.append(ShapeProblem(path, f"expected a mapping, got {_type_name(value)}", True))
            return
        for key, sub in spec.items():
            if key in value:
                validate(value[key], sub, f"{path}.{key}" if path else key, out)
        return
    raise TypeError(f"bad shape spec at {path}: {spec!r}")


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
    "securityContext": {"runAsUser": int},
}
POD_SPEC = {
    "hostNetwork": bool,
    "serviceAccountName": str,
    "securityContext": {"runAsUser": int},
    "containers": [_CONTAINER],
    "initContainers": [_CONTAINER],
}
_TEMPLATE_META = {"labels": LABELS, "annotations": LABELS}
WORKLOAD = {
    "spec": {
        "selector": {"matchLabels": LABELS},
        "template": {"metadata": _TEMPLATE_META, "spec": POD_SPEC},
    }
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
    ("", "Pod"): POD,
    ("", "Secret"): SECRET,
    ("networking.k8s.io", "NetworkPolicy"): NETWORK_POLICY,
    ("networking.k8s.io", "Ingress"): INGRESS,
    ("", "ConfigMap"): CONFIG_MAP,
    ("discovery.k8s.io", "EndpointSlice"): ENDPOINT_SLICE,
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
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    )
    # every field of these is optional: an empty Sidecar imports everything, an empty
    # AuthorizationPolicy denies all requests, an empty PeerAuthentication inherits
    and k not in _SPEC_OPTIONAL
)


# The API server refuses an object whose annotations total more than 256 KiB (keys and values;
# apimachinery ValidateAnnotationsSize, TotalAnnotationSizeLimitB), pod templates included.
ANNOTATIONS_MAX_BYTES = 256 * 1024


def _annotations_size(meta: Any) -> int:
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return 0
    return sum(len(str(k)) + len(v) for k, v in annotations.items() if isinstance(v, str))


def _annotation_problems(obj: dict[str, Any]) -> list[ShapeProblem]:
    out = []
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    for path, meta in (
        ("metadata.annotations", obj.get("metadata")),
        (
            "spec.template.metadata.annotations",
            template.get("metadata") if isinstance(template, dict) else None,
        ),
    ):
        size = _annotations_size(meta)
        if size > ANNOTATIONS_MAX_BYTES:
            out.append(
                ShapeProblem(
                    path,
                    f"{size} characters in all, over the API server's limit of "
                    f"{ANNOTATIONS_MAX_BYTES}",
                    True,
                )
            )
    return out


def check_object(group: str, kind: str, obj: dict[str, Any]) -> list[ShapeProblem]:
    """Problems with the fields mesh-audit reads; a fatal one means the object is left out."""
    key = (group, kind)
    ok = _FAST.get(key, _fast_metadata_only)
    too_big = _annotation_problems(obj)
    if too_big:
        return too_big
    if ok(obj):
        return []  # the common case: no problem, and no paths or messages built
    out: list[ShapeProblem] = []
    validate(obj, METADATA, "", out)
    spec = SPECS.get(key)
    if spec is None:
        return out
    if key in SPEC_REQUIRED and obj.get("spec") is None:
        out.append(ShapeProblem("spec", "is missing", fatal=True))
        return out
    validate(obj, spec, "", out)
    return out


# ---- fast path -------------------------------------------------------------------------------
# `validate` builds a path string for every list item it visits, which made shape checking the
# largest cost of loading a big snapshot. A spec compiled into a predicate answers "would validate
# report nothing?" without building anything; only when it says no does `validate` run to say
# what is wrong. A predicate may say no when validate finds nothing (it costs time, not truth),
# never the reverse.

Predicate = Callable[[Any], bool]
_MISSING = object()


def _ok_any(value: Any) -> bool:
    return True


def _ok_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _ok_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _ok_bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _ok_int_or_str(value: Any) -> bool:
    return value is None or (isinstance(value, int | str) and not isinstance(value, bool))


def _ok_port(value: Any) -> bool:
    return value is None or (
        isinstance(value, int) and not isinstance(value, bool) and PORT_MIN <= value <= PORT_MAX
    )


def _compile(spec: Any) -> Predicate:
    if spec is ANY:
        return _ok_any
    if spec is str:
        return _ok_str
    if spec is int:
        return _ok_int
    if spec is bool:
        return _ok_bool
    if spec is INT_OR_STR:
        return _ok_int_or_str
    if spec is PORT:
        return _ok_port
    if isinstance(spec, Nullable):
        inner_ok = _compile(spec.value)

        def ok_nullable(value: Any) -> bool:
            return value is None or inner_ok(value)

        return ok_nullable
    if isinstance(spec, list):
        item_ok = _compile(spec[0])
        if item_ok is _ok_str:

            def ok_str_list(value: Any) -> bool:
                return isinstance(value, list) and all(isinstance(v, str) for v in value)

            return ok_str_list

        def ok_list(value: Any) -> bool:
            return isinstance(value, list) and all(v is not None and item_ok(v) for v in value)

        return ok_list
    if isinstance(spec, MapOf):
        value_ok = _compile(spec.value)
        if value_ok is _ok_str:

            def ok_str_map(value: Any) -> bool:
                return isinstance(value, dict) and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()
                )

            return ok_str_map

        def ok_map(value: Any) -> bool:
            return isinstance(value, dict) and all(
                isinstance(k, str) and v is not None and value_ok(v) for k, v in value.items()
            )

        return ok_map
    if isinstance(spec, dict):
        fields = tuple((key, _compile(sub)) for key, sub in spec.items())

        def ok_object(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            get = value.get
            for key, sub_ok in fields:
                item = get(key, _MISSING)
                if item is not _MISSING and not sub_ok(item):
                    return False
            return True

        return ok_object
    raise TypeError(f"bad shape spec: {spec!r}")


def _fast_for(key: tuple[str, str]) -> Predicate:
    meta_ok = _compile(METADATA)
    spec = SPECS.get(key)
    if spec is None:
        return meta_ok
    spec_ok = _compile(spec)
    required = key in SPEC_REQUIRED

    def ok(obj: Any) -> bool:
        if not meta_ok(obj):
            return False
        if required and obj.get("spec") is None:
            return False
        return spec_ok(obj)

    return ok


_fast_metadata_only = _compile(METADATA)
_FAST: dict[tuple[str, str], Predicate] = {key: _fast_for(key) for key in SPECS}

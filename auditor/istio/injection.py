"""Sidecar injection and traffic capture: which pods are in the mesh, and which escape capture.

Sources: Istio's injection webhook and `pkg/config/analysis/analyzers/util/in_mesh.go`
(https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/):

- A pod already carrying an `istio-proxy` container is in the mesh.
- The webhook never injects pods with `hostNetwork: true`.
- The pod label `sidecar.istio.io/inject` wins over the (deprecated) annotation of the same
  name; either one set to `"false"` keeps the pod out, `"true"` opts it in.
- Otherwise the namespace decides: `istio-injection=enabled`, or an `istio.io/rev` label when
  `istio-injection` is absent, injects; `istio-injection` with any other value (`disabled`) does
  not. An `istio.io/dataplane-mode=ambient` namespace (or pod annotation
  `ambient.istio.io/redirection: enabled`) is captured by ztunnel instead. With the injector's
  `enableNamespacesByDefault`, an unlabelled namespace is injected.
- Capture exclusions: `traffic.sidecar.istio.io/excludeOutboundIPRanges`,
  `excludeOutboundPorts`, and `includeOutboundIPRanges` other than `*` send that traffic around
  the sidecar (https://istio.io/latest/docs/reference/config/annotations/).
- UID 1337 is the proxy's own user; iptables does not redirect its traffic (IST0144).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.istio import annotations as ann

SYSTEM_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
)
INJECTION_LABEL = "istio-injection"
REV_LABEL = "istio.io/rev"
DATAPLANE_LABEL = "istio.io/dataplane-mode"
AMBIENT_REDIRECTION = "ambient.istio.io/redirection"
INJECT = "sidecar.istio.io/inject"
PROXY_CONTAINER = "istio-proxy"
PROXY_UID = 1337

EXCLUDE_IPS = ann.EXCLUDE_OUTBOUND_IPS
EXCLUDE_PORTS = ann.EXCLUDE_OUTBOUND_PORTS
INCLUDE_IPS = ann.INCLUDE_OUTBOUND_IPS

# Labels Istio's own charts put on control-plane and gateway pods.
GATEWAY_LABEL_VALUES = frozenset({"ingressgateway", "egressgateway", "eastwestgateway"})
CONTROL_PLANE_APPS = frozenset({"istiod", "istio-cni-node", "ztunnel"})


@dataclass(frozen=True, slots=True)
class MeshStatus:
    in_mesh: bool
    mode: str  # "sidecar", "ambient" or "" when outside
    reason: str  # why it is outside the mesh, in the user's terms ("" when inside)


def namespace_mode(labels: Mapping[str, str], enabled_by_default: bool = False) -> str:
    """`sidecar`, `ambient`, `disabled` (deliberately off) or `unlabelled`."""
    injection = labels.get(INJECTION_LABEL)
    if injection == "enabled":
        return "sidecar"
    if injection is not None:
        return "disabled"
    if labels.get(REV_LABEL):
        return "sidecar"
    if labels.get(DATAPLANE_LABEL) == "ambient":
        return "ambient"
    return "sidecar" if enabled_by_default else "unlabelled"


def multiple_injection_labels(labels: Mapping[str, str]) -> bool:
    """IST0123: more than one kind of injection label (istio-injection not `disabled`)."""
    injection = labels.get(INJECTION_LABEL)
    if injection is not None and injection != "enabled":
        return False
    kinds = [
        injection == "enabled",
        REV_LABEL in labels,
        labels.get(DATAPLANE_LABEL) == "ambient",
    ]
    return sum(kinds) > 1


def has_proxy(pod_spec: Mapping[str, Any]) -> bool:
    for c in pod_spec.get("containers") or ():
        if isinstance(c, Mapping) and c.get("name") == PROXY_CONTAINER and c.get("image"):
            return True
    return False


def mesh_status(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: Mapping[str, Any],
    namespace_labels: Mapping[str, str] | None,
    enabled_by_default: bool = False,
) -> MeshStatus:
    """Whether a pod (or pod template) gets a proxy or ztunnel capture, and if not, why."""
    if has_proxy(pod_spec):
        return MeshStatus(True, "sidecar", "")
    if pod_spec.get("hostNetwork") is True:
        return MeshStatus(False, "", "hostNetwork: true (never injected)")
    for where, values in (("label", labels), ("annotation", annotations)):
        value = values.get(INJECT)
        if value is not None:
            if value.strip().lower() == "true":
                return MeshStatus(True, "sidecar", "")
            return MeshStatus(False, "", f"{where} {INJECT}={value!r}")
    if annotations.get(AMBIENT_REDIRECTION) == "enabled":
        return MeshStatus(True, "ambient", "")
    ns_labels = namespace_labels or {}
    mode = namespace_mode(ns_labels, enabled_by_default)
    if mode in ("sidecar", "ambient"):
        return MeshStatus(True, mode, "")
    if labels.get(REV_LABEL) and mode != "disabled":
        return MeshStatus(True, "sidecar", "")
    if labels.get(DATAPLANE_LABEL) == "ambient" and mode != "disabled":
        return MeshStatus(True, "ambient", "")
    if mode == "disabled":
        value = ns_labels.get(INJECTION_LABEL, "")
        return MeshStatus(False, "", f"namespace label {INJECTION_LABEL}={value!r}")
    return MeshStatus(False, "", "namespace not labelled for injection")


def capture_exclusions(annotations: Mapping[str, str]) -> dict[str, str]:
    """The outbound capture annotations that let traffic leave without the sidecar, as written.

    Values that are not strings (possible only in saved manifests) or hold no valid entry are
    left out; their warning comes from `annotations.pod_annotation_warnings`."""
    out: dict[str, str] = {}
    for key, parse in ((EXCLUDE_IPS, ann.cidr_list), (EXCLUDE_PORTS, ann.port_list)):
        value = ann.text_value(annotations.get(key)).value.strip()
        # A value with no valid entry excludes nothing (Istio's injector refuses the pod).
        if value and (value == "*" or parse(value).value):
            out[key] = value
    include = annotations.get(INCLUDE_IPS)
    if isinstance(include, str) and include.strip() != "*":
        out[INCLUDE_IPS] = include.strip()
    return out


def excluded_ports(annotations: Mapping[str, str]) -> set[int]:
    """The ports of `excludeOutboundPorts` that Istio's injector accepts (ASCII digits, 0-65535)."""
    return set(ann.port_list(annotations.get(EXCLUDE_PORTS)).value)


def runs_as_proxy_uid(pod_spec: Mapping[str, Any]) -> str:
    """The field path that sets UID 1337 for an application container, or "" (IST0144)."""
    ctx = pod_spec.get("securityContext") or {}
    if ctx.get("runAsUser") == PROXY_UID:
        return "securityContext.runAsUser"
    for i, c in enumerate(pod_spec.get("containers") or ()):
        if not isinstance(c, Mapping) or c.get("name") == PROXY_CONTAINER:
            continue
        if (c.get("securityContext") or {}).get("runAsUser") == PROXY_UID:
            return f"containers[{i}].securityContext.runAsUser"
    return ""


def is_gateway_pod(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: Mapping[str, Any] | None = None,
) -> bool:
    """A gateway deployment: labelled as Istio's charts and Gateway API automation label them, or
    running Envoy in router mode (`istio-proxy` started with `proxy router`), whatever its labels.
    """
    if (
        labels.get("istio") in GATEWAY_LABEL_VALUES
        or "gateway.networking.k8s.io/gateway-name" in labels
        or "gateway.istio.io/managed" in labels
        or annotations.get("inject.istio.io/templates") == "gateway"
    ):
        return True
    for c in (pod_spec or {}).get("containers") or ():
        if isinstance(c, Mapping) and c.get("name") == PROXY_CONTAINER:
            args = c.get("args")
            if isinstance(args, list) and "router" in args:
                return True
    return False


def is_control_plane_pod(labels: Mapping[str, str]) -> bool:
    return labels.get("app") in CONTROL_PLANE_APPS or labels.get("istio") == "pilot"


def enable_namespaces_by_default(values_json: str) -> bool:
    """`sidecarInjectorWebhook.enableNamespacesByDefault` from the injector ConfigMap `values`."""
    try:
        values = json.loads(values_json)
    except ValueError:
        return False
    hook = values.get("sidecarInjectorWebhook") if isinstance(values, dict) else None
    return isinstance(hook, dict) and hook.get("enableNamespacesByDefault") is True

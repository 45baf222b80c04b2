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
from auditor.istio.selectors import label_selector_matches

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


MEMBERSHIPS = ("sidecar", "ambient", "gateway", "none")
ROLES = ("workload", "gateway", "waypoint", "control-plane", "ztunnel", "cni")
SIDECAR_STATUS = ann.SIDECAR_STATUS
WAYPOINT_CLASS = "istio-waypoint"
# yaml.org booleans the injector reads as "inject" (pkg/kube/inject/inject.go injectRequired)
_TRUE = frozenset({"y", "yes", "true", "on"})


@dataclass(frozen=True, slots=True)
class MeshStatus:
    """Whether a workload is in the mesh, how, and the evidence that decided it.

    `membership` is `sidecar` (an istio-proxy runs beside the application), `ambient` (ztunnel
    captures it), `gateway` (the pod is itself an Envoy gateway or waypoint) or `none`.
    `evidence` lists what decided it, strongest first, in the user's terms; `decided_by` says
    which layer answered: `pod` (a running or saved Pod), `template` (the controller's pod
    template holds the proxy) or `rules` (labels and the injector's rules predict it).
    """

    in_mesh: bool
    mode: str  # "sidecar", "ambient", "gateway" or "" when outside
    reason: str  # why it is outside the mesh, in the user's terms ("" when inside)
    evidence: tuple[str, ...] = ()
    decided_by: str = "rules"
    role: str = "workload"

    @property
    def membership(self) -> str:
        return self.mode or "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "membership": self.membership,
            "role": self.role,
            "decided_by": self.decided_by,
            "evidence": list(self.evidence),
            "reason": self.reason or None,
        }


@dataclass(frozen=True, slots=True)
class InjectorWebhook:
    """One webhook of an Istio sidecar-injector MutatingWebhookConfiguration."""

    config: str  # the MutatingWebhookConfiguration's name
    name: str
    namespace_selector: Mapping[str, Any]
    object_selector: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Injector:
    """What the cluster's injector does, as far as the input shows it.

    `webhooks` is None when the MutatingWebhookConfigurations were not read: membership then
    follows Istio's default webhook selectors (istio-injection, istio.io/rev, the pod label).
    """

    enabled_by_default: bool = False
    webhooks: tuple[InjectorWebhook, ...] | None = None


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


def _containers(pod_spec: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = pod_spec.get(key)
    return [c for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []


def proxy_container(pod_spec: Mapping[str, Any]) -> str:
    """Where the pod runs istio-proxy: `containers` (classic sidecar), `initContainers` (a
    native sidecar: an init container with `restartPolicy: Always`, Istio's
    ENABLE_NATIVE_SIDECARS), or "" when it does not. A container needs an image to count, as
    istioctl's in_mesh.go requires."""
    for c in _containers(pod_spec, "containers"):
        if c.get("name") == PROXY_CONTAINER and c.get("image"):
            return "containers"
    for c in _containers(pod_spec, "initContainers"):
        if (
            c.get("name") == PROXY_CONTAINER
            and c.get("image")
            and c.get("restartPolicy") == "Always"
        ):
            return "initContainers"
    return ""


def has_proxy(pod_spec: Mapping[str, Any]) -> bool:
    return bool(proxy_container(pod_spec))


def sidecar_status(annotations: Mapping[str, str]) -> dict[str, Any] | None:
    """The injector's `sidecar.istio.io/status` record (what it added, which revision), or
    None. A value that is not a JSON object still says the pod went through injection."""
    if SIDECAR_STATUS not in annotations:
        return None
    return ann.json_object(annotations.get(SIDECAR_STATUS)).value or {}


def role(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: Mapping[str, Any] | None = None,
) -> str:
    """What an Istio-managed pod is: `waypoint`, `gateway`, `ztunnel`, `cni`, `control-plane`,
    or an ordinary `workload`."""
    if labels.get("gateway.istio.io/managed") == "istio.io-mesh-controller" or (
        labels.get("gateway.networking.k8s.io/gateway-class-name") == WAYPOINT_CLASS
    ):
        return "waypoint"
    if is_gateway_pod(labels, annotations, pod_spec):
        return "gateway"
    app = labels.get("app") or labels.get("k8s-app") or ""
    if app == "ztunnel":
        return "ztunnel"
    if app == "istio-cni-node":
        return "cni"
    if is_control_plane_pod(labels):
        return "control-plane"
    return "workload"


def _injector_called(
    injector: Injector, labels: Mapping[str, str], ns_labels: Mapping[str, str]
) -> tuple[bool, str]:
    """Whether the API server sends this pod to a sidecar injector, and the evidence."""
    if injector.webhooks is not None:
        for hook in injector.webhooks:
            if label_selector_matches(hook.namespace_selector, ns_labels) and (
                label_selector_matches(hook.object_selector, labels)
            ):
                return True, f"MutatingWebhookConfiguration {hook.config} ({hook.name}) selects it"
        return False, ""
    # Istio's own webhook selectors (manifests/charts/istio-control/istio-discovery/templates/
    # mutatingwebhook.yaml), used when the webhook configurations were not read.
    inject_label = labels.get(INJECT)
    if inject_label == "false":
        return False, ""
    injection = ns_labels.get(INJECTION_LABEL)
    if injection == "enabled":
        return True, f"namespace label {INJECTION_LABEL}=enabled"
    if injection is not None:
        return False, ""
    if ns_labels.get(REV_LABEL):
        return True, f"namespace label {REV_LABEL}={ns_labels[REV_LABEL]}"
    if labels.get(REV_LABEL):
        return True, f"pod label {REV_LABEL}={labels[REV_LABEL]}"
    if inject_label == "true":
        return True, f"pod label {INJECT}=true"
    if injector.enabled_by_default:
        return True, "the injector's enableNamespacesByDefault"
    return False, ""


def injection_required(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: Mapping[str, Any],
    namespace: str,
    ns_labels: Mapping[str, str],
    injector: Injector,
) -> tuple[bool, str]:
    """Would the injector add a sidecar to this pod if it were created now? (True, evidence)
    or (False, why not). Follows pkg/kube/inject/inject.go injectRequired behind the webhook's
    selectors: hostNetwork and the Kubernetes system namespaces are never injected; the pod
    label `sidecar.istio.io/inject` wins over the annotation of the same name."""
    if pod_spec.get("hostNetwork") is True:
        return False, "hostNetwork: true (never injected)"
    if namespace in ("kube-system", "kube-public"):
        return False, f"namespace {namespace} is never injected"
    selector = annotations.get(INJECT)
    where = "annotation"
    if INJECT in labels:
        selector, where = labels[INJECT], "label"
    if selector is not None and selector.strip() and selector.strip().lower() not in _TRUE:
        return False, f"{where} {INJECT}={selector!r}"
    called, why = _injector_called(injector, labels, ns_labels)
    if not called:
        injection = ns_labels.get(INJECTION_LABEL)
        if injection is not None and injection != "enabled":
            return False, f"namespace label {INJECTION_LABEL}={injection!r}"
        if injector.webhooks is not None and (ns_labels.get(REV_LABEL) or labels.get(REV_LABEL)):
            rev = ns_labels.get(REV_LABEL) or labels.get(REV_LABEL)
            return False, f"{REV_LABEL}={rev!r} names no installed revision or revision tag"
        if injector.webhooks is not None and injection == "enabled":
            return False, (
                f"namespace label {INJECTION_LABEL}=enabled, but no injector webhook of the "
                "default revision is installed"
            )
        return False, "namespace not labelled for injection"
    return True, why


def ambient_captured(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: Mapping[str, Any],
    ns_labels: Mapping[str, str],
) -> tuple[bool, str]:
    """Whether istio-cni hands this pod to ztunnel (cni/pkg/util/podutil.go
    PodRedirectionEnabled): `istio.io/dataplane-mode=ambient` on the namespace or the pod, no
    sidecar, no pod label `istio.io/dataplane-mode=none`, no host network."""
    if annotations.get(AMBIENT_REDIRECTION) == "enabled":
        return True, f"annotation {AMBIENT_REDIRECTION}=enabled (ztunnel enrolled the pod)"
    pod_mode = labels.get(DATAPLANE_LABEL)
    if pod_mode == "none":
        return False, f"pod label {DATAPLANE_LABEL}=none"
    if pod_spec.get("hostNetwork") is True:
        return False, "hostNetwork: true (never captured)"
    if pod_mode == "ambient":
        return True, f"pod label {DATAPLANE_LABEL}=ambient"
    if ns_labels.get(DATAPLANE_LABEL) == "ambient":
        return True, f"namespace label {DATAPLANE_LABEL}=ambient"
    return False, ""


def mesh_status(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: Mapping[str, Any],
    namespace_labels: Mapping[str, str] | None,
    enabled_by_default: bool = False,
    *,
    namespace: str = "",
    injector: Injector | None = None,
    running: bool = False,
) -> MeshStatus:
    """Membership of one pod (`running=True`: a Pod that exists) or pod template.

    What the pod holds decides first (an istio-proxy container, classic or native, or the
    injector's status annotation); a running Pod without one is outside the mesh whatever the
    labels say now (it predates them, or the injector was down). A template without one is
    judged by the injector's rules and ambient enrolment.
    """
    inj = injector or Injector(enabled_by_default=enabled_by_default)
    ns_labels = namespace_labels or {}
    kind = role(labels, annotations, pod_spec)
    where = "pod" if running else "pod template"
    found = proxy_container(pod_spec)
    status = sidecar_status(annotations)
    if found or status is not None:
        evidence: list[str] = []
        if found == "containers":
            evidence.append(f"{where} runs container {PROXY_CONTAINER}")
        elif found == "initContainers":
            evidence.append(
                f"{where} runs {PROXY_CONTAINER} as a native sidecar "
                "(init container with restartPolicy: Always)"
            )
        if status is not None:
            rev = status.get("revision")
            evidence.append(
                f"annotation {SIDECAR_STATUS}"
                + (f" (revision {rev})" if isinstance(rev, str) and rev else "")
            )
        membership = "gateway" if kind in ("gateway", "waypoint") else "sidecar"
        return MeshStatus(
            True, membership, "", tuple(evidence), "pod" if running else "template", kind
        )
    if kind in ("gateway", "waypoint"):
        # Istio's gateway charts and the Gateway API deployment inject the proxy at creation
        # (inject.istio.io/templates: gateway), so the template holds only a placeholder.
        return MeshStatus(
            True, "gateway", "", (f"{kind} pod ({_role_evidence(labels)})",), "rules", kind
        )
    if kind in ("ztunnel", "cni", "control-plane"):
        return MeshStatus(
            False,
            "",
            f"Istio {kind} component",
            (f"{kind} pod ({_role_evidence(labels)})",),
            "rules",
            kind,
        )
    captured, why_ambient = ambient_captured(labels, annotations, pod_spec, ns_labels)
    if running:
        if captured and ns_labels.get(INJECTION_LABEL) != "enabled":
            return MeshStatus(True, "ambient", "", (why_ambient,), "pod", kind)
        would, why = injection_required(labels, annotations, pod_spec, namespace, ns_labels, inj)
        if would:
            return MeshStatus(
                False,
                "",
                f"pod runs without {PROXY_CONTAINER} although {why} injects new pods "
                "(created before the label, or while the injector was unavailable)",
                (f"pod has no {PROXY_CONTAINER} container", why),
                "pod",
                kind,
            )
        reason = why_ambient if labels.get(DATAPLANE_LABEL) == "none" else why
        return MeshStatus(
            False, "", reason, (f"pod has no {PROXY_CONTAINER} container",), "pod", kind
        )
    would, why = injection_required(labels, annotations, pod_spec, namespace, ns_labels, inj)
    if would:
        return MeshStatus(True, "sidecar", "", (why,), "rules", kind)
    if captured:
        return MeshStatus(True, "ambient", "", (why_ambient,), "rules", kind)
    reason = why_ambient if labels.get(DATAPLANE_LABEL) == "none" else why
    return MeshStatus(False, "", reason, (reason,), "rules", kind)


def _role_evidence(labels: Mapping[str, str]) -> str:
    for key in (
        "gateway.istio.io/managed",
        "gateway.networking.k8s.io/gateway-name",
        "istio",
        "app",
        "k8s-app",
    ):
        if key in labels:
            return f"label {key}={labels[key]}"
    return "runs Envoy in router mode"


def injector_webhooks(configs: list[tuple[str, Mapping[str, Any]]]) -> tuple[InjectorWebhook, ...]:
    """The sidecar-injector webhooks among MutatingWebhookConfigurations (name, object): those
    whose service path is Istio's `/inject` or whose webhook name is Istio's injector's
    (`*sidecar-injector.istio.io`). Revision tags (`istio-revision-tag-<tag>`) are webhook
    configurations of the same shape, so a tag resolves exactly as the API server resolves it.
    """
    out: list[InjectorWebhook] = []
    for config_name, obj in configs:
        for hook in obj.get("webhooks") or ():
            if not isinstance(hook, Mapping):
                continue
            name = str(hook.get("name") or "")
            client = hook.get("clientConfig") or {}
            service = client.get("service") if isinstance(client, Mapping) else None
            path = str(service.get("path") or "") if isinstance(service, Mapping) else ""
            url = str(client.get("url") or "") if isinstance(client, Mapping) else ""
            if not (
                name.endswith("sidecar-injector.istio.io")
                or path.startswith("/inject")
                or "/inject" in url
            ):
                continue
            out.append(
                InjectorWebhook(
                    config=config_name,
                    name=name,
                    namespace_selector=hook.get("namespaceSelector") or {},
                    object_selector=hook.get("objectSelector") or {},
                )
            )
    return tuple(out)


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

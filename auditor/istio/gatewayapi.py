"""Kubernetes Gateway API semantics, as the specification and Istio's implementation define them.

Sources: gateway-api.sigs.k8s.io API reference (v1: Gateway, Listener, AllowedRoutes,
ParentReference, BackendRef, SecretObjectReference, ReferenceGrant, HTTPRoute filters) and
Istio's Gateway API docs (istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/:
class `istio`, controller `istio.io/gateway-controller`, the auto-deployed `<name>-<class>`
Service labelled `gateway.networking.k8s.io/gateway-name`, `networking.istio.io/service-type`).

- A Gateway is Istio's when its class is `istio` or a GatewayClass whose controllerName is
  `istio.io/gateway-controller`.
- A route attaches to a listener when a parentRef names the Gateway (group
  `gateway.networking.k8s.io` and kind `Gateway` by default, namespace defaulting to the route's),
  its `sectionName` (if any) is the listener's name, its `port` (if any) the listener's port, the
  listener's `allowedRoutes` admit the route's namespace (`Same` by default, `All`, `Selector`) and
  kind (by default the kinds the listener's protocol carries), and, for routes with hostnames, the
  route's hostnames intersect the listener's hostname (no listener hostname matches all).
- A reference to another namespace (backendRef, certificateRef) needs a ReferenceGrant in the
  target namespace whose `from` names the referrer's group, kind and namespace and whose `to`
  names the target's group and kind (and name, when the grant names one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.istio import hosts as H
from auditor.istio.selectors import label_selector_matches

GROUP = "gateway.networking.k8s.io"
ISTIO_CONTROLLER = "istio.io/gateway-controller"
ISTIO_CLASS = "istio"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
SERVICE_TYPE_ANNOTATION = "networking.istio.io/service-type"

# Route kinds a listener accepts when allowedRoutes.kinds is empty (spec "Listener.allowedRoutes";
# Istio also serves GRPCRoute on HTTP/HTTPS and TCPRoute on terminated TLS).
DEFAULT_KINDS: dict[str, tuple[str, ...]] = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute", "TCPRoute"),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}


def is_istio_gateway(class_name: str, controller_by_class: Mapping[str, str]) -> bool:
    """True for a Gateway of Istio's class (by name `istio` or by its GatewayClass controller)."""
    controller = controller_by_class.get(class_name)
    if controller is not None:
        return controller == ISTIO_CONTROLLER
    return class_name == ISTIO_CLASS


@dataclass(frozen=True, slots=True)
class ParentRef:
    namespace: str
    name: str
    section: str | None
    port: int | None


def parent_ref(raw: Mapping[str, Any], route_namespace: str) -> ParentRef | None:
    """The Gateway a parentRef names, or None when it names something else (a Service, mesh)."""
    if (raw.get("group") or GROUP) != GROUP or (raw.get("kind") or "Gateway") != "Gateway":
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        return None
    port = raw.get("port")
    return ParentRef(
        namespace=raw.get("namespace") or route_namespace,
        name=name,
        section=raw.get("sectionName") or None,
        port=port if isinstance(port, int) else None,
    )


def namespace_allowed(
    listener: Mapping[str, Any],
    gateway_namespace: str,
    route_namespace: str,
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> bool:
    """allowedRoutes.namespaces: `Same` (default), `All`, or `Selector` over Namespace labels.

    A namespace whose Namespace object is not in the input is matched on the one label the API
    server always sets, `kubernetes.io/metadata.name`.
    """
    namespaces = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
    source = namespaces.get("from") or "Same"
    if source == "All":
        return True
    if source == "Same":
        return route_namespace == gateway_namespace
    if source == "Selector":
        labels = namespace_labels.get(route_namespace)
        if labels is None:
            labels = {"kubernetes.io/metadata.name": route_namespace}
        return label_selector_matches(namespaces.get("selector") or {}, labels)
    return False


def allowed_kinds(listener: Mapping[str, Any]) -> tuple[str, ...]:
    kinds = (listener.get("allowedRoutes") or {}).get("kinds") or []
    if kinds:
        return tuple(
            str(k["kind"]) for k in kinds if (k.get("group") or GROUP) == GROUP and k.get("kind")
        )
    return DEFAULT_KINDS.get(str(listener.get("protocol") or "").upper(), ())


def hostnames_intersect(listener_hostname: str | None, route_hostnames: Sequence[str]) -> bool:
    """A route with no hostnames, or a listener with none, matches; else some pair must overlap."""
    if not listener_hostname or not route_hostnames:
        return True
    lh = H.normalize(listener_hostname)
    return any(H.intersects(lh, H.normalize(h)) for h in route_hostnames)


def served_hostnames(listener_hostname: str | None, route_hostnames: Sequence[str]) -> list[str]:
    """The hostnames a request must carry to reach a route through a listener (`*` for any)."""
    lh = H.normalize(listener_hostname) if listener_hostname else "*"
    if not route_hostnames:
        return [lh]
    out: list[str] = []
    for h in route_hostnames:
        rh = H.normalize(h)
        if H.intersects(lh, rh):
            out.append(H.more_specific(lh, rh))
    return sorted(set(out))


@dataclass(frozen=True, slots=True)
class Attachment:
    """Why a parentRef of a route does or does not attach to listeners of its Gateway."""

    listeners: tuple[int, ...]  # indexes of the listeners the route attaches to
    reason: str  # "" when attached, else why not


def attach(
    route_kind: str,
    route_namespace: str,
    route_hostnames: Sequence[str],
    ref: ParentRef,
    gateway_namespace: str,
    listeners: Sequence[Mapping[str, Any]],
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> Attachment:
    """Which listeners a route attaches to through one parentRef, or the reason it attaches none."""
    candidates = [
        (i, li)
        for i, li in enumerate(listeners)
        if (ref.section is None or li.get("name") == ref.section)
        and (ref.port is None or li.get("port") == ref.port)
    ]
    if not candidates:
        what = []
        if ref.section is not None:
            what.append(f"sectionName {ref.section!r}")
        if ref.port is not None:
            what.append(f"port {ref.port}")
        return Attachment((), f"no listener matches {' and '.join(what)}")
    allowed = [
        (i, li)
        for i, li in candidates
        if namespace_allowed(li, gateway_namespace, route_namespace, namespace_labels)
    ]
    if not allowed:
        return Attachment((), f"no listener admits routes from namespace {route_namespace!r}")
    kinds = [(i, li) for i, li in allowed if route_kind in allowed_kinds(li)]
    if not kinds:
        return Attachment((), f"no listener admits route kind {route_kind}")
    hosts = [i for i, li in kinds if hostnames_intersect(li.get("hostname"), list(route_hostnames))]
    if not hosts:
        return Attachment((), "no listener hostname intersects the route's hostnames")
    return Attachment(tuple(hosts), "")


def reference_granted(
    grants: Iterable[Mapping[str, Any]],
    from_group: str,
    from_kind: str,
    from_namespace: str,
    to_group: str,
    to_kind: str,
    to_name: str,
) -> bool:
    """Whether any ReferenceGrant (in the target's namespace) permits this reference."""
    for grant in grants:
        spec = grant.get("spec") or {}
        if not any(
            (f.get("group") or "") == from_group
            and f.get("kind") == from_kind
            and f.get("namespace") == from_namespace
            for f in spec.get("from") or ()
        ):
            continue
        for t in spec.get("to") or ():
            if (
                (t.get("group") or "") == to_group
                and t.get("kind") == to_kind
                and (not t.get("name") or t.get("name") == to_name)
            ):
                return True
    return False


def is_https_redirect_rule(rule: Mapping[str, Any]) -> bool:
    """An HTTPRoute rule that answers with a redirect to https and sends nothing to a backend."""
    if rule.get("backendRefs"):
        return False
    return any(
        f.get("type") == "RequestRedirect"
        and str((f.get("requestRedirect") or {}).get("scheme") or "").lower() == "https"
        for f in rule.get("filters") or ()
    )


@dataclass(frozen=True, slots=True)
class BackendRef:
    group: str
    kind: str
    namespace: str
    name: str
    port: int | None


def backend_refs(route_namespace: str, rule: Mapping[str, Any]) -> list[BackendRef]:
    out = []
    for ref in rule.get("backendRefs") or ():
        name = ref.get("name")
        if not isinstance(name, str) or not name:
            continue
        port = ref.get("port")
        out.append(
            BackendRef(
                group=ref.get("group") or "",
                kind=ref.get("kind") or "Service",
                namespace=ref.get("namespace") or route_namespace,
                name=name,
                port=port if isinstance(port, int) else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class CertificateRef:
    group: str
    kind: str
    namespace: str
    name: str


def certificate_refs(gateway_namespace: str, listener: Mapping[str, Any]) -> list[CertificateRef]:
    out = []
    for ref in (listener.get("tls") or {}).get("certificateRefs") or ():
        name = ref.get("name")
        if isinstance(name, str) and name:
            out.append(
                CertificateRef(
                    group=ref.get("group") or "",
                    kind=ref.get("kind") or "Secret",
                    namespace=ref.get("namespace") or gateway_namespace,
                    name=name,
                )
            )
    return out


TLS_TERMINATE_MODE_OPTION = "gateway.istio.io/tls-terminate-mode"


def istio_mutual_listener(listener: Mapping[str, Any]) -> bool:
    """A listener that terminates Istio mutual TLS with the workload certificate (the
    `gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL` option, as Istio's egress gateway
    tasks use it): it needs no certificateRefs."""
    options = (listener.get("tls") or {}).get("options") or {}
    return (
        isinstance(options, Mapping)
        and str(options.get(TLS_TERMINATE_MODE_OPTION) or "").upper() == "ISTIO_MUTUAL"
    )


def listener_tls_mode(listener: Mapping[str, Any]) -> str:
    """`Terminate` (the default for HTTPS and TLS listeners with a tls block) or `Passthrough`."""
    protocol = str(listener.get("protocol") or "").upper()
    if protocol not in ("HTTPS", "TLS"):
        return ""
    return str((listener.get("tls") or {}).get("mode") or "Terminate")

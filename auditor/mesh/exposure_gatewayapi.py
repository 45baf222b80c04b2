"""The exposure map of Gateway API Gateways of Istio's class: each listener (port, protocol,
hostname, TLS mode), the routes attached to it (parentRefs, sectionName/port, allowedRoutes,
hostnames), and their backendRefs (cross-namespace ones only when a ReferenceGrant permits them).

One entry per served host and port; the Gateway's Services and addresses come from
auditor/mesh/exposure_frontend.py, and the whole map from auditor/mesh/exposure.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.base.model import ExposureEntry, ResourceRef, RouteRule
from auditor.input.snapshot import KObject
from auditor.istio import gatewayapi as GA
from auditor.istio import hosts as H
from auditor.istio import matches as M
from auditor.mesh.exposure_frontend import (
    TLS_PROTOCOLS,
    k8s_gateway_frontend,
    k8s_service_ports,
    lb_terminated,
    listener_external,
    listener_lb_tls,
    listener_reach,
)
from auditor.mesh.index import MeshIndex


@dataclass(frozen=True, slots=True)
class AttachedRoute:
    route: KObject
    parent_index: int
    listeners: tuple[int, ...]
    reason: str


def attachments(index: MeshIndex, gw: KObject) -> list[AttachedRoute]:
    """Every parentRef naming this Gateway, with the listeners it attaches to (or why none)."""
    listeners = gw.spec.get("listeners") or []
    out = []
    for route, i, ref in index.attached_routes(gw):
        result = GA.attach(
            route.kind,
            route.namespace,
            route.spec.get("hostnames") or [],
            ref,
            gw.namespace,
            listeners,
            index.namespace_labels,
        )
        out.append(AttachedRoute(route, i, result.listeners, result.reason))
    return out


def backend_permitted(index: MeshIndex, route: KObject, ref: GA.BackendRef) -> bool:
    if ref.namespace == route.namespace:
        return True
    return GA.reference_granted(
        index.grants_in(ref.namespace),
        GA.GROUP,
        route.kind,
        route.namespace,
        ref.group,
        ref.kind,
        ref.name,
    )


def route_rules_k8s(index: MeshIndex, route: KObject) -> list[RouteRule]:
    """A Gateway API route's rules: matches, the backends it may send to (cross-namespace ones
    only with a ReferenceGrant), and whether the rule only redirects to https."""
    out: list[RouteRule] = []
    for rule in route.spec.get("rules") or ():
        backends: list[str] = []
        for ref in GA.backend_refs(route.namespace, rule):
            if not backend_permitted(index, route, ref):
                continue
            if ref.kind == "Service" and ref.group == "":
                name = f"{ref.name}.{ref.namespace}.svc.{index.domain}"
            else:
                name = f"{ref.kind}/{ref.namespace}/{ref.name}"
            backends.append(f"{name}:{ref.port}" if ref.port is not None else name)
        out.append(
            RouteRule(
                route=route.ref,
                match=M.either(M.httproute_match(m) for m in rule.get("matches") or ()),
                backends=tuple(backends),
                redirect=GA.is_https_redirect_rule(rule),
            )
        )
    return out


def route_backends(index: MeshIndex, route: KObject) -> tuple[list[str], bool]:
    """(backends a route sends to, whether every rule only redirects to https)."""
    rules = route_rules_k8s(index, route)
    backends = [b for rule in rules for b in rule.backends]
    return backends, all(rule.redirect for rule in rules)


def k8s_gateway_exposure(index: MeshIndex, gw: KObject) -> Iterator[ExposureEntry]:
    front = k8s_gateway_frontend(index, gw)
    listeners = gw.spec.get("listeners") or []
    by_listener: dict[int, list[KObject]] = {}
    for att in attachments(index, gw):
        for li in att.listeners:
            by_listener.setdefault(li, []).append(att.route)
    for i, listener in enumerate(listeners):
        number = listener.get("port")
        if not isinstance(number, int):
            continue
        protocol = str(listener.get("protocol") or "").upper()
        mode = GA.listener_tls_mode(listener)
        hostname = listener.get("hostname")
        served: dict[str, tuple[list[ResourceRef], list[RouteRule]]] = {}
        for route in by_listener.get(i, ()):
            route_rules_ = route_rules_k8s(index, route)
            for host in GA.served_hostnames(hostname, route.spec.get("hostnames") or []):
                refs, rules = served.setdefault(host, ([], []))
                refs.append(route.ref)
                rules.extend(route_rules_)
        if not served:
            served[H.normalize(hostname) if hostname else "*"] = ([], [])
        service_ports = k8s_service_ports(front.services, number)
        reach = listener_reach(front, service_ports)
        lb_tls = listener_lb_tls(front, service_ports)
        for host, (refs, rules) in served.items():
            redirect_only = protocol == "HTTP" and bool(rules) and all(r.redirect for r in rules)
            bks = [b for rule in rules for b in rule.backends]
            edge = lb_terminated(
                protocol in TLS_PROTOCOLS,
                mode or ("REDIRECT" if redirect_only else "NONE"),
                None if redirect_only else lb_tls,
            )
            yield ExposureEntry(
                host=host,
                port=number,
                protocol=protocol,
                tls=edge[0],
                tls_mode=edge[1],
                gateway=gw.ref,
                listener=f"listeners[{i}] ({listener.get('name') or ''})",
                external=listener_external(front, service_ports),
                addresses=front.addresses,
                routes=tuple(sorted(set(refs))),
                backends=tuple(sorted(set(bks))),
                redirect_only=redirect_only,
                service_ports=service_ports,
                notes=front.notes + edge[2],
                lb_tls=lb_tls,
                rules=tuple(dict.fromkeys(rules)),
                entry="gateway-api",
                reachability=reach.cls,
                reach_reason=reach.reason,
                source_ranges=reach.source_ranges,
            )

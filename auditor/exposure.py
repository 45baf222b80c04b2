"""The exposure map: every host and port a gateway serves, from its addresses to its backends.

Istio Gateways: the workloads the selector picks, the Services in front of them (external when
LoadBalancer, NodePort or externalIPs; a ClusterIP-only gateway is listed as internal), the
Service port and targetPort that carry each server's port, the server's protocol, hosts and TLS,
the VirtualServices bound to it whose hosts intersect the server's, and their destinations.

Gateway API Gateways of Istio's class: the Service Istio deploys for it (`<name>-<class>`, or one
selecting the `gateway.networking.k8s.io/gateway-name` label, or named by a Hostname address),
`spec.addresses` and `status.addresses`, each listener (port, protocol, hostname, TLS mode), the
routes attached to it (parentRefs, sectionName/port, allowedRoutes, hostnames), and their
backendRefs (cross-namespace ones only when a ReferenceGrant permits them).

One entry per served host and port. A plaintext port that only redirects to HTTPS serves no
backend (`redirect_only`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.index import K_GATEWAY, K_KGATEWAY, MeshIndex, Workload
from auditor.istio import gatewayapi as GA
from auditor.istio import hosts as H
from auditor.istio import matches as M
from auditor.istio import reachability as R
from auditor.model import ExposureEntry, ResourceRef, RouteRule, ServicePort
from auditor.snapshot import KObject

TLS_PROTOCOLS = {"HTTPS", "TLS"}
PLAINTEXT_HTTP = {"HTTP", "HTTP2", "GRPC"}
EXTERNAL_TYPES = ("LoadBalancer", "NodePort")
# Reachability classes checks treat as exposed (severity as for the internet); internal and
# source-restricted load balancers are reachable from outside the cluster, but not exposed.
EXPOSED = (R.INTERNET, R.NODE_LOCAL)


def service_is_external(svc: KObject) -> bool:
    spec = svc.spec
    return spec.get("type") in EXTERNAL_TYPES or bool(spec.get("externalIPs"))


def service_addresses(svc: KObject) -> list[str]:
    """LoadBalancer IPs/hostnames, external IPs, and node ports (as `node:<port>`)."""
    out: list[str] = []
    status = svc.raw.get("status") or {}
    for ingress in ((status.get("loadBalancer") or {}).get("ingress")) or ():
        for key in ("ip", "hostname"):
            if ingress.get(key):
                out.append(str(ingress[key]))
    out.extend(str(ip) for ip in svc.spec.get("externalIPs") or ())
    if svc.spec.get("type") in EXTERNAL_TYPES:
        for port in svc.spec.get("ports") or ():
            if port.get("nodePort"):
                out.append(f"node:{port['nodePort']}")
    return out


@dataclass(frozen=True, slots=True)
class Frontend:
    """How clients reach a gateway: its Services, whether from outside, and at which addresses."""

    services: tuple[KObject, ...]
    external: bool
    addresses: tuple[str, ...]
    notes: tuple[str, ...] = ()
    # when no Service is in the input (Gateway API auto-deployment): the assumed reach
    assumed: R.Reach | None = None

    @property
    def reach(self) -> R.Reach:
        """The widest reachability class of the gateway's Services."""
        if not self.services:
            return self.assumed or R.Reach(R.CLUSTER, "no Service")
        return R.widest([R.service_reach(s.raw) for s in self.services])

    @property
    def exposed(self) -> bool:
        """Reachable from the internet or at the nodes' addresses (not only from inside the
        cluster, an internal load balancer or the allowed source ranges)."""
        return self.reach.cls in EXPOSED


def istio_gateway_frontend(index: MeshIndex, gw: KObject) -> Frontend:
    services = tuple(index.gateway_services(gw))
    addresses = sorted(
        {a for s in services if service_is_external(s) for a in service_addresses(s)}
    )
    return Frontend(
        services=services,
        external=any(service_is_external(s) for s in services),
        addresses=tuple(addresses),
    )


def k8s_gateway_frontend(index: MeshIndex, gw: KObject) -> Frontend:
    services = tuple(index.k8s_gateway_services(gw))
    addresses: set[str] = set()
    for source in (gw.spec.get("addresses"), (gw.raw.get("status") or {}).get("addresses")):
        for addr in source or ():
            if (addr.get("type") or "IPAddress") != "Hostname" and addr.get("value"):
                addresses.add(str(addr["value"]))
    addresses.update(a for s in services if service_is_external(s) for a in service_addresses(s))
    notes: tuple[str, ...] = ()
    if services:
        external = any(service_is_external(s) for s in services)
    else:
        # Istio deploys a Service for the Gateway; its type is LoadBalancer unless annotated.
        svc_type = gw.annotations.get(GA.SERVICE_TYPE_ANNOTATION) or "LoadBalancer"
        external = svc_type in EXTERNAL_TYPES
        if index.is_istio_k8s_gateway(gw):
            notes = (
                f"no Service for this Gateway in the input; Istio deploys `{gw.name}-"
                f"{gw.spec.get('gatewayClassName') or 'istio'}` of type {svc_type}",
            )
        else:
            notes = (
                f"no Service for this Gateway in the input; class "
                f"{gw.spec.get('gatewayClassName')!r} is not Istio's: taken as a load balancer",
            )
        assumed = R.service_reach(
            {
                "metadata": {"annotations": gw.annotations},
                "spec": {"type": svc_type},
                "status": {"loadBalancer": {"ingress": [{"ip": a} for a in sorted(addresses)]}},
            }
        )
        return Frontend(
            services=services,
            external=external,
            addresses=tuple(sorted(addresses)),
            notes=notes,
            assumed=assumed,
        )
    return Frontend(services=services, external=external, addresses=tuple(sorted(addresses)))


def listener_external(front: Frontend, ports: Sequence[ServicePort]) -> bool:
    """A listener is reachable from outside when an external Service carries its port; a port no
    Service carries (GW002) is not reachable at all, whatever the Service's type."""
    if not front.services:
        return front.external
    carrying = {(p.namespace, p.name) for p in ports}
    return any(service_is_external(s) for s in front.services if (s.namespace, s.name) in carrying)


def listener_reach(front: Frontend, ports: Sequence[ServicePort]) -> R.Reach:
    """The widest reachability class among the Services that carry a listener's port (cluster
    when none does)."""
    if not front.services:
        return front.assumed or R.Reach(R.CLUSTER, "no Service")
    carrying = {(p.namespace, p.name) for p in ports}
    return R.widest(
        [R.service_reach(s.raw) for s in front.services if (s.namespace, s.name) in carrying]
    )


def internet_servers(index: MeshIndex, gw: KObject) -> Iterator[tuple[int, dict[str, Any], bool]]:
    """Each server of an Istio Gateway with whether the internet reaches it."""
    for i, server, reach in server_reaches(index, gw):
        yield i, server, reach.internet


def istio_servers(index: MeshIndex, gw: KObject) -> Iterator[tuple[int, dict[str, Any], bool]]:
    """Each server of an Istio Gateway with whether it is exposed: per server, since only the
    ports an external Service carries are, and only when that Service is not an internal or
    source-restricted load balancer (checks and the exposure map judge reach the same way)."""
    for i, server, reach in server_reaches(index, gw):
        yield i, server, reach.cls in EXPOSED


def server_reaches(index: MeshIndex, gw: KObject) -> Iterator[tuple[int, dict[str, Any], R.Reach]]:
    """Each server of an Istio Gateway with the reachability class of its port."""
    front = istio_gateway_frontend(index, gw)
    workloads = index.gateway_workloads(gw)
    for i, server in enumerate(gw.spec.get("servers") or ()):
        number = (server.get("port") or {}).get("number")
        ports = (
            istio_service_ports(front.services, number, workloads)
            if isinstance(number, int)
            else ()
        )
        yield i, server, listener_reach(front, ports)


def _workload_names(workloads: Iterable[Workload]) -> tuple[str, ...]:
    return tuple(sorted({f"{w.namespace}/{w.obj.name}" for w in workloads if not w.owned}))


def _container_port(workloads: Iterable[Workload], name: str) -> int | None:
    for w in workloads:
        for c in w.pod_spec.get("containers") or ():
            for p in c.get("ports") or ():
                if p.get("name") == name and isinstance(p.get("containerPort"), int):
                    return int(p["containerPort"])
    return None


def _service_port(svc: KObject, port: dict[str, Any]) -> ServicePort:
    target = port.get("targetPort")
    node = port.get("nodePort")
    return ServicePort(
        namespace=svc.namespace,
        name=svc.name,
        type=str(svc.spec.get("type") or "ClusterIP"),
        port=int(port["port"]),
        target_port=target if isinstance(target, int | str) else None,
        node_port=node if isinstance(node, int) else None,
    )


def istio_service_ports(
    services: Sequence[KObject], number: int, workloads: Sequence[Workload]
) -> tuple[ServicePort, ...]:
    """Service ports that deliver to a Gateway server port: its targetPort is the server's port
    (a named targetPort resolved through the gateway pods' container ports), or the Service port
    equals it (Istio translates a Service port to its targetPort)."""
    out: list[ServicePort] = []
    for svc in services:
        for port in svc.spec.get("ports") or ():
            if not isinstance(port.get("port"), int) or (port.get("protocol") or "TCP") != "TCP":
                continue
            target = port.get("targetPort")
            if isinstance(target, str):
                target = _container_port(workloads, target)
            if target is None:
                target = port["port"]
            if target == number or port["port"] == number:
                out.append(_service_port(svc, port))
    return tuple(sorted(out))


def k8s_service_ports(services: Sequence[KObject], number: int) -> tuple[ServicePort, ...]:
    """The auto-deployed Service exposes each listener port as a Service port of that number."""
    out = [
        _service_port(svc, port)
        for svc in services
        for port in svc.spec.get("ports") or ()
        if port.get("port") == number
    ]
    return tuple(sorted(out))


# ---- Istio Gateway ------------------------------------------------------------------------


def _route_applies(route: dict[str, Any], gateway_names: set[str], port: int) -> bool:
    """A route's matches narrow it by `gateways` (none: all of the VS's) and by `port`."""
    matches = route.get("match") or []
    if not matches:
        return True
    for match in matches:
        gws = match.get("gateways")
        if gws and not gateway_names.intersection(gws):
            continue
        if isinstance(match.get("port"), int) and match["port"] != port:
            continue
        return True
    return False


def _destination(dest: dict[str, Any], namespace: str) -> str | None:
    host = dest.get("host")
    if not isinstance(host, str) or not host:
        return None
    name = H.fqdn(host, namespace)
    number = (dest.get("port") or {}).get("number")
    return f"{name}:{number}" if isinstance(number, int) else name


def route_section(protocol: str, tls_mode: str) -> str:
    """Which VirtualService route list serves a Gateway server: `http` for HTTP and terminated
    HTTPS, `tls` for passthrough TLS, `tcp` for TCP and terminated TLS."""
    if tls_mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        return "tls"
    if protocol in (*PLAINTEXT_HTTP, "HTTPS"):
        return "http"
    return "tcp"


def route_rules(
    vs: KObject, gateway_names: Iterable[str], section: str | None = None, port: int = 0
) -> list[RouteRule]:
    """The VirtualService's rules that apply on the gateway: their matches and destinations
    (`host[:port]`, host as FQDN). A rule with only a `redirect` sends nowhere."""
    names = set(gateway_names)
    out: list[RouteRule] = []
    for name in (section,) if section else ("http", "tls", "tcp"):
        for route in vs.spec.get(name) or ():
            if not _route_applies(route, names, port):
                continue
            applying = [
                m
                for m in route.get("match") or ()
                if not (m.get("gateways") and not names.intersection(m["gateways"]))
                and not (isinstance(m.get("port"), int) and m["port"] != port)
            ]
            backends = tuple(
                found
                for dest in route.get("route") or ()
                if (found := _destination(dest.get("destination") or {}, vs.namespace))
            )
            out.append(
                RouteRule(
                    route=vs.ref,
                    match=M.either(M.istio_http_match(m) for m in applying),
                    backends=backends,
                    redirect=bool(route.get("redirect")) and not backends,
                )
            )
    return out


def route_destinations(
    vs: KObject, gateway_names: Iterable[str], section: str | None = None, port: int = 0
) -> list[str]:
    """Destinations (`host[:port]`, host as FQDN) of the routes that apply on the gateway."""
    return [b for rule in route_rules(vs, gateway_names, section, port) for b in rule.backends]


def ref_names(vs: KObject, gw: KObject) -> list[str]:
    """The spellings a VirtualService may use for this Gateway inside match.gateways."""
    names = [f"{gw.namespace}/{gw.name}"]
    if vs.namespace == gw.namespace:
        names += [gw.name, f"./{gw.name}"]
    return names


def server_key(server: dict[str, Any]) -> str:
    """A server's identity for stable finding ids: its port and hosts (servers often share a
    port, and their index shifts when one is inserted)."""
    number = (server.get("port") or {}).get("number")
    return f"{number}/{','.join(str(h) for h in server.get('hosts') or ())}"


def server_tls_mode(server: dict[str, Any]) -> tuple[bool, bool, str]:
    """(TLS served, redirect-only, mode) for an Istio Gateway server."""
    protocol = str((server.get("port") or {}).get("protocol") or "").upper()
    tls = server.get("tls") or {}
    if protocol in TLS_PROTOCOLS:
        return True, False, str(tls.get("mode") or "SIMPLE")
    redirect = bool(tls.get("httpsRedirect")) and protocol in (*PLAINTEXT_HTTP, "")
    return False, redirect, "REDIRECT" if redirect else "NONE"


def gateway_exposure(index: MeshIndex, gw: KObject) -> Iterator[ExposureEntry]:
    front = istio_gateway_frontend(index, gw)
    workloads = index.gateway_workloads(gw)
    bound = index.bound_virtual_services(gw)
    for i, server in enumerate(gw.spec.get("servers") or ()):
        port = server.get("port") or {}
        number = port.get("number")
        if not isinstance(number, int):
            continue
        protocol = str(port.get("protocol") or "").upper()
        is_tls, redirect, tls_mode = server_tls_mode(server)
        listener = f"servers[{i}]" + (f" ({server['name']})" if server.get("name") else "")
        ports = istio_service_ports(front.services, number, workloads)
        served: dict[str, tuple[list[ResourceRef], list[RouteRule]]] = {}
        for raw_host in server.get("hosts") or ():
            ghost = H.parse_gateway_host(raw_host, gw.namespace)
            for vs in bound:
                if not ghost.allows_namespace(vs.namespace):
                    continue
                for vs_host in vs.spec.get("hosts") or ():
                    vh = H.normalize(vs_host)
                    if not H.intersects(ghost.host, vh):
                        continue
                    routes, rules = served.setdefault(H.more_specific(ghost.host, vh), ([], []))
                    routes.append(vs.ref)
                    if not redirect:
                        rules.extend(
                            route_rules(
                                vs, ref_names(vs, gw), route_section(protocol, tls_mode), number
                            )
                        )
            if not any(H.intersects(ghost.host, h) for h in served):
                served.setdefault(ghost.host, ([], []))
        reach = listener_reach(front, ports)
        for host, (routes, rules) in served.items():
            backends = [b for rule in rules for b in rule.backends]
            yield ExposureEntry(
                host=host,
                port=number,
                protocol=protocol,
                tls=is_tls,
                tls_mode=tls_mode,
                gateway=gw.ref,
                listener=listener,
                external=listener_external(front, ports),
                addresses=front.addresses,
                routes=tuple(sorted(set(routes))),
                backends=tuple(sorted(set(backends))),
                redirect_only=redirect,
                service_ports=ports,
                rules=tuple(dict.fromkeys(rules)),
                entry="istio-gateway",
                reachability=reach.cls,
                reach_reason=reach.reason,
                source_ranges=reach.source_ranges,
                workloads=_workload_names(workloads),
            )


# ---- Gateway API --------------------------------------------------------------------------


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
        for host, (refs, rules) in served.items():
            redirect_only = protocol == "HTTP" and bool(rules) and all(r.redirect for r in rules)
            bks = [b for rule in rules for b in rule.backends]
            yield ExposureEntry(
                host=host,
                port=number,
                protocol=protocol,
                tls=protocol in TLS_PROTOCOLS,
                tls_mode=mode or ("REDIRECT" if redirect_only else "NONE"),
                gateway=gw.ref,
                listener=f"listeners[{i}] ({listener.get('name') or ''})",
                external=listener_external(front, service_ports),
                addresses=front.addresses,
                routes=tuple(sorted(set(refs))),
                backends=tuple(sorted(set(bks))),
                redirect_only=redirect_only,
                service_ports=service_ports,
                notes=front.notes,
                rules=tuple(dict.fromkeys(rules)),
                entry="gateway-api",
                reachability=reach.cls,
                reach_reason=reach.reason,
                source_ranges=reach.source_ranges,
            )


def build_exposure(index: MeshIndex) -> list[ExposureEntry]:
    entries: list[ExposureEntry] = []
    for gw in index.snapshot.objects(K_GATEWAY):
        entries.extend(gateway_exposure(index, gw))
    for kgw in index.snapshot.objects(K_KGATEWAY):
        if index.is_istio_k8s_gateway(kgw):
            entries.extend(k8s_gateway_exposure(index, kgw))
    return sorted(entries, key=ExposureEntry.sort_key)

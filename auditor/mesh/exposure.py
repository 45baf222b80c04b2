"""The exposure map: every host and port a gateway serves, from its addresses to its backends.

Istio Gateways (here): the workloads the selector picks, the Services in front of them
(auditor/mesh/exposure_frontend.py), the Service port and targetPort that carry each server's port,
the server's protocol, hosts and TLS, the VirtualServices bound to it whose hosts intersect the
server's, and their destinations. Gateway API Gateways of Istio's class:
auditor/mesh/exposure_gatewayapi.py.

One entry per served host and port. A plaintext port that only redirects to HTTPS serves no
backend (`redirect_only`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from auditor.base.model import ExposureEntry, ResourceRef, RouteRule
from auditor.input.snapshot import KObject
from auditor.istio import gateway_merge as GM
from auditor.istio import gateway_routes as G
from auditor.istio import hosts as H
from auditor.istio import matches as M
from auditor.istio import reachability as R
from auditor.mesh.exposure_frontend import (
    EXPOSED,
    PLAINTEXT_HTTP,
    TLS_PROTOCOLS,
    istio_gateway_frontend,
    istio_service_ports,
    lb_terminated,
    listener_external,
    listener_lb_tls,
    listener_reach,
)
from auditor.mesh.exposure_gatewayapi import k8s_gateway_exposure
from auditor.mesh.index import K_GATEWAY, K_KGATEWAY, MeshIndex, Workload


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


def server_reaches(index: MeshIndex, gw: KObject) -> list[tuple[int, dict[str, Any], R.Reach]]:
    """Each server of an Istio Gateway with the reachability class of its port; worked out once
    per Gateway (several TLS and gateway checks ask of every Gateway)."""
    made = index.cached(_reaches)
    found = made.get((gw.namespace, gw.name))
    if found is None:
        found = made[(gw.namespace, gw.name)] = list(_server_reaches(index, gw))
    return found


def _reaches(index: MeshIndex) -> dict[tuple[str, str], list[tuple[int, dict[str, Any], R.Reach]]]:
    return {}


def _server_reaches(index: MeshIndex, gw: KObject) -> Iterator[tuple[int, dict[str, Any], R.Reach]]:
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


def _rule(vs: KObject, applied: G.AppliedRoute) -> RouteRule:
    """A route that applies on the gateway: its matches and destinations (`host[:port]`, host
    as FQDN). A rule with only a `redirect` sends nowhere."""
    route = applied.route
    backends = tuple(
        found
        for dest in route.get("route") or ()
        if (found := _destination(dest.get("destination") or {}, vs.namespace))
    )
    return RouteRule(
        route=vs.ref,
        match=M.either(M.istio_http_match(m) for m in applied.matches),
        backends=backends,
        redirect=bool(route.get("redirect")) and not backends,
    )


def _proxies(workloads: Iterable[Workload]) -> tuple[G.Proxy, ...]:
    return tuple(G.Proxy(namespace=w.namespace, labels=w.labels) for w in workloads)


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


def dropped_servers(index: MeshIndex) -> set[tuple[str, str, int]]:
    """(namespace, Gateway, server index) of the servers istiod drops on every gateway workload
    their Gateway selects: replayed per workload in istiod's reading order
    (auditor/istio/gateway_merge.py `rejected`)."""
    return index.cached(_dropped)


def _dropped(index: MeshIndex) -> set[tuple[str, str, int]]:
    by_workload: dict[tuple[str, str, str], list[KObject]] = {}
    for gw in index.snapshot.objects(K_GATEWAY):
        for w in index.gateway_workloads(gw):
            by_workload.setdefault(w.key, []).append(gw)
    kept: set[tuple[str, str, int]] = set()
    seen: set[tuple[str, str, int]] = set()
    for gateways in by_workload.values():
        ordered = sorted(
            gateways,
            key=lambda g: GM.reading_order(
                g.metadata.get("creationTimestamp"), g.name, g.namespace
            ),
        )
        servers = [
            GM.merge_server(g.namespace, g.name, i, s)
            for g in ordered
            for i, s in enumerate(g.spec.get("servers") or ())
            if isinstance(s, dict)
        ]
        dropped = GM.rejected(servers)
        for s in servers:
            key = (*s.gateway, s.index)
            seen.add(key)
            if (s.gateway, s.index) not in dropped:
                kept.add(key)
    return seen - kept


def gateway_exposure(index: MeshIndex, gw: KObject) -> Iterator[ExposureEntry]:
    front = istio_gateway_frontend(index, gw)
    dropped = dropped_servers(index)
    workloads = index.gateway_workloads(gw)
    bound = index.bound_virtual_services(gw)
    proxies = _proxies(workloads)
    gw_name = f"{gw.namespace}/{gw.name}"
    for i, server in enumerate(gw.spec.get("servers") or ()):
        port = server.get("port") or {}
        number = port.get("number")
        if not isinstance(number, int) or (gw.namespace, gw.name, i) in dropped:
            continue  # istiod drops a server it cannot merge with one read before (GW003)
        protocol = str(port.get("protocol") or "").upper()
        is_tls, redirect, tls_mode = server_tls_mode(server)
        listener = f"servers[{i}]" + (f" ({server['name']})" if server.get("name") else "")
        ports = istio_service_ports(front.services, number, workloads)
        served: dict[str, tuple[list[ResourceRef], list[RouteRule]]] = {}
        section = route_section(protocol, tls_mode)
        # per VirtualService, the routes that apply on this gateway and port (auditor/istio/
        # gateway_routes.py): none, and the VirtualService gives the server no virtual host
        applied = {
            (vs.namespace, vs.name): G.routes_on_gateway(
                vs.spec, vs.namespace, gw_name, section, number, proxies
            )
            for vs in bound
        }
        for raw_host in server.get("hosts") or ():
            ghost = H.parse_gateway_host(raw_host, gw.namespace)
            for vs in bound:
                if not ghost.allows_namespace(vs.namespace):
                    continue
                if not redirect and not applied[(vs.namespace, vs.name)]:
                    continue
                for vs_host in vs.spec.get("hosts") or ():
                    vh = H.normalize(vs_host)
                    if not H.intersects(ghost.host, vh):
                        continue
                    shared = H.more_specific(ghost.host, vh)
                    if redirect:
                        served.setdefault(shared, ([], []))[0].append(vs.ref)
                        continue
                    for route in applied[(vs.namespace, vs.name)]:
                        for host in G.served_hosts(route, shared):
                            routes, rules = served.setdefault(host, ([], []))
                            routes.append(vs.ref)
                            rules.append(_rule(vs, route))
            if not any(H.intersects(ghost.host, h) for h in served):
                served.setdefault(ghost.host, ([], []))
        reach = listener_reach(front, ports)
        lb_tls = None if redirect else listener_lb_tls(front, ports)
        edge_tls, edge_mode, notes = lb_terminated(is_tls, tls_mode, lb_tls)
        for host, (routes, rules) in served.items():
            backends = [b for rule in rules for b in rule.backends]
            yield ExposureEntry(
                host=host,
                port=number,
                protocol=protocol,
                tls=edge_tls,
                tls_mode=edge_mode,
                notes=notes,
                lb_tls=lb_tls,
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


def build_exposure(index: MeshIndex) -> list[ExposureEntry]:
    """Every Istio and Istio-class Gateway API gateway's entries, sorted; built once per index
    and shared by the models, checks and report (read-only)."""
    return index.cached(_exposure).entries


def istio_gateway_exposure(index: MeshIndex, gw: KObject) -> list[ExposureEntry]:
    """`gateway_exposure` of one Istio Gateway, in its order, from the model built once."""
    return index.cached(_exposure).by_gateway.get((gw.namespace, gw.name), [])


class _Exposure:
    def __init__(self, entries: list[ExposureEntry], by_gateway: dict[Any, list[ExposureEntry]]):
        self.entries = entries
        self.by_gateway = by_gateway  # Istio Gateway (namespace, name) -> its entries


def _exposure(index: MeshIndex) -> _Exposure:
    entries: list[ExposureEntry] = []
    by_gateway: dict[Any, list[ExposureEntry]] = {}
    for gw in index.snapshot.objects(K_GATEWAY):
        own = by_gateway[(gw.namespace, gw.name)] = list(gateway_exposure(index, gw))
        entries.extend(own)
    for kgw in index.snapshot.objects(K_KGATEWAY):
        if index.is_istio_k8s_gateway(kgw):
            entries.extend(k8s_gateway_exposure(index, kgw))
    return _Exposure(sorted(entries, key=ExposureEntry.sort_key), by_gateway)

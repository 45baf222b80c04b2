"""The exposure map: every host and port a gateway serves, from its addresses to its backends.

For each Istio Gateway: the workloads its selector picks, the Services in front of them (external
when LoadBalancer, NodePort or externalIPs), each server's port, protocol, hosts and TLS, the
VirtualServices bound to it whose hosts intersect the server's, and the destinations they route to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from auditor.index import K_GATEWAY, MeshIndex
from auditor.istio import hosts as H
from auditor.model import ExposureEntry, ResourceRef
from auditor.snapshot import KObject

TLS_PROTOCOLS = {"HTTPS", "TLS"}


def service_is_external(svc: KObject) -> bool:
    spec = svc.spec
    return spec.get("type") in ("LoadBalancer", "NodePort") or bool(spec.get("externalIPs"))


def service_addresses(svc: KObject) -> list[str]:
    """LoadBalancer IPs/hostnames, external IPs, and node ports (as `node:<port>`)."""
    out: list[str] = []
    status = svc.raw.get("status") or {}
    for ingress in ((status.get("loadBalancer") or {}).get("ingress")) or ():
        for key in ("ip", "hostname"):
            if ingress.get(key):
                out.append(str(ingress[key]))
    out.extend(str(ip) for ip in svc.spec.get("externalIPs") or ())
    if svc.spec.get("type") in ("LoadBalancer", "NodePort"):
        for port in svc.spec.get("ports") or ():
            if port.get("nodePort"):
                out.append(f"node:{port['nodePort']}")
    return out


def _route_applies(route: dict[str, Any], gateway: str) -> bool:
    """A route's `match[].gateways` narrows it to those gateways; none means all of the VS's."""
    matches = route.get("match") or []
    if not matches:
        return True
    for match in matches:
        gws = match.get("gateways")
        if not gws or gateway in gws:
            return True
    return False


def route_destinations(vs: KObject, gateway_names: Iterable[str]) -> list[str]:
    """Destination host FQDNs of the routes that apply on the given gateway."""
    names = set(gateway_names)
    out: list[str] = []
    for section in ("http", "tls", "tcp"):
        for route in vs.spec.get(section) or ():
            if not any(_route_applies(route, n) for n in names):
                continue
            for dest in route.get("route") or ():
                host = (dest.get("destination") or {}).get("host")
                if isinstance(host, str) and host:
                    out.append(H.fqdn(host, vs.namespace))
    return out


def _ref_names(vs: KObject, gw: KObject) -> list[str]:
    """The spellings a VirtualService may use for this Gateway inside match.gateways."""
    return [
        gw.name,
        f"{gw.namespace}/{gw.name}",
        f"./{gw.name}" if vs.namespace == gw.namespace else f"{gw.namespace}/{gw.name}",
    ]


def gateway_exposure(index: MeshIndex, gw: KObject) -> Iterator[ExposureEntry]:
    services = index.gateway_services(gw)
    external = any(service_is_external(s) for s in services)
    addresses = sorted(
        {a for s in services if service_is_external(s) for a in service_addresses(s)}
    )
    bound = index.bound_virtual_services(gw)
    for i, server in enumerate(gw.spec.get("servers") or ()):
        port = server.get("port") or {}
        number = port.get("number")
        if not isinstance(number, int):
            continue
        protocol = str(port.get("protocol") or "").upper()
        tls = server.get("tls") or {}
        redirect = bool(tls.get("httpsRedirect")) and protocol in ("HTTP", "HTTP2", "")
        is_tls = protocol in TLS_PROTOCOLS
        tls_mode = (
            str(tls.get("mode") or ("SIMPLE" if is_tls else ""))
            if is_tls
            else ("REDIRECT" if redirect else "NONE")
        )
        listener = f"servers[{i}]" + (f" ({server['name']})" if server.get("name") else "")
        for raw_host in server.get("hosts") or ():
            ghost = H.parse_gateway_host(raw_host, gw.namespace)
            served: dict[str, tuple[list[ResourceRef], list[str]]] = {}
            for vs in bound:
                if not ghost.allows_namespace(vs.namespace):
                    continue
                for vs_host in vs.spec.get("hosts") or ():
                    vh = H.normalize(vs_host)
                    if not H.intersects(ghost.host, vh):
                        continue
                    host = H.more_specific(ghost.host, vh)
                    routes, backends = served.setdefault(host, ([], []))
                    routes.append(vs.ref)
                    if not redirect:
                        backends.extend(route_destinations(vs, _ref_names(vs, gw)))
            if not served:
                served[ghost.host] = ([], [])
            for host, (routes, backends) in served.items():
                yield ExposureEntry(
                    host=host,
                    port=number,
                    protocol=protocol,
                    tls=is_tls,
                    tls_mode=tls_mode,
                    gateway=gw.ref,
                    listener=listener,
                    external=external,
                    addresses=tuple(addresses),
                    routes=tuple(sorted(set(routes))),
                    backends=tuple(sorted(set(backends))),
                    redirect_only=redirect,
                )


def build_exposure(index: MeshIndex) -> list[ExposureEntry]:
    entries: list[ExposureEntry] = []
    for gw in index.snapshot.objects(K_GATEWAY):
        entries.extend(gateway_exposure(index, gw))
    return sorted(entries, key=ExposureEntry.sort_key)

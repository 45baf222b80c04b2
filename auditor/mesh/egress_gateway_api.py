"""Egress through a Gateway API gateway, as Istio's egress tasks configure it (the "Gateway API"
tabs of istio/istio.io content/en/docs/tasks/traffic-management/egress/egress-gateway/ and
egress-gateway-tls-origination/):

1. a Gateway of an Istio class, usually with `networking.istio.io/service-type: ClusterIP`, with
   a listener for the external host (HTTP, or HTTPS terminating Istio mTLS with the
   `gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL` option);
2. a mesh route: an HTTPRoute/GRPCRoute/TLSRoute/TCPRoute whose parentRef is the host's
   ServiceEntry (group `networking.istio.io`) or a Service, with a backendRef to the gateway's
   Service (`<gateway>-<class>`, auto-deployed by Istio);
3. a gateway route attached to the Gateway whose backendRef is the external host (kind
   `Hostname`, group `networking.istio.io`, or the host's Service), on the port the gateway
   sends to (443 when a DestinationRule originates TLS there).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.input.kinds import ISTIO_NET
from auditor.istio import gatewayapi as GA
from auditor.istio import hosts as H

if TYPE_CHECKING:
    from auditor.input.snapshot import KObject
    from auditor.mesh.index import MeshIndex

# Which parent ports a mesh route of each kind applies to, by the port's protocol.
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})
ROUTE_PROTOCOLS: dict[str, frozenset[str] | None] = {
    "HTTPRoute": HTTP_PROTOCOLS,
    "GRPCRoute": HTTP_PROTOCOLS,
    "TLSRoute": frozenset({"TLS", "HTTPS"}),
    "TCPRoute": None,  # any port
}


@dataclass(frozen=True, slots=True)
class MeshParent:
    """A route parentRef naming a ServiceEntry or a Service: the route is mesh routing."""

    kind: str  # ServiceEntry | Service
    namespace: str
    name: str
    port: int | None


def mesh_parents(spec: Mapping[str, Any], route_namespace: str) -> list[MeshParent]:
    out = []
    for raw in spec.get("parentRefs") or ():
        if not isinstance(raw, Mapping):
            continue
        group = str(raw.get("group") or "")
        kind = str(raw.get("kind") or "")
        if (group, kind) not in ((ISTIO_NET, "ServiceEntry"), ("", "Service")):
            continue
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            continue
        port = raw.get("port")
        out.append(
            MeshParent(
                kind=kind,
                namespace=str(raw.get("namespace") or route_namespace),
                name=name,
                port=port if isinstance(port, int) else None,
            )
        )
    return out


def _service_protocol(port: Mapping[str, Any]) -> str:
    from auditor.istio.k8s_external import port_protocol

    return port_protocol(port)


def _applicable(
    ports: Mapping[int, str], wanted: frozenset[str] | None, parent_port: int | None
) -> set[int]:
    """The parent's ports a route applies to: its parentRef port if set, else every port whose
    protocol the route kind carries."""
    return {
        n
        for n, protocol in ports.items()
        if (parent_port is None or n == parent_port) and (wanted is None or protocol in wanted)
    }


def backend_is_host(ref: GA.BackendRef, host: str, domain: str) -> bool:
    """A gateway route backendRef that sends to `host`: a `Hostname` backend, or the Service
    whose name the host is."""
    if ref.group == ISTIO_NET and ref.kind == "Hostname":
        return H.normalize(ref.name) == host
    if ref.group == "" and ref.kind == "Service":
        return f"{ref.name}.{ref.namespace}.svc.{domain}" == host
    return False


@dataclass(frozen=True, slots=True)
class GatewayApiLeg:
    route: KObject  # the mesh route
    service: KObject  # the gateway's Service it sends to
    gateway: KObject  # the Gateway API Gateway
    upstream_ports: tuple[int, ...]  # ports the gateway route sends the host on to
    problems: tuple[str, ...]


class GatewayApiEgress:
    """Mesh routes to Gateway API egress gateways, per external host; build once per index."""

    def __init__(self, index: MeshIndex) -> None:
        from auditor.mesh.index import K_SE, ROUTE_KINDS

        self.index = index
        self.gateway_by_service: dict[tuple[str, str], KObject] = {}
        for gw in sorted(index.k8s_gateways.values(), key=lambda g: (g.namespace, g.name)):
            if not index.is_istio_k8s_gateway(gw):
                continue
            for svc in index.k8s_gateway_services(gw):
                self.gateway_by_service.setdefault((svc.namespace, svc.name), gw)
        # host -> (mesh route, the ports of its parent it applies to)
        self.routes_by_host: dict[str, list[tuple[KObject, set[int]]]] = {}
        for key in ROUTE_KINDS:
            for route in index.snapshot.objects(key):
                for parent in mesh_parents(route.spec, route.namespace):
                    for host, ports in self._parent_hosts(parent, route.kind, K_SE):
                        self.routes_by_host.setdefault(host, []).append((route, ports))

    def _parent_hosts(
        self, parent: MeshParent, route_kind: str, k_se: str
    ) -> Iterator[tuple[str, set[int]]]:
        """(host, ports the route applies to) for a ServiceEntry or Service parentRef."""
        wanted = ROUTE_PROTOCOLS.get(route_kind)
        if parent.kind == "Service":
            svc = self.index.snapshot.get("Service", parent.namespace, parent.name)
            ports: dict[int, str] = {}
            for p in (svc.spec.get("ports") or ()) if svc is not None else ():
                if isinstance(p, Mapping) and isinstance(p.get("port"), int):
                    ports[p["port"]] = _service_protocol(p)
            host = f"{parent.name}.{parent.namespace}.svc.{self.index.domain}"
            yield host, _applicable(ports, wanted, parent.port)
            return
        se = self.index.snapshot.get(k_se, parent.namespace, parent.name)
        if se is None:
            return
        se_ports = {
            p["number"]: str(p.get("protocol") or "TCP").upper()
            for p in se.spec.get("ports") or ()
            if isinstance(p, Mapping) and isinstance(p.get("number"), int)
        }
        for host in se.spec.get("hosts") or ():
            yield (
                H.fqdn(str(host), se.namespace, self.index.domain),
                _applicable(se_ports, wanted, parent.port),
            )

    def leg(self, host: str, port: int) -> GatewayApiLeg | None:
        """The mesh route sending `host:port` to a Gateway API gateway, and its wiring."""
        best: GatewayApiLeg | None = None
        for route, ports in self.routes_by_host.get(host, ()):
            if port not in ports:
                continue
            for rule in route.spec.get("rules") or ():
                if not isinstance(rule, Mapping):
                    continue
                for ref in GA.backend_refs(route.namespace, rule):
                    if ref.group or ref.kind != "Service":
                        continue
                    gw = self.gateway_by_service.get((ref.namespace, ref.name))
                    if gw is None:
                        continue
                    svc = self.index.snapshot.get("Service", ref.namespace, ref.name)
                    if svc is None:
                        continue
                    candidate = self._gateway_leg(host, route, svc, gw, ref.port)
                    if best is None or (not candidate.problems and best.problems):
                        best = candidate
        return best

    def _gateway_leg(
        self, host: str, route: KObject, svc: KObject, gw: KObject, port: int | None
    ) -> GatewayApiLeg:
        problems: list[str] = []
        listeners = [
            lst
            for lst in gw.spec.get("listeners") or ()
            if isinstance(lst, Mapping)
            and (port is None or lst.get("port") == port)
            and (not lst.get("hostname") or H.matches(H.normalize(str(lst.get("hostname"))), host))
        ]
        if not listeners:
            problems.append(
                f"Gateway {gw.namespace}/{gw.name} has no listener for {host}"
                + (f" on port {port}" if port is not None else "")
            )
        upstream = sorted(self.upstream_ports(host, gw))
        if not upstream:
            problems.append(
                f"no route attached to Gateway {gw.namespace}/{gw.name} sends {host} on to the "
                "external host"
            )
        return GatewayApiLeg(
            route=route,
            service=svc,
            gateway=gw,
            upstream_ports=tuple(upstream),
            problems=tuple(problems),
        )

    def upstream_ports(self, host: str, gw: KObject) -> set[int]:
        """Ports of `host` the routes attached to `gw` send it on to."""
        out: set[int] = set()
        for route, _i, _pref in self.index.attached_routes(gw):
            hostnames = [H.normalize(str(h)) for h in route.spec.get("hostnames") or ()]
            if hostnames and not any(H.matches(h, host) for h in hostnames):
                continue
            for rule in route.spec.get("rules") or ():
                if not isinstance(rule, Mapping):
                    continue
                for ref in GA.backend_refs(route.namespace, rule):
                    if backend_is_host(ref, host, self.index.domain) and ref.port is not None:
                        out.add(ref.port)
        return out

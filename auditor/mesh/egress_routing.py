"""How traffic to an external host leaves the mesh: through an egress gateway, or directly.

The pattern of Istio's egress tasks
(https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/ and
.../egress-gateway-tls-origination/), per external host and port:

1. a ServiceEntry registers the host;
2. a Gateway selecting the egress gateway pods has a server for the host on the port the
   gateway listens on;
3. a VirtualService bound to `mesh` and that Gateway has a mesh leg (a route whose match names
   `mesh`, or no gateways) sending the host's traffic to the egress gateway's Service, and a
   gateway leg (match gateways naming the Gateway) sending it on to the external host;
4. a DestinationRule subset named by the mesh leg must exist; TLS origination happens where a
   DestinationRule for the external host sets `tls.mode` SIMPLE or MUTUAL: at the egress gateway
   when the host is routed through it, else at the sidecar.

Istio documents that `resolution: NONE` ServiceEntries must not be routed through the egress
gateway (the gateway would forward to the original destination, which is itself: a loop).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.input.kinds import GATEWAY_API
from auditor.istio import hosts as H
from auditor.istio.mtls import client_tls_modes
from auditor.istio.refs import GatewayRef, resolve_gateway_name
from auditor.mesh.egress_gateway_api import GatewayApiEgress

if TYPE_CHECKING:
    from auditor.input.snapshot import KObject
    from auditor.mesh.index import MeshIndex

ROUTE_KINDS = ("http", "tls", "tcp")
ORIGINATING = frozenset({"SIMPLE", "MUTUAL"})


@dataclass(frozen=True, slots=True)
class PortRoute:
    port: int
    service: KObject | None  # egress gateway Service the mesh leg sends this port to
    gateway: KObject | None  # the Gateway that carries it on, when found
    mesh_leg: KObject | None  # VirtualService (or Gateway API mesh route) holding the mesh leg
    problems: tuple[str, ...]  # what is missing in the wiring

    @property
    def routed(self) -> bool:
        return self.service is not None

    @property
    def complete(self) -> bool:
        return self.routed and self.gateway is not None and not self.problems


def external_service_entry(se: KObject) -> bool:
    """Istio's default location is MESH_EXTERNAL."""
    return str(se.spec.get("location") or "MESH_EXTERNAL").upper() != "MESH_INTERNAL"


def route_rules(spec: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    for kind in ROUTE_KINDS:
        for i, rule in enumerate(spec.get(kind) or ()):
            if isinstance(rule, Mapping):
                yield kind, i, rule


def rule_applies(
    rule: Mapping[str, Any], namespace: str, target: GatewayRef | None, port: int | None
) -> bool:
    """Whether a route rule serves traffic arriving at `target` (None = mesh) on `port`."""
    matches = rule.get("match") or []
    if not matches:
        return True
    for m in matches:
        gateways = m.get("gateways")
        if gateways:
            refs = {resolve_gateway_name(g, namespace) for g in gateways}
            if target not in refs:
                continue
        if port is not None and m.get("port") is not None and m.get("port") != port:
            continue
        return True
    return False


def destinations(rule: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for j, rd in enumerate(rule.get("route") or ()):
        dest = rd.get("destination") if isinstance(rd, Mapping) else None
        if isinstance(dest, Mapping):
            yield j, dest


class EgressRouting:
    """Egress routes for every external host; build once per MeshIndex."""

    def __init__(self, index: MeshIndex) -> None:
        self.index = index
        snap = index.snapshot
        from auditor.mesh.index import K_DR, K_SE, K_VS

        # Services that front gateway workloads, and the Gateways selecting those workloads.
        self.gateways_by_service: dict[tuple[str, str], list[KObject]] = {}
        self.gateway_services: dict[tuple[str, str], KObject] = {}
        for gw in sorted(index.gateways.values(), key=lambda g: (g.namespace, g.name)):
            for svc in index.gateway_services(gw):
                key = (svc.namespace, svc.name)
                self.gateway_services[key] = svc
                self.gateways_by_service.setdefault(key, []).append(gw)
        for w in index.workloads:
            if w.labels.get("istio") == "egressgateway" or index.is_gateway(w):
                for svc in index.services_for(w):
                    self.gateway_services.setdefault((svc.namespace, svc.name), svc)

        self.mesh_vs_hosts = H.HostSet()
        for vs in index.mesh_virtual_services:
            for host in vs.spec.get("hosts") or ():
                self.mesh_vs_hosts.add(H.fqdn(host, vs.namespace, index.domain), vs)

        self.dr_hosts = H.HostSet()
        self.dr_by_host: dict[str, list[KObject]] = {}
        for dr in snap.objects(K_DR):
            host = dr.spec.get("host")
            if host:
                name = H.fqdn(host, dr.namespace, index.domain)
                self.dr_hosts.add(name, dr)
                self.dr_by_host.setdefault(name, []).append(dr)

        self.external_entries: list[KObject] = [
            se for se in snap.objects(K_SE) if external_service_entry(se)
        ]
        self._vs_all = list(snap.objects(K_VS))
        self.gateway_api = GatewayApiEgress(index)
        self._cache: dict[tuple[str, int], PortRoute] = {}

    # ---- lookups ---------------------------------------------------------------------------

    def _mesh_vs_for(self, host: str) -> list[KObject]:
        """Mesh VirtualServices that route all of `host`: one whose hosts only overlap it (a
        VirtualService for api.stripe.com under a ServiceEntry for *.com) leaves the rest of
        the host's traffic on the default, direct route."""
        found = _kobjects(self.mesh_vs_hosts.lookup(host))
        unique: dict[tuple[str, str], KObject] = {}
        for vs in found:
            unique.setdefault((vs.namespace, vs.name), vs)
        return [unique[k] for k in sorted(unique)]

    def destination_rules_for(self, host: str) -> list[KObject]:
        found = _kobjects(self.dr_hosts.lookup(host))
        return sorted({(d.namespace, d.name): d for d in found}.values(), key=_key)

    def _service_port(self, svc: KObject, dest: Mapping[str, Any]) -> tuple[int | None, set[int]]:
        """The Service port a destination names and the ports a server may listen on for it."""
        ports = [p for p in svc.spec.get("ports") or () if isinstance(p.get("port"), int)]
        number = (dest.get("port") or {}).get("number")
        if number is None and len(ports) == 1:
            number = ports[0]["port"]
        listen: set[int] = set()
        for p in ports:
            if p["port"] == number:
                listen.add(p["port"])
                if isinstance(p.get("targetPort"), int):
                    listen.add(p["targetPort"])
        if number is not None and not listen:
            listen.add(number)
        return number, listen

    def _subset_defined(self, svc: KObject, subset: str) -> bool:
        name = f"{svc.name}.{svc.namespace}.svc.{self.index.domain}"
        for dr in self.dr_by_host.get(name, ()):
            if any(s.get("name") == subset for s in dr.spec.get("subsets") or ()):
                return True
        return False

    # ---- routing -------------------------------------------------------------------------

    def route(self, host: str, port: int) -> PortRoute:
        key = (host, port)
        if key not in self._cache:
            self._cache[key] = self._route(host, port)
        return self._cache[key]

    def black_hole(self, host: str, port: int) -> str:
        """Why a mesh proxy's route for `host:port` leads nowhere ("" when it does not): a mesh
        VirtualService rule that takes the traffic sends it only to hosts no Service or
        ServiceEntry registers (every rule that takes it, when several match on what mesh-audit
        cannot see). istiod builds the route anyway and the proxy has no cluster for
        it, so the request fails (istio/istio pilot/pkg/networking/core/route/route.go
        TranslateRoute: "Traffic to such clusters will blackhole"); nothing goes out directly."""
        holes: list[str] = []
        for vs in self._mesh_vs_for(host):
            for _kind, _i, rule in route_rules(vs.spec):
                if not rule_applies(rule, vs.namespace, None, port):
                    continue
                targets = [str(d.get("host") or "") for _j, d in destinations(rule)]
                if not targets or any(
                    t and self.index.host_registered(t, vs.namespace) for t in targets
                ):
                    return ""  # some rule that takes the traffic leads somewhere
                shown = ", ".join(sorted(set(targets)))
                holes.append(f"VirtualService {vs.namespace}/{vs.name} routes it to {shown}")
        if not holes:
            return ""
        return (
            "; ".join(holes) + ", which no Service or ServiceEntry registers: the proxy answers 503"
        )

    def _route(self, host: str, port: int) -> PortRoute:
        best: PortRoute | None = None
        for vs in self._mesh_vs_for(host):
            for _kind, _i, rule in route_rules(vs.spec):
                if not rule_applies(rule, vs.namespace, None, port):
                    continue
                for _j, dest in destinations(rule):
                    svc = self.index.service(str(dest.get("host", "")), vs.namespace)
                    if svc is None or (svc.namespace, svc.name) not in self.gateway_services:
                        continue
                    candidate = self._gateway_leg(host, vs, svc, dest)
                    if best is None or (candidate.complete and not best.complete):
                        best = candidate
        if best is None or not best.complete:
            leg = self.gateway_api.leg(host, port)
            if leg is not None and (best is None or not leg.problems):
                best = PortRoute(
                    port=port,
                    service=leg.service,
                    gateway=leg.gateway,
                    mesh_leg=leg.route,
                    problems=leg.problems,
                )
        return best or PortRoute(port=port, service=None, gateway=None, mesh_leg=None, problems=())

    def _gateway_leg(
        self, host: str, vs: KObject, svc: KObject, dest: Mapping[str, Any]
    ) -> PortRoute:
        number, listen = self._service_port(svc, dest)
        port = number if number is not None else 0
        problems: list[str] = []
        subset = dest.get("subset")
        if subset and not self._subset_defined(svc, str(subset)):
            problems.append(
                f"the mesh leg names subset {subset!r} of {svc.namespace}/{svc.name}, "
                "but no DestinationRule defines it"
            )
        gateways = self.gateways_by_service.get((svc.namespace, svc.name), [])
        if not gateways:
            problems.append(
                f"no Gateway selects the egress gateway pods behind {svc.namespace}/{svc.name}"
            )
            return PortRoute(
                port=port, service=svc, gateway=None, mesh_leg=vs, problems=tuple(problems)
            )
        missing_server: list[str] = []
        missing_leg: list[str] = []
        for gw in gateways:
            ref = GatewayRef(gw.namespace, gw.name)
            has_server = any(
                (s.get("port") or {}).get("number") in listen
                and any(
                    H.matches(H.parse_gateway_host(h, gw.namespace).host, host)
                    for h in s.get("hosts") or ()
                )
                for s in gw.spec.get("servers") or ()
            )
            has_leg = self._has_gateway_leg(host, ref, gw, listen)
            if has_server and has_leg:
                return PortRoute(
                    port=port, service=svc, gateway=gw, mesh_leg=vs, problems=tuple(problems)
                )
            if not has_server:
                missing_server.append(f"{gw.namespace}/{gw.name}")
            if not has_leg:
                missing_leg.append(f"{gw.namespace}/{gw.name}")
        if missing_server:
            problems.append(
                f"Gateway {', '.join(missing_server)} has no server for {host} on port "
                f"{'/'.join(str(p) for p in sorted(listen)) or '?'}"
            )
        if missing_leg:
            problems.append(
                f"no VirtualService routes {host} from Gateway {', '.join(missing_leg)} "
                "to the external host"
            )
        return PortRoute(
            port=port, service=svc, gateway=gateways[0], mesh_leg=vs, problems=tuple(problems)
        )

    def _has_gateway_leg(self, host: str, ref: GatewayRef, gw: KObject, listen: set[int]) -> bool:
        for vs in self.index.virtual_services_by_gateway.get(ref, ()):
            if not any(
                H.matches(H.fqdn(h, vs.namespace, self.index.domain), host)
                for h in vs.spec.get("hosts") or ()
            ):
                continue
            for _kind, _i, rule in route_rules(vs.spec):
                ports: list[int | None] = list(listen) or [None]
                if not any(rule_applies(rule, vs.namespace, ref, p) for p in ports):
                    continue
                for _j, dest in destinations(rule):
                    target = H.fqdn(str(dest.get("host", "")), vs.namespace, self.index.domain)
                    if H.matches(host, target) or H.matches(target, host):
                        return True
        return False

    # ---- TLS origination -----------------------------------------------------------------

    def tls_origination(self, host: str, ports: list[int], via_gateway: bool) -> str:
        for dr in self.destination_rules_for(host):
            for _path, mode, port in client_tls_modes(dr.spec):
                if mode in ORIGINATING and (port is None or port in ports or not ports):
                    return "egress-gateway" if via_gateway else "sidecar"
        return "none"

    def routed_gateways(self) -> list[KObject]:
        """Gateways that carry at least one completely wired external host and port."""
        found: dict[tuple[str, str], KObject] = {}
        for route in self._cache.values():
            if route.gateway is not None and route.complete:
                found[(route.gateway.namespace, route.gateway.name)] = route.gateway
        return [found[k] for k in sorted(found)]

    def gateway_leg_targets(self, host: str, gw: KObject) -> set[str]:
        """Hosts the gateway legs bound to an Istio Gateway `gw` send `host`'s traffic on to."""
        out: set[str] = set()
        ref = GatewayRef(gw.namespace, gw.name)
        for vs in self.index.virtual_services_by_gateway.get(ref, ()):
            if not any(
                H.matches(H.fqdn(h, vs.namespace, self.index.domain), host)
                or H.matches(host, H.fqdn(h, vs.namespace, self.index.domain))
                for h in vs.spec.get("hosts") or ()
            ):
                continue
            for _kind, _i, rule in route_rules(vs.spec):
                if not rule_applies(rule, vs.namespace, ref, None):
                    continue
                for _j, dest in destinations(rule):
                    target = H.fqdn(str(dest.get("host", "")), vs.namespace, self.index.domain)
                    if H.matches(host, target) or H.matches(target, host):
                        out.add(target)
        return out

    def gateway_leg_ports(self, host: str, gw: KObject) -> set[int]:
        """Ports of `host` that the gateway legs bound to `gw` send its traffic on to."""
        if gw.group == GATEWAY_API:
            return self.gateway_api.upstream_ports(host, gw)
        out: set[int] = set()
        ref = GatewayRef(gw.namespace, gw.name)
        for vs in self.index.virtual_services_by_gateway.get(ref, ()):
            for _kind, _i, rule in route_rules(vs.spec):
                if not rule_applies(rule, vs.namespace, ref, None):
                    continue
                for _j, dest in destinations(rule):
                    target = H.fqdn(str(dest.get("host", "")), vs.namespace, self.index.domain)
                    number = (dest.get("port") or {}).get("number")
                    if isinstance(number, int) and (H.matches(target, host) or target == host):
                        out.add(number)
        return out

    def egress_gateways(self) -> list[KObject]:
        """Gateways that carry external traffic (routed hosts) or select egress gateway pods."""
        found: dict[tuple[str, str], KObject] = {}
        for route in self._cache.values():
            if route.gateway is not None:
                found[(route.gateway.namespace, route.gateway.name)] = route.gateway
        for gw in self.index.gateways.values():
            if any(
                w.labels.get("istio") == "egressgateway" for w in self.index.gateway_workloads(gw)
            ):
                found[(gw.namespace, gw.name)] = gw
        return [found[k] for k in sorted(found)]

    def warm(self) -> None:
        """Route every registered external host and port (egress_gateways reads the cache)."""
        for se in self.external_entries:
            for host in se.spec.get("hosts") or ():
                for p in se.spec.get("ports") or ():
                    if isinstance(p.get("number"), int):
                        self.route(H.fqdn(host, se.namespace, self.index.domain), p["number"])


def egress_routing(index: MeshIndex) -> EgressRouting:
    """Egress routes of every external host of `index`, routed once per index."""
    return index.cached(_routed)


def _routed(index: MeshIndex) -> EgressRouting:
    routing = EgressRouting(index)
    routing.warm()
    return routing


def _kobjects(values: list[object]) -> list[KObject]:
    from auditor.input.snapshot import KObject

    return [v for v in values if isinstance(v, KObject)]


def _key(obj: KObject) -> tuple[str, str]:
    return (obj.namespace, obj.name)


def route_destinations(
    spec: Mapping[str, Any],
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(field path, destination, is_mirror) for every route and mirror destination of a VS.

    A route entry without `destination` yields an empty mapping: istioctl reports its (empty)
    host as not found.
    """
    for kind in ROUTE_KINDS:
        for i, rule in enumerate(spec.get(kind) or ()):
            for j, rd in enumerate(rule.get("route") or ()):
                dest = rd.get("destination") if isinstance(rd, Mapping) else None
                yield (
                    f"spec.{kind}[{i}].route[{j}].destination",
                    dest if isinstance(dest, Mapping) else {},
                    False,
                )
    for i, rule in enumerate(spec.get("http") or ()):
        if isinstance(rule.get("mirror"), Mapping):
            yield f"spec.http[{i}].mirror", rule["mirror"], True
        for j, m in enumerate(rule.get("mirrors") or ()):
            dest = m.get("destination") if isinstance(m, Mapping) else None
            if isinstance(dest, Mapping):
                yield f"spec.http[{i}].mirrors[{j}].destination", dest, True


def registered_ports(obj: KObject) -> list[int]:
    """Port numbers a Service (`port`) or ServiceEntry (`number`) declares."""
    key = "number" if obj.kind == "ServiceEntry" else "port"
    return [p[key] for p in obj.spec.get("ports") or () if isinstance(p.get(key), int)]


def over_broad_host(host: str) -> bool:
    """`*` or a wildcard over a whole top-level domain (`*.com`)."""
    host = H.normalize(host)
    return host == "*" or (host.startswith("*.") and "." not in host[2:])

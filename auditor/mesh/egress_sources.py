"""Where the egress map's hosts come from: every way the mesh registers (or fails to register)
a destination outside the cluster.

- MESH_EXTERNAL ServiceEntries (`service-entry`);
- ExternalName Services pointing outside the cluster (`external-name`), treated as the Istio
  version in force treats them (auditor.istio.k8s_external);
- selector-less Services whose EndpointSlices hold the addresses (`service-endpoints`);
- external names VirtualService routes send to that nothing registers (`unregistered`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.input.kinds import kind_key
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio import k8s_external as KX
from auditor.mesh.egress_routing import egress_routing, route_destinations
from auditor.mesh.index import K_DEPLOYMENT, K_SERVICE, K_VS, MeshIndex

K_ENDPOINTSLICE = kind_key("discovery.k8s.io", "EndpointSlice")
K_ENDPOINTS = "Endpoints"
ROUTE_PROTOCOL = {"http": "HTTP", "tls": "TLS", "tcp": "TCP"}


@dataclass(slots=True)
class HostSource:
    """What registers one external host, and what the model needs to know about it."""

    registration: str  # service-entry | external-name | service-endpoints | unregistered
    ports: dict[int, tuple[str, str]] = field(default_factory=dict)  # number -> (protocol, name)
    by: dict[tuple[str, str, str], KObject] = field(default_factory=dict)  # (kind, ns, name)
    addresses: list[str] = field(default_factory=list)
    # whether the mesh registry gives sidecars a route to it (else only ALLOW_ANY passes it)
    in_registry: bool = True
    notes: list[str] = field(default_factory=list)
    # why routes to it lead nowhere (a route to a host nothing registers): the proxies that
    # take the route answer 503, so only traffic escaping them can get out
    black_hole: str = ""

    def add_addresses(self, addresses: list[str]) -> None:
        self.addresses.extend(a for a in addresses if a not in self.addresses)


def export_to(obj: KObject) -> list[str] | None:
    """A ServiceEntry's `exportTo`, or a Service's `networking.istio.io/exportTo` annotation."""
    if obj.kind == "ServiceEntry":
        value = obj.spec.get("exportTo")
        return [str(v) for v in value] if isinstance(value, list) and value else None
    text = obj.annotations.get("networking.istio.io/exportTo", "")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return parts or None


def collect_hosts(index: MeshIndex) -> dict[str, HostSource]:
    hosts: dict[str, HostSource] = {}
    _service_entries(index, hosts)
    _external_names(index, hosts)
    _selectorless_services(index, hosts)
    _unregistered_routes(index, hosts)
    return hosts


def _service_entries(index: MeshIndex, hosts: dict[str, HostSource]) -> None:
    for se in egress_routing(index).external_entries:
        addresses = [str(a) for a in se.spec.get("addresses") or ()]
        for ep in se.spec.get("endpoints") or ():
            if isinstance(ep, Mapping) and ep.get("address"):
                addresses.append(str(ep["address"]))
        for host in se.spec.get("hosts") or ():
            name = H.fqdn(host, se.namespace, index.domain)
            entry = hosts.setdefault(name, HostSource("service-entry"))
            entry.by[("ServiceEntry", se.namespace, se.name)] = se
            entry.add_addresses(addresses)
            for p in se.spec.get("ports") or ():
                if isinstance(p.get("number"), int):
                    entry.ports.setdefault(
                        p["number"],
                        (str(p.get("protocol") or "TCP").upper(), str(p.get("name") or "")),
                    )


def _external_names(index: MeshIndex, hosts: dict[str, HostSource]) -> None:
    deployments = [d.raw for d in index.snapshot.objects(K_DEPLOYMENT)]
    mode = KX.external_name_mode(index.snapshot.source.istio_version, KX.alias_flag(deployments))
    for svc in index.snapshot.objects(K_SERVICE):
        target = KX.external_name(svc.spec)
        if not target or not H.is_external_name(target, index.domain):
            continue
        alias_of = hosts.get(target)
        if mode.mode == "alias" and alias_of is not None and alias_of.in_registry:
            # traffic to the alias goes where traffic to the registered target goes
            alias_of.by[("Service", svc.namespace, svc.name)] = svc
            alias_of.notes.append(
                f"also reached as ExternalName Service {svc.namespace}/{svc.name} "
                f"(an alias: {mode.why})"
            )
            continue
        entry = hosts.setdefault(target, HostSource("external-name"))
        if entry.registration in ("unregistered",):
            entry.registration = "external-name"
        entry.by[("Service", svc.namespace, svc.name)] = svc
        for number, value in KX.service_ports(svc.spec).items():
            entry.ports.setdefault(number, value)
        if mode.mode == "alias":
            entry.in_registry = False
            entry.notes.append(
                f"ExternalName Service {svc.namespace}/{svc.name} is an alias of {target}, which "
                f"no ServiceEntry registers ({mode.why}): sidecars pass it only under "
                "ALLOW_ANY; Istio ignores the Service's ports"
            )
        else:
            entry.notes.append(
                f"ExternalName Service {svc.namespace}/{svc.name} is a registered external "
                f"service ({mode.why})"
            )


def _selectorless_services(index: MeshIndex, hosts: dict[str, HostSource]) -> None:
    slices: dict[tuple[str, str], list[KObject]] = {}
    for es in index.snapshot.objects(K_ENDPOINTSLICE):
        name = KX.slice_service(es.labels)
        if name:
            slices.setdefault((es.namespace, name), []).append(es)
    for svc in index.snapshot.objects(K_SERVICE):
        if not KX.selectorless(svc.spec):
            continue
        # without an EndpointSlice in the input, the legacy Endpoints Kubernetes mirrors into one
        found = slices.get((svc.namespace, svc.name)) or [
            ep
            for ep in [index.snapshot.get(K_ENDPOINTS, svc.namespace, svc.name)]
            if ep is not None and KX.mirrored(ep.labels)
        ]
        if not found:
            continue
        legacy = found[0].kind == "Endpoints"
        addresses = (
            KX.endpoints_addresses(found[0].raw)
            if legacy
            else KX.slice_addresses([s.raw for s in found])
        )
        if not addresses:
            continue
        host = f"{svc.name}.{svc.namespace}.svc.{index.domain}"
        entry = hosts.setdefault(host, HostSource("service-endpoints"))
        entry.by[("Service", svc.namespace, svc.name)] = svc
        for es in found:
            entry.by[(es.kind, es.namespace, es.name)] = es
        entry.add_addresses(addresses)
        for number, value in KX.service_ports(svc.spec).items():
            entry.ports.setdefault(number, value)
        held = "Endpoints (mirrored into EndpointSlices)" if legacy else "EndpointSlices"
        entry.notes.append(
            f"Service {svc.namespace}/{svc.name} has no selector; its {held} point at "
            f"{', '.join(addresses[:5])}{' ...' if len(addresses) > 5 else ''}"
        )


def _unregistered_routes(index: MeshIndex, hosts: dict[str, HostSource]) -> None:
    for vs in index.snapshot.objects(K_VS):
        for path, dest, _mirror in route_destinations(vs.spec):
            raw = str(dest.get("host") or "")
            name = H.fqdn(raw, vs.namespace, index.domain) if raw else ""
            if not name or name in hosts or not H.is_external_name(name, index.domain):
                continue
            if "." not in raw or index.host_registered(raw, vs.namespace):
                continue
            entry = hosts.setdefault(name, HostSource("unregistered", in_registry=False))
            entry.black_hole = entry.black_hole or (
                f"VirtualService {vs.namespace}/{vs.name} routes to it, and no Service or "
                "ServiceEntry registers it: the proxy answers 503"
            )
            number = (dest.get("port") or {}).get("number")
            if isinstance(number, int):
                protocol = ROUTE_PROTOCOL.get(path.split(".")[1].split("[")[0], "TCP")
                entry.ports.setdefault(number, (protocol, ""))

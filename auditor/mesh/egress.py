"""The egress model: every way out of the mesh, per external host and port, and what stops it.

Hosts are those of MESH_EXTERNAL ServiceEntries, plus external names that VirtualService routes
send to without any registration. For each host: how it is registered, its destination class
(auditor.istio.destinations) and known addresses. For each of its ports:

- `path`: `egress-gateway` (a mesh leg sends the port to an egress gateway whose wiring is
  complete) or `direct` (the workloads' proxies send it straight out);
- `tls_origination`: `egress-gateway` or `sidecar` (a DestinationRule for the host originates
  TLS on the hop that leaves the mesh), `application` (an HTTPS/TLS port: the application's
  own TLS passes through), or `none`;
- `direct`: which workloads can send to the host:port without the egress gateway, why (outside
  the mesh, capture excluded, UID 1337, the port not routed through a gateway, an unregistered
  host passed through under ALLOW_ANY), and what their namespace's NetworkPolicies say about
  it (auditor.istio.netpol): `no-policy`, `allowed` by a named rule, `partial` (only if the name
  resolves inside some ipBlock) or `blocked` by the named policies.

`bypass` keeps the short host-level reasons a reviewer reads first: only ways out that no
NetworkPolicy stops. NetworkPolicy is enforced by the network plugin; the model says what the
policies allow, and notes when CNI-specific policy objects exist that it did not evaluate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.base.model import ResourceRef
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio import waypoint as WP
from auditor.istio.destinations import (
    DestinationClass,
    Placement,
    classify,
    gateway_advice_applies,
)
from auditor.istio.mtls import client_tls_modes
from auditor.istio.netpol import Verdict
from auditor.istio.refs import visible_in
from auditor.mesh.egress_reach import CNI_POLICY_KINDS, Group, Reachers
from auditor.mesh.egress_routing import ORIGINATING, egress_routing
from auditor.mesh.egress_sources import HostSource, collect_hosts, export_to
from auditor.mesh.index import MeshIndex
from auditor.mesh.waypoints import waypoint_map

MAX_NAMED = 5
MAX_GROUPS = 20
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
PROXY_SENDS = "sent straight out by its"
ENFORCEMENT_NOTE = (
    "NetworkPolicy verdicts hold only where the cluster's network plugin (CNI) enforces "
    "NetworkPolicy"
)


# ---- the model --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectGroup:
    """Workloads of one namespace that reach a host:port directly for one reason."""

    namespace: str
    why: str
    verdict: Verdict
    policies: tuple[str, ...]  # blocked: the selecting policies; allowed: the allowing rules
    only: tuple[str, ...]  # partial: the ipBlocks the destination must fall in
    broad: bool  # allowed by a rule open to every address
    workloads: tuple[str, ...]
    count: int

    @property
    def reachable(self) -> bool:
        return self.verdict is not Verdict.BLOCKED

    @property
    def deliberate(self) -> bool:
        """Reachable only because a NetworkPolicy names the destination (or some of its
        possible addresses) specifically: someone decided it."""
        return self.verdict is Verdict.PARTIAL or (
            self.verdict is Verdict.ALLOWED and not self.broad
        )

    def enforcement(self) -> str:
        if self.verdict is Verdict.NO_POLICY:
            return "no egress NetworkPolicy"
        if self.verdict is Verdict.ALLOWED:
            return f"allowed by NetworkPolicy {', '.join(self.policies)}"
        if self.verdict is Verdict.PARTIAL:
            return (
                f"allowed by NetworkPolicy only if the address is in {'; '.join(self.only)} "
                f"({', '.join(self.policies)})"
            )
        return f"blocked by NetworkPolicy {', '.join(self.policies)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "why": self.why,
            "verdict": str(self.verdict),
            "policies": list(self.policies),
            "only": list(self.only),
            "workloads": list(self.workloads),
            "count": self.count,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PortEntry:
    number: int
    protocol: str
    name: str
    path: str  # egress-gateway | egress-waypoint | direct | black-hole | in-pod
    gateway: ResourceRef | None
    tls_origination: str  # application | sidecar | egress-gateway | waypoint | none
    direct: tuple[DirectGroup, ...]
    direct_more: int  # groups left out of `direct`
    notes: tuple[str, ...]

    @property
    def reachable_directly(self) -> bool:
        return any(g.reachable for g in self.direct) or self.direct_more > 0

    @property
    def used(self) -> bool:
        """Some workload's traffic can get out on this port (through the gateway or not)."""
        return self.path in ("egress-gateway", "egress-waypoint") or self.reachable_directly

    def to_json(self) -> dict[str, Any]:
        gw = self.gateway
        return {
            "number": self.number,
            "protocol": self.protocol,
            "name": self.name,
            "path": self.path,
            "gateway": (
                {
                    "kind": gw.kind,
                    "namespace": gw.namespace or None,
                    "name": gw.name,
                    "group": gw.group,
                }
                if gw is not None
                else None
            ),
            "tls_origination": self.tls_origination,
            "direct": [g.to_json() for g in self.direct],
            "direct_more": self.direct_more,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EgressEntry:
    host: str
    ports: tuple[PortEntry, ...]
    registration: str  # service-entry | external-name | service-endpoints | unregistered
    registered_by: tuple[ResourceRef, ...]
    destination_class: DestinationClass
    addresses: tuple[str, ...]
    via_egress_gateway: ResourceRef | None
    tls_origination: str  # host summary: none | sidecar | egress-gateway | application
    bypass: tuple[str, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        gw = self.via_egress_gateway
        return {
            "host": self.host,
            "ports": [p.to_json() for p in self.ports],
            "registration": self.registration,
            "registered_by": [r.to_json() for r in self.registered_by],
            "destination_class": str(self.destination_class),
            "addresses": list(self.addresses),
            "via_egress_gateway": (
                {"kind": gw.kind, "namespace": gw.namespace or None, "name": gw.name}
                if gw is not None
                else None
            ),
            "tls_origination": self.tls_origination,
            "bypass": list(self.bypass),
            "notes": list(self.notes),
        }


# ---- building the map ---------------------------------------------------------------------


class EgressModel:
    """The egress map of one MeshIndex; build once (`MeshIndex.egress_model`)."""

    def __init__(self, index: MeshIndex) -> None:
        self.index = index
        self.routing = egress_routing(index)
        self.reachers = Reachers(index)
        self.has_egress_gateway = bool(self.routing.egress_gateways())
        self.cni_policies = self._cni_policies()
        self.sources = collect_hosts(index)
        self.entries: list[EgressEntry] = [
            self._entry(host, info) for host, info in sorted(self.sources.items())
        ]
        self.by_host: dict[str, EgressEntry] = {e.host: e for e in self.entries}

    def _cni_policies(self) -> list[str]:
        counts: dict[str, int] = {}
        for key, label in CNI_POLICY_KINDS:
            n = int(self.index.snapshot.inventory.get(key, 0) or 0)
            if n:
                counts[label] = counts.get(label, 0) + n
        return [f"{n} {label}" for label, n in sorted(counts.items())]

    # ---- one host ----------------------------------------------------------------------

    def _entry(self, host: str, info: HostSource) -> EgressEntry:
        mesh_internal = False
        placement: Placement = classify(
            host, info.addresses, mesh_internal=mesh_internal, domain=self.index.domain
        )
        ports: list[PortEntry] = []
        bypass: list[str] = []
        gateway: KObject | None = None
        unrouted: list[int] = []
        upstream = self._gateway_upstream_ports(host)
        for number in sorted(info.ports):
            protocol, pname = info.ports[number]
            route = self.routing.route(host, number) if info.in_registry else None
            routed = route is not None and route.complete
            if route is not None and route.routed:
                for problem in route.problems:
                    bypass.append(f"egress gateway wiring incomplete on port {number}: {problem}")
            if routed and route is not None and gateway is None:
                gateway = route.gateway
            entry = self._port(host, info, placement, number, protocol, pname, route, upstream)
            ports.append(entry)
            if entry.path == "direct" and (
                not self.reachers.groups
                or any(g.reachable and g.why.startswith(PROXY_SENDS) for g in entry.direct)
            ):
                unrouted.append(number)
            for g in entry.direct:
                if g.reachable:
                    bypass.append(f"port {number}: {g.why}: {_qualified(g)} ({g.enforcement()})")
            if entry.direct_more:
                bypass.append(f"port {number}: and {entry.direct_more} more groups of workloads")
        if unrouted and info.in_registry and gateway_advice_applies(placement.cls):
            what = (
                "not routed through an egress gateway"
                if self.has_egress_gateway
                else "no egress gateway in the mesh"
            )
            if len(unrouted) < len(ports):
                what = f"port {', '.join(map(str, unrouted))} {what}"
            bypass.insert(0, what)
        if info.registration == "unregistered":
            bypass.insert(0, "not registered by any ServiceEntry")
        notes: list[str] = list(
            dict.fromkeys([*info.notes, info.black_hole][: None if info.black_hole else -1])
        )
        if any(g.verdict is not Verdict.NO_POLICY for p in ports for g in p.direct):
            notes.append(ENFORCEMENT_NOTE)
        if self.cni_policies:
            notes.append(
                f"{', '.join(self.cni_policies)} present and not evaluated: they may block "
                "more than this map shows"
            )
        origins = {p.tls_origination for p in ports}
        summary = next(
            (o for o in ("egress-gateway", "waypoint", "sidecar", "application") if o in origins),
            "none",
        )
        return EgressEntry(
            host=host,
            ports=tuple(ports),
            registration=info.registration,
            registered_by=tuple(info.by[k].ref for k in sorted(info.by)),
            destination_class=placement.cls,
            addresses=placement.addresses,
            via_egress_gateway=gateway.ref if gateway is not None else None,
            tls_origination=summary,
            bypass=tuple(bypass),
            notes=tuple(notes),
        )

    def _gateway_upstream_ports(self, host: str) -> dict[int, str]:
        """Ports of the host an egress gateway's gateway leg sends to, by gateway name."""
        out: dict[int, str] = {}
        for gw in self.routing.routed_gateways():
            for port in self.routing.gateway_leg_ports(host, gw):
                out.setdefault(port, f"{gw.namespace}/{gw.name}")
        return out

    def _port(
        self,
        host: str,
        info: HostSource,
        placement: Placement,
        number: int,
        protocol: str,
        pname: str,
        route: Any,
        upstream: Mapping[int, str],
    ) -> PortEntry:
        routed = route is not None and route.complete
        # a mesh leg to the gateway, wired or not: the proxy sends the port to the gateway
        to_gateway = route is not None and route.routed
        addresses = placement.addresses
        # the caller's own pod (loopback): not egress; a route leading nowhere: proxies answer
        # 503, so only what escapes them can get out
        local = placement.cls is DestinationClass.LOOPBACK
        hole = (
            "" if to_gateway or local else info.black_hole or self.routing.black_hole(host, number)
        )
        waypoint = None if to_gateway or local else self._waypoint(info)
        groups: list[DirectGroup] = []
        candidates: Iterable[Group] = (
            () if local else self.reachers.escaping if to_gateway or hole else self.reachers.groups
        )
        for group in candidates:
            why = self.reachers.escape(group, addresses, number)
            if (
                not why
                and not to_gateway
                and not hole
                and not (waypoint and group.mode == "ambient")
            ):
                why = self._proxy_sends(group, info, placement.cls)
            if not why:
                continue
            reach = self.reachers.reach(group, addresses, number)
            groups.append(
                DirectGroup(
                    namespace=group.namespace,
                    why=why,
                    verdict=reach.verdict,
                    policies=reach.allowed_by
                    if reach.verdict is Verdict.ALLOWED
                    else reach.policies,
                    only=reach.only,
                    broad=reach.broad,
                    workloads=tuple(group.names[:MAX_NAMED]),
                    count=len(group.names),
                )
            )
        # unblocked first, so a capped list keeps what matters
        groups.sort(key=lambda g: (not g.reachable, g.namespace, g.why))
        notes: list[str] = []
        if number in upstream and not routed:
            notes.append(
                f"egress gateway {upstream[number]} sends routed traffic for {host} on to this port"
            )
        if to_gateway and not routed:
            notes.append(
                "sent to the egress gateway, whose wiring for it is incomplete: "
                + "; ".join(route.problems)
            )
        if placement.cls is DestinationClass.METADATA:
            notes.append("cloud metadata endpoint: callers are identified by their own address")
        path = "egress-gateway" if to_gateway else "direct"
        if local or hole:
            path = "in-pod" if local else "black-hole"
            notes.append(hole or f"{', '.join(addresses)} is the calling pod itself: not egress")
        gateway = route.gateway.ref if to_gateway and route.gateway is not None else None
        origination = self._origination(host, number, protocol, routed)
        if waypoint is not None:
            ns, name, found = waypoint
            path = "egress-waypoint"
            gateway = found.ref if found is not None else None
            notes.append(
                f"ambient workloads reach it through waypoint {ns}/{name}"
                + ("" if found is not None else " (no such waypoint Gateway in the input)")
            )
            if origination == "sidecar":
                origination = "waypoint"
        return PortEntry(
            number=number,
            protocol=protocol,
            name=pname,
            path=path,
            gateway=gateway,
            tls_origination=origination,
            direct=tuple(groups[:MAX_GROUPS]),
            direct_more=max(0, len(groups) - MAX_GROUPS),
            notes=tuple(notes),
        )

    def _waypoint(self, info: HostSource) -> tuple[str, str, KObject | None] | None:
        """The waypoint a ServiceEntry is bound to (`istio.io/use-waypoint` on the entry, else
        on its namespace; `none` opts out; auditor/istio/waypoint.py), as Istio's ambient
        egress gateway task binds it. A label naming a Gateway absent from the input is kept
        (the path says so); one whose waypoint does not take service traffic, or does not
        admit the entry's namespace, is not used by Istio, so the entry has none."""
        for (kind, _ns, _name), obj in sorted(info.by.items()):
            if kind != "ServiceEntry":
                continue
            binding = waypoint_map(self.index).service(obj)
            if binding.requested is None or binding.opted_out:
                continue
            if binding.problem == "missing":
                return binding.requested.namespace, binding.requested.name, None
            used = WP.binding_in_use(binding)
            if used is None:
                continue
            return (
                used.namespace,
                used.name,
                self.index.k8s_gateways.get((used.namespace, used.name)),
            )
        return None

    def _proxy_sends(self, group: Group, info: HostSource, cls: DestinationClass) -> str:
        """Why an in-mesh group's own proxy sends this host straight out ("" if it does not)."""
        proxy = "ztunnel" if group.mode == "ambient" else "sidecar"
        allow_any = self.index.mesh.outbound_mode == "ALLOW_ANY"
        if not info.in_registry:
            if not allow_any:
                return ""
            return f"unregistered host passed through by its {proxy} (ALLOW_ANY)"
        visible = allow_any or any(
            visible_in(
                export_to(obj),
                obj.namespace,
                group.namespace,
                self.index.mesh.default_service_export_to,
            )
            for obj in info.by.values()
            if obj.kind in ("ServiceEntry", "Service")
        )
        if not visible:
            return ""
        if not gateway_advice_applies(cls):
            return f"{PROXY_SENDS} {proxy}"
        if self.has_egress_gateway:
            return f"{PROXY_SENDS} {proxy} (port not routed through an egress gateway)"
        return f"{PROXY_SENDS} {proxy} (the mesh has no egress gateway)"

    def _origination(self, host: str, number: int, protocol: str, routed: bool) -> str:
        for dr in self.routing.destination_rules_for(host):
            for _path, mode, port in client_tls_modes(dr.spec):
                if mode not in ORIGINATING:
                    continue
                if routed:
                    return "egress-gateway"
                if port is None or port == number:
                    return "sidecar"
        if protocol in TLS_PROTOCOLS:
            return "application"
        return "none"


def egress_model(index: MeshIndex) -> EgressModel:
    """The per host and port egress map, built once per index for checks and report."""
    return index.cached(EgressModel)


def _qualified(group: DirectGroup) -> str:
    names = [
        f"{kind} {group.namespace}/{name}"
        for kind, _, name in (n.partition(" ") for n in group.workloads)
    ]
    extra = group.count - len(names)
    return ", ".join(names) + (f" and {extra} more" if extra else "")


def registrations(index: MeshIndex) -> Iterator[tuple[KObject, str, EgressEntry]]:
    """(registering object, its field path, egress entry) for every registered external host:
    each host of a MESH_EXTERNAL ServiceEntry, then each ExternalName or selector-less Service
    that is a way out of its own (an ExternalName alias of a registered host is reported
    through that host's ServiceEntry)."""
    model = egress_model(index)
    for se in egress_routing(index).external_entries:
        for j, host in enumerate(se.spec.get("hosts") or ()):
            entry = model.by_host.get(H.fqdn(host, se.namespace, index.domain))
            if entry is not None:
                yield se, f"spec.hosts[{j}]", entry
    for entry in model.entries:
        if entry.registration not in ("external-name", "service-endpoints"):
            continue
        for (kind, _ns, _name), obj in sorted(model.sources[entry.host].by.items()):
            if kind == "Service":
                path = "spec.externalName" if entry.registration == "external-name" else "spec"
                yield obj, path, entry


def build_egress(index: MeshIndex) -> list[EgressEntry]:
    return egress_model(index).entries


def iter_ports(index: MeshIndex) -> Iterator[tuple[EgressEntry, PortEntry]]:
    for entry in egress_model(index).entries:
        for port in entry.ports:
            yield entry, port

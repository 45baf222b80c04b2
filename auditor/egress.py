"""The egress map: one entry per external host, saying how traffic to it leaves the mesh.

Hosts are those of MESH_EXTERNAL ServiceEntries, plus external names that VirtualService routes
send to without any registration. For each: its ports, the ServiceEntries registering it, the
egress Gateway carrying it (or null), where TLS is originated, and the reasons traffic to it
can avoid the gateway (`bypass`, short strings; empty for a host that is routed through the
gateway from namespaces whose egress NetworkPolicy keeps pods from going around it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.index import K_VS, MeshIndex, Workload
from auditor.istio import hosts as H
from auditor.istio import injection as inj
from auditor.istio.egress import route_destinations
from auditor.istio.netpol import egress_posture
from auditor.model import ResourceRef
from auditor.snapshot import KObject

MAX_NAMED = 5
ROUTE_PROTOCOL = {"http": "HTTP", "tls": "TLS", "tcp": "TCP"}


@dataclass(frozen=True, slots=True, kw_only=True)
class EgressEntry:
    host: str
    ports: tuple[tuple[int, str, str], ...]  # (number, protocol, name)
    registered_by: tuple[ResourceRef, ...]
    via_egress_gateway: ResourceRef | None
    tls_origination: str  # none | sidecar | egress-gateway
    bypass: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        gw = self.via_egress_gateway
        return {
            "host": self.host,
            "ports": [{"number": n, "protocol": p, "name": m} for n, p, m in self.ports],
            "registered_by": [r.to_json() for r in self.registered_by],
            "via_egress_gateway": (
                {"kind": gw.kind, "namespace": gw.namespace or None, "name": gw.name}
                if gw is not None
                else None
            ),
            "tls_origination": self.tls_origination,
            "bypass": list(self.bypass),
        }


# ---- namespaces and workloads that can go around the gateway ------------------------------


def excluded_namespace(index: MeshIndex, ns: str) -> bool:
    """System, Istio root, and control-plane/gateway-only namespaces are not application ones."""
    if ns in inj.SYSTEM_NAMESPACES or ns == index.mesh.root_namespace:
        return True
    workloads = [w for w in index.workloads_by_namespace.get(ns, []) if not w.owned]
    if not workloads:
        return False
    return all(
        inj.is_gateway_pod(w.labels, w.annotations) or inj.is_control_plane_pod(w.labels)
        for w in workloads
    )


def app_workloads(index: MeshIndex, ns: str) -> list[Workload]:
    """Application workloads of a namespace (not controller-owned pods, gateways, istiod)."""
    return [
        w
        for w in index.workloads_by_namespace.get(ns, [])
        if not w.owned
        and not inj.is_gateway_pod(w.labels, w.annotations)
        and not inj.is_control_plane_pod(w.labels)
    ]


def uncontained(index: MeshIndex, ns: str) -> tuple[list[Workload], set[str]]:
    """Workloads whose egress no NetworkPolicy contains, and the rules that open it."""
    policies = index.network_policies.get(ns, [])
    out: list[Workload] = []
    opened: set[str] = set()
    for w in app_workloads(index, ns):
        posture = egress_posture(policies, w.labels)
        if not posture.contained:
            out.append(w)
            opened.update(posture.open_by)
    return out, opened


def _named(prefix: str, items: list[str]) -> Iterator[str]:
    for item in items[:MAX_NAMED]:
        yield f"{prefix}: {item}"
    if len(items) > MAX_NAMED:
        yield f"{prefix}: and {len(items) - MAX_NAMED} more"


class _MeshWide:
    """Bypass reasons that hold for every external host, computed once."""

    def __init__(self, index: MeshIndex) -> None:
        namespaces: list[str] = []
        outside: list[str] = []
        self.excluded_ports: list[tuple[Workload, set[int]]] = []
        excluded_ips: list[str] = []
        for ns in sorted(index.workloads_by_namespace):
            if excluded_namespace(index, ns):
                continue
            loose, _opened = uncontained(index, ns)
            if loose:
                namespaces.append(ns)
            for w in app_workloads(index, ns):
                name = f"{w.obj.kind} {ns}/{w.obj.name}"
                status = index.mesh_status(w)
                if not status.in_mesh:
                    outside.append(f"{name} ({status.reason})")
                elif inj.runs_as_proxy_uid(w.pod_spec):
                    outside.append(f"{name} (runs as UID 1337)")
                found = inj.capture_exclusions(w.annotations)
                ip_keys = [k.rsplit("/", 1)[1] for k in found if k != inj.EXCLUDE_PORTS]
                if ip_keys:
                    excluded_ips.append(f"{name} ({', '.join(sorted(ip_keys))})")
                ports = inj.excluded_ports(w.annotations)
                if ports:
                    self.excluded_ports.append((w, ports))
        self.reasons: list[str] = [
            *_named("no egress NetworkPolicy in namespace", namespaces),
            *_named("outside the mesh", outside),
            *_named("capture excluded", excluded_ips),
        ]

    def for_ports(self, ports: list[int]) -> list[str]:
        names = [
            f"{w.obj.kind} {w.namespace}/{w.obj.name} (excludeOutboundPorts "
            f"{','.join(str(p) for p in sorted(excluded & set(ports)))})"
            for w, excluded in self.excluded_ports
            if excluded & set(ports)
        ]
        return list(_named("capture excluded", names))


def build_egress(index: MeshIndex) -> list[EgressEntry]:
    routing = index.egress
    mesh_wide = _MeshWide(index)

    hosts: dict[str, dict[str, Any]] = {}
    for se in routing.external_entries:
        for host in se.spec.get("hosts") or ():
            name = H.fqdn(host, se.namespace, index.domain)
            entry = hosts.setdefault(name, {"ports": {}, "by": {}, "resolution": set()})
            entry["by"][(se.namespace, se.name)] = se.ref
            for p in se.spec.get("ports") or ():
                if isinstance(p.get("number"), int):
                    entry["ports"].setdefault(
                        p["number"],
                        (str(p.get("protocol") or "TCP").upper(), str(p.get("name") or "")),
                    )

    # External names routes send to that nothing registers.
    for vs in index.snapshot.objects(K_VS):
        for path, dest, _mirror in route_destinations(vs.spec):
            raw = str(dest.get("host") or "")
            name = H.fqdn(raw, vs.namespace, index.domain) if raw else ""
            if not name or name in hosts or not H.is_external_name(name, index.domain):
                continue
            if "." not in raw or index.host_registered(raw, vs.namespace):
                continue
            entry = hosts.setdefault(name, {"ports": {}, "by": {}, "unregistered": True})
            number = (dest.get("port") or {}).get("number")
            if isinstance(number, int):
                protocol = ROUTE_PROTOCOL.get(path.split(".")[1].split("[")[0], "TCP")
                entry["ports"].setdefault(number, (protocol, ""))

    out: list[EgressEntry] = []
    for host in sorted(hosts):
        info = hosts[host]
        numbers = sorted(info["ports"])
        bypass: list[str] = []
        gateway: KObject | None = None
        if info.get("unregistered"):
            bypass.append("not registered by any ServiceEntry")
        else:
            unrouted: list[int] = []
            for number in numbers:
                route = routing.route(host, number)
                if not route.routed:
                    unrouted.append(number)
                    continue
                if route.complete and gateway is None:
                    gateway = route.gateway
                for problem in route.problems:
                    bypass.append(f"egress gateway wiring incomplete on port {number}: {problem}")
            if unrouted and len(unrouted) == len(numbers):
                bypass.append("not routed through an egress gateway")
            elif unrouted:
                shown = ", ".join(str(p) for p in unrouted)
                bypass.append(f"port {shown} not routed through an egress gateway")
        bypass.extend(mesh_wide.reasons)
        bypass.extend(mesh_wide.for_ports(numbers))
        out.append(
            EgressEntry(
                host=host,
                ports=tuple((n, *info["ports"][n]) for n in numbers),
                registered_by=tuple(info["by"][k] for k in sorted(info["by"])),
                via_egress_gateway=gateway.ref if gateway is not None else None,
                tls_origination=routing.tls_origination(host, numbers, gateway is not None),
                bypass=tuple(bypass),
            )
        )
    return out

"""Who can send to a destination outside the cluster without the egress gateway, and what their
namespace's NetworkPolicies say about it (the egress model's `direct` groups, auditor.mesh.egress).

Workloads are grouped by namespace, mesh status, capture exclusions and the Egress policies that
select them: every workload of a group behaves alike, so a mesh of thousands of workloads is
judged per group, and each NetworkPolicy verdict is computed once per group, address and port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.istio import annotations as ann
from auditor.istio import injection as inj
from auditor.istio.netpol import Reach, Target, egress_posture, external_reach, ranges_cover
from auditor.mesh.index import MeshIndex, Workload

# CNI-specific policy kinds mesh-audit counts but does not evaluate.
CNI_POLICY_KINDS = (
    ("cilium.io/CiliumNetworkPolicy", "CiliumNetworkPolicy"),
    ("cilium.io/CiliumClusterwideNetworkPolicy", "CiliumClusterwideNetworkPolicy"),
    ("crd.projectcalico.org/NetworkPolicy", "Calico NetworkPolicy"),
    ("crd.projectcalico.org/GlobalNetworkPolicy", "Calico GlobalNetworkPolicy"),
    ("projectcalico.org/NetworkPolicy", "Calico NetworkPolicy"),
    ("projectcalico.org/GlobalNetworkPolicy", "Calico GlobalNetworkPolicy"),
)

# ---- namespaces and workloads that can go around the gateway ------------------------------


def excluded_namespace(index: MeshIndex, ns: str) -> bool:
    """System, Istio root, and control-plane/gateway-only namespaces are not application ones."""
    if ns in inj.SYSTEM_NAMESPACES or ns == index.mesh.root_namespace:
        return True
    workloads = [w for w in index.workloads_by_namespace.get(ns, []) if not w.owned]
    if not workloads:
        return False
    return all(index.is_gateway(w) or inj.is_control_plane_pod(w.labels) for w in workloads)


def app_workloads(index: MeshIndex, ns: str) -> list[Workload]:
    """Application workloads of a namespace (not controller-owned pods, gateways, istiod)."""
    return [
        w
        for w in index.workloads_by_namespace.get(ns, [])
        if not w.owned and not index.is_gateway(w) and not inj.is_control_plane_pod(w.labels)
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


# ---- who reaches a destination directly -----------------------------------------------------


@dataclass(slots=True)
class Group:
    """Workloads of one namespace that behave alike for egress: same mesh status, capture
    exclusions and selecting Egress policies."""

    namespace: str
    labels: Mapping[str, str]  # of the first workload (the policies select them all alike)
    outside: str  # why it is outside the mesh ("" when in it)
    mode: str  # sidecar | ambient | ""
    excluded_ports: frozenset[int]
    exclude_ranges: tuple[str, ...]
    include_ranges: tuple[str, ...] | None
    names: list[str]


class Reachers:
    def __init__(self, index: MeshIndex) -> None:
        self.index = index
        self.groups: list[Group] = []
        self._reach: dict[tuple[int, tuple[str, ...], int], Reach] = {}
        by_key: dict[tuple[Any, ...], Group] = {}
        for ns in sorted(index.workloads_by_namespace):
            if excluded_namespace(index, ns):
                continue
            policies = index.network_policies.get(ns, [])
            for w in app_workloads(index, ns):
                status = index.mesh_status(w)
                outside = ""
                if not status.in_mesh:
                    outside = f"outside the mesh ({status.reason})"
                elif inj.runs_as_proxy_uid(w.pod_spec):
                    outside = "runs as the proxy's UID 1337, so its traffic is not captured"
                sidecar = status.mode == "sidecar" and not outside
                exclude = _ranges(w.annotations.get(inj.EXCLUDE_IPS)) if sidecar else ()
                include_raw = w.annotations.get(inj.INCLUDE_IPS)
                include = (
                    _ranges(include_raw)
                    if isinstance(include_raw, str) and include_raw.strip() != "*" and sidecar
                    else None
                )
                ports = frozenset(inj.excluded_ports(w.annotations)) if sidecar else frozenset()
                selecting = tuple(
                    p.name for p in policies if egress_posture([p], w.labels).restricted
                )
                key = (ns, outside, status.mode, ports, exclude, include, selecting)
                group = by_key.get(key)
                if group is None:
                    group = by_key[key] = Group(
                        namespace=ns,
                        labels=w.labels,
                        outside=outside,
                        mode=status.mode,
                        excluded_ports=ports,
                        exclude_ranges=exclude,
                        include_ranges=include,
                        names=[],
                    )
                    self.groups.append(group)
                group.names.append(f"{w.obj.kind} {w.obj.name}")
        self.escaping = [
            g
            for g in self.groups
            if g.outside or g.excluded_ports or g.exclude_ranges or g.include_ranges is not None
        ]

    def reach(self, group: Group, addresses: tuple[str, ...], port: int) -> Reach:
        key = (id(group), addresses, port)
        found = self._reach.get(key)
        if found is None:
            found = self._reach[key] = external_reach(
                self.index.network_policies.get(group.namespace, []),
                group.labels,
                Target(addresses, port),
            )
        return found

    @staticmethod
    def escape(group: Group, addresses: tuple[str, ...], port: int) -> str:
        """Why this group's traffic to the destination skips its proxy ("" when it does not)."""
        if group.outside:
            return group.outside
        if port in group.excluded_ports:
            return f"capture excluded (excludeOutboundPorts {port})"
        if group.exclude_ranges:
            covered = ranges_cover(group.exclude_ranges, addresses)
            if covered is not False:
                shown = ",".join(group.exclude_ranges)
                how = "" if covered else "if its address is in "
                return f"capture excluded {how}(excludeOutboundIPRanges {shown})"
        if group.include_ranges is not None:
            covered = ranges_cover(group.include_ranges, addresses)
            if covered is not True:
                shown = ",".join(group.include_ranges) or "empty"
                return f"not captured (includeOutboundIPRanges {shown})"
        return ""


def proxies(index: MeshIndex) -> str:
    """What carries the mesh's outbound traffic, in words: `sidecars`, `ztunnel` (ambient), or
    both; a mesh with no application workloads in the input is spoken of as sidecars."""
    modes = {
        index.mesh_status(w).mode
        for ns in index.workloads_by_namespace
        if not excluded_namespace(index, ns)
        for w in app_workloads(index, ns)
    }
    if "ambient" in modes and "sidecar" in modes:
        return "sidecars and ztunnel"
    if "ambient" in modes:
        return "ztunnel"
    return "sidecars"


def _ranges(value: object) -> tuple[str, ...]:
    """A capture CIDR list as the injector reads it (auditor.istio.annotations); `*` stays `*`.
    Entries that are not prefixes are left out (the annotation layer warns about them)."""
    parsed = ann.cidr_list(value, star=True).value
    if parsed is None:
        return ("*",)
    return tuple(str(n) for n in parsed)

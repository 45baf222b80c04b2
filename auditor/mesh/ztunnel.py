"""What ztunnel enforces: the ambient application workloads, and the selector (or
namespace-wide) AuthorizationPolicies that apply to them, split by whether a waypoint is in the
path. Built once per index for the AMB checks (auditor/checks/ambient.py).

A policy attaches only in its own namespace, or everywhere from the root namespace
(auditor/istio/authz.py `applies`), so each policy is matched against the ambient workloads of
its namespace (all of them for a root-namespace policy), not against every workload.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.input.snapshot import KObject
from auditor.istio import authz as A
from auditor.istio import waypoint as WP
from auditor.mesh.authorization import policy_objects
from auditor.mesh.index import MeshIndex, Workload
from auditor.mesh.waypoints import waypoint_map


@dataclass(frozen=True, slots=True)
class AmbientWorkloads:
    """Application workloads ztunnel captures (controllers and bare Pods, no gateways), in
    index order, and the same by namespace."""

    all: tuple[Workload, ...]
    by_namespace: dict[str, tuple[Workload, ...]]

    def candidates(self, policy: A.Policy, root: str) -> tuple[Workload, ...]:
        """The ambient workloads a policy can attach to (its namespace, or all from root)."""
        return self.all if policy.namespace == root else self.by_namespace.get(policy.namespace, ())

    def applied(self, policy: A.Policy, root: str) -> list[Workload]:
        """The ambient workloads the policy applies to, in index order."""
        return [
            w
            for w in self.candidates(policy, root)
            if A.applies(policy, A.Target(namespace=w.namespace, labels=w.labels), root)
        ]


def ambient_workloads(index: MeshIndex) -> AmbientWorkloads:
    """See AmbientWorkloads; built once per index (read-only)."""
    return index.cached(_ambient)


def _ambient(index: MeshIndex) -> AmbientWorkloads:
    out: list[Workload] = []
    by_namespace: dict[str, list[Workload]] = {}
    for w in index.workloads:
        if w.owned:
            continue
        status = index.mesh_status(w)
        if status.in_mesh and status.mode == "ambient" and status.role == "workload":
            out.append(w)
            by_namespace.setdefault(w.namespace, []).append(w)
    return AmbientWorkloads(
        all=tuple(out), by_namespace={ns: tuple(ws) for ns, ws in by_namespace.items()}
    )


@dataclass(frozen=True, slots=True)
class ZtunnelPolicy:
    obj: KObject
    policy: A.Policy
    view: WP.ZtunnelView
    no_waypoint: tuple[Workload, ...]
    behind_waypoint: tuple[tuple[Workload, tuple[tuple[str, WP.Waypoint], ...]], ...]


def ztunnel_policies(index: MeshIndex) -> list[ZtunnelPolicy]:
    """Enforced ALLOW/DENY AuthorizationPolicies without targetRefs that apply to ambient
    workloads (ztunnel enforces them), in input order; built once per index (read-only)."""
    return index.cached(_ztunnel)


def _ztunnel(index: MeshIndex) -> list[ZtunnelPolicy]:
    root = index.mesh.root_namespace
    ambient = ambient_workloads(index)
    if not ambient.all:
        return []
    waypoints = waypoint_map(index)
    out = []
    for obj, pol in policy_objects(index):
        if pol.target_refs or pol.dry_run or pol.action not in ("ALLOW", "DENY"):
            continue
        applied = ambient.applied(pol, root)
        if not applied:
            continue
        plain, behind = [], []
        for w in applied:
            path = waypoints.in_path(w)
            if path:
                behind.append((w, tuple(path)))
            else:
                plain.append(w)
        out.append(
            ZtunnelPolicy(
                obj, pol, WP.ztunnel_view(pol.action, pol.rules), tuple(plain), tuple(behind)
            )
        )
    return out

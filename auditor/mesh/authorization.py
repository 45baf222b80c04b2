"""The access model: for every mesh workload (and Gateway API gateway), the AuthorizationPolicies
that apply and what they decide together (auditor/istio/authz.py), with whether the workload is
reachable from outside the cluster (read from the exposure map, auditor/mesh/exposure.py).

Membership comes from `MeshIndex.mesh_status`; policies only bind workloads with a proxy.
Built once per index and shared by the AUTHZ checks and report.json `authorization[]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from auditor.base.model import ResourceRef
from auditor.input.kinds import ISTIO_NET
from auditor.input.snapshot import KObject
from auditor.istio import authz as A
from auditor.istio import waypoint as WP
from auditor.istio.meshconfig import path_normalization
from auditor.mesh.exposure import build_exposure
from auditor.mesh.index import K_AP, K_GATEWAY, K_KGATEWAY, K_NAMESPACE, K_RA, MeshIndex, Workload
from auditor.mesh.waypoints import waypoint_map


@dataclass(frozen=True, slots=True)
class WorkloadAuthz:
    ref: ResourceRef
    role: str  # workload | gateway | waypoint
    mode: str  # sidecar, ambient, or "" for a gateway seen only as its Gateway resource
    exposed: bool  # serves (or is) an entry point reachable from outside the cluster
    open_to_internet: bool  # ... through a gateway whose own policies do not restrict callers
    services: tuple[str, ...]
    posture: A.Posture
    workload: Workload | None

    @property
    def display(self) -> str:
        return f"{self.ref.kind} {self.ref.namespace}/{self.ref.name}"

    def to_json(self) -> dict[str, Any]:
        p = self.posture
        return {
            "workload": {
                "kind": self.ref.kind,
                "namespace": self.ref.namespace,
                "name": self.ref.name,
            },
            "role": self.role,
            "mode": self.mode,
            "exposed": self.exposed,
            "open_to_internet": self.open_to_internet,
            "services": list(self.services),
            "default": p.default,
            "anyone": p.anyone,
            "effective_callers": [c.to_json() for c in p.callers],
            "token_required": p.token_required,
            "custom_authorization": list(p.custom),
            "policies": [
                {
                    "namespace": pol.namespace,
                    "name": pol.name,
                    "action": pol.action,
                    "enforced": pol.enforced,
                    **({"provider": pol.provider} if pol.provider else {}),
                }
                for pol in p.policies
            ],
            "weak_conditions": [w.to_json() for w in p.weaknesses],
        }


def policies(index: MeshIndex) -> list[A.Policy]:
    """Every AuthorizationPolicy, parsed, in input order; built once per index (read-only)."""
    return index.cached(_policies)


def _policies(index: MeshIndex) -> list[A.Policy]:
    return [pol for _, pol in policy_objects(index)]


def policy_objects(index: MeshIndex) -> list[tuple[KObject, A.Policy]]:
    """Each AuthorizationPolicy object with its parsed Policy, in input order; built once per
    index (read-only)."""
    return index.cached(_policy_objects)


def _policy_objects(index: MeshIndex) -> list[tuple[KObject, A.Policy]]:
    return [
        (o, A.parse_policy(o.namespace, o.name, o.spec, o.annotations))
        for o in index.snapshot.objects(K_AP)
    ]


def request_authentications(index: MeshIndex) -> list[tuple[KObject, A.Policy]]:
    """Each RequestAuthentication with its attachment fields (selector, targetRefs) as a Policy,
    since Istio attaches both kinds the same way."""
    return [
        (o, A.parse_policy(o.namespace, o.name, o.spec, {})) for o in index.snapshot.objects(K_RA)
    ]


def as_ztunnel(policy: A.Policy) -> A.Policy:
    """A selector (or namespace-wide) policy as ztunnel enforces it for an ambient workload
    (auditor/istio/waypoint.py): HTTP rules dropped from ALLOW, HTTP fields removed from DENY,
    CUSTOM and AUDIT not enforced."""
    if policy.action not in WP.ZTUNNEL_ACTIONS:
        return replace(policy, unsupported=True)
    return replace(policy, rules=WP.ztunnel_rules(policy.action, policy.rules))


def _guarded(posture: A.Posture) -> bool:
    """Whether an entry point's own policies limit who comes through it."""
    return A.restricts_callers(posture) or posture.identity_guarded


def _apply_exposure(index: MeshIndex, entries: list[WorkloadAuthz]) -> list[WorkloadAuthz]:
    """Mark workloads reachable from outside the cluster (the exposure map): a gateway that
    serves an external listener, and the workloads behind the Services its routes send to.
    `open_to_internet` when some such path passes a gateway whose policies do not restrict
    callers."""
    by_key = {(e.ref.namespace, e.ref.kind, e.ref.name): e for e in entries}
    by_gateway: dict[tuple[str, str], list[WorkloadAuthz]] = {}
    for e in entries:
        name = e.workload.labels.get(A.GATEWAY_NAME_LABEL) if e.workload else e.ref.name
        if name is not None and e.role != "workload":
            by_gateway.setdefault((e.ref.namespace, str(name)), []).append(e)
    exposed: set[tuple[str, str, str]] = set()
    open_: set[tuple[str, str, str]] = set()
    # a shared gateway has an entry per host: its workloads are looked up once
    istio_gateways: dict[tuple[str, str], list[WorkloadAuthz]] = {}
    for entry in build_exposure(index):
        if not entry.external:
            continue
        ref = entry.gateway
        if ref.group == ISTIO_NET:
            gws = istio_gateways.get((ref.namespace, ref.name))
            if gws is None:
                gw = index.snapshot.get(K_GATEWAY, ref.namespace, ref.name)
                gws = istio_gateways[(ref.namespace, ref.name)] = [
                    by_key[(w.namespace, w.obj.kind, w.obj.name)]
                    for w in (index.gateway_workloads(gw) if gw is not None else ())
                    if (w.namespace, w.obj.kind, w.obj.name) in by_key
                ]
        else:
            gws = by_gateway.get((ref.namespace, ref.name), [])
        unguarded = not gws or any(not _guarded(g.posture) for g in gws)
        for g in gws:
            key = (g.ref.namespace, g.ref.kind, g.ref.name)
            exposed.add(key)
            if not _guarded(g.posture):
                open_.add(key)
        if entry.redirect_only:
            continue
        for backend in entry.backends:
            host = backend.rsplit(":", 1)[0] if backend.count(":") == 1 else backend
            svc = index.services_by_host.get(host)
            if svc is None or not svc.spec.get("selector"):
                continue
            for w in index.select_workloads(svc.spec["selector"], svc.namespace):
                key = (w.namespace, w.obj.kind, w.obj.name)
                exposed.add(key)
                if unguarded:
                    open_.add(key)
    # entries start unexposed, and whatever is open is exposed: only exposed ones change
    return [
        replace(e, exposed=True, open_to_internet=k in open_) if k in exposed else e
        for e in entries
        for k in [(e.ref.namespace, e.ref.kind, e.ref.name)]
    ]


def _waypoint_services(index: MeshIndex, namespace: str, name: str) -> tuple[str, ...]:
    """Services and ServiceEntries bound to the waypoint (auditor/istio/waypoint.py rules)."""
    return waypoint_map(index).services_of(namespace, name)


def build_authorization(index: MeshIndex) -> list[WorkloadAuthz]:
    """The access model of every in-mesh workload and Istio-class Gateway API gateway, sorted
    with externally reachable ones first; built once per index (read-only)."""
    return index.cached(_build)


def _build(index: MeshIndex) -> list[WorkloadAuthz]:
    root = index.mesh.root_namespace
    normalization = path_normalization(index.mesh)
    all_policies = policies(index)
    by_ns: dict[str, list[A.Policy]] = {}
    for pol in all_policies:
        by_ns.setdefault(pol.namespace, []).append(pol)
    waypoint_gateways = set(waypoint_map(index).waypoints)
    out: list[WorkloadAuthz] = []
    with_pods: set[tuple[str, str]] = set()

    def posture_for(target: A.Target, ambient: bool = False) -> A.Posture:
        candidates = by_ns.get(root, []) + (
            by_ns.get(target.namespace, []) if target.namespace != root else []
        )
        applying = [p for p in candidates if A.applies(p, target, root)]
        if ambient:
            applying = [as_ztunnel(p) for p in applying]
        return A.evaluate(applying, normalization)

    for w in index.workloads:
        if w.owned:
            continue
        status = index.mesh_status(w)
        if not status.in_mesh:
            continue
        gw_name = w.labels.get(A.GATEWAY_NAME_LABEL)
        waypoint = gw_name is not None and (w.namespace, str(gw_name)) in waypoint_gateways
        if gw_name is not None:
            with_pods.add((w.namespace, str(gw_name)))
        target = A.Target(
            namespace=w.namespace,
            labels=w.labels,
            waypoint=waypoint,
            services=_waypoint_services(index, w.namespace, str(gw_name)) if waypoint else (),
        )
        gateway = index.is_gateway(w)
        out.append(
            WorkloadAuthz(
                ref=w.obj.ref,
                role="waypoint" if waypoint else ("gateway" if gateway else "workload"),
                mode=status.mode,
                exposed=False,
                open_to_internet=False,
                services=tuple(sorted(s.name for s in index.services_for(w))),
                posture=posture_for(
                    target, ambient=status.mode == "ambient" and not waypoint and not gateway
                ),
                workload=w,
            )
        )
    for gw in index.snapshot.objects(K_KGATEWAY):
        if (gw.namespace, gw.name) in with_pods or not index.is_istio_k8s_gateway(gw):
            continue
        waypoint = (gw.namespace, gw.name) in waypoint_gateways
        target = A.Target(
            namespace=gw.namespace,
            labels={A.GATEWAY_NAME_LABEL: gw.name},
            waypoint=waypoint,
            services=_waypoint_services(index, gw.namespace, gw.name) if waypoint else (),
        )
        out.append(
            WorkloadAuthz(
                ref=gw.ref,
                role="waypoint" if waypoint else "gateway",
                mode="",
                exposed=False,
                open_to_internet=False,
                services=(),
                posture=posture_for(target),
                workload=None,
            )
        )
    out = _apply_exposure(index, out)
    out.sort(key=lambda a: (not a.exposed, a.ref.namespace, a.ref.kind, a.ref.name))
    return out


@dataclass(frozen=True, slots=True)
class AuthzLookup:
    """The access model keyed for lookups: checks ask per workload or per gateway instead of
    scanning the model once per question."""

    by_workload: dict[tuple[str, str, str], WorkloadAuthz]  # Workload.key
    # gateway and waypoint entries by (namespace, Gateway API gateway name): the pods' gateway
    # name label, or the Gateway itself when it has no pods in the input
    by_gateway: dict[tuple[str, str], list[WorkloadAuthz]]


def authz_lookup(index: MeshIndex) -> AuthzLookup:
    """`build_authorization` by workload and by gateway; built once per index (read-only)."""
    return index.cached(_lookup)


def _lookup(index: MeshIndex) -> AuthzLookup:
    by_workload: dict[tuple[str, str, str], WorkloadAuthz] = {}
    by_gateway: dict[tuple[str, str], list[WorkloadAuthz]] = {}
    for e in build_authorization(index):
        if e.workload is not None:
            by_workload.setdefault(e.workload.key, e)
        if e.role == "workload":
            continue
        name = e.workload.labels.get(A.GATEWAY_NAME_LABEL) if e.workload else e.ref.name
        if name is not None:
            by_gateway.setdefault((e.ref.namespace, name), []).append(e)
    return AuthzLookup(by_workload=by_workload, by_gateway=by_gateway)


def applying_to(index: MeshIndex, policy: A.Policy) -> list[WorkloadAuthz]:
    """The modelled workloads a policy (or RequestAuthentication) attaches to."""
    root = index.mesh.root_namespace
    # A policy attaches only in its own namespace, or everywhere from the root namespace
    # (A.applies): looking only there keeps this linear in a mesh with a policy per namespace.
    if policy.namespace == root:
        candidates = build_authorization(index)
    else:
        candidates = by_namespace(index).get(policy.namespace, [])
    found = []
    for entry in candidates:
        labels = entry.workload.labels if entry.workload else {A.GATEWAY_NAME_LABEL: entry.ref.name}
        target = A.Target(
            namespace=entry.ref.namespace,
            labels=labels,
            waypoint=entry.role == "waypoint",
            services=_waypoint_services(
                index, entry.ref.namespace, str(labels.get(A.GATEWAY_NAME_LABEL))
            )
            if entry.role == "waypoint"
            else (),
        )
        if A.applies(policy, target, root):
            found.append(entry)
    return found


def by_namespace(index: MeshIndex) -> dict[str, list[WorkloadAuthz]]:
    """`build_authorization` by namespace; built once per index (read-only)."""
    return index.cached(_by_namespace)


def _by_namespace(index: MeshIndex) -> dict[str, list[WorkloadAuthz]]:
    out: dict[str, list[WorkloadAuthz]] = {}
    for entry in build_authorization(index):
        out.setdefault(entry.ref.namespace, []).append(entry)
    return out


def namespaces_of(entries: Iterable[WorkloadAuthz]) -> list[str]:
    return sorted({e.ref.namespace for e in entries})


def known_namespaces(index: MeshIndex) -> list[str]:
    return sorted(o.name for o in index.snapshot.objects(K_NAMESPACE))

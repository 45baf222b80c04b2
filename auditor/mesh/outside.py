"""What a workload outside the mesh is part of: who reaches it, and what it escapes.

A workload kept out of the mesh on purpose (a controller, a job, an operator's webhook) that
serves no mesh traffic and escapes no egress control the mesh enforces is a deliberate choice
worth listing; the same workload behind an entry point, routed to by the mesh, or leaving
around an egress control the rest of the mesh is held to is a weakness. The membership checks
(BYP006, BYP009, AMB005) take their severity from this.

- reached by: an external entry point whose backends select it (the exposure map: a gateway
  listener, or a load balancer, Ingress or node port around the gateway), or a mesh routing
  resource sending to a Service that selects it (a VirtualService or Gateway API route
  destination): traffic the mesh routes to it arrives without identity or policy;
- escapes: its egress is not contained by NetworkPolicy while the mesh enforces egress (an
  egress gateway, or `outboundTrafficPolicy: REGISTRY_ONLY`): it leaves around a control the
  workloads in the mesh are held to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.input.kinds import ROUTE_KINDS
from auditor.istio import hosts as H
from auditor.mesh.egress import egress_model
from auditor.mesh.egress_reach import uncontained
from auditor.mesh.egress_routing import route_destinations
from auditor.mesh.entrypoints import build_entry_points
from auditor.mesh.exposure import build_exposure
from auditor.mesh.index import K_VS, MeshIndex
from auditor.mesh.workload import Workload

Key = tuple[str, str]  # (namespace, name) of a Service


@dataclass(frozen=True, slots=True)
class OutsideContext:
    reached_by: tuple[str, ...]  # what sends traffic to it, in words
    escapes: bool  # its egress goes around a control the mesh enforces

    @property
    def matters(self) -> bool:
        return bool(self.reached_by) or self.escapes

    def to_evidence(self) -> dict[str, object]:
        return {"reached_by": list(self.reached_by), "escapes_egress_control": self.escapes}


class Outside:
    """Who reaches each Service and workload; build once per index (`outside(index)`)."""

    def __init__(self, index: MeshIndex) -> None:
        self.index = index
        self.by_service: dict[Key, set[str]] = {}
        self.by_workload: dict[str, set[str]] = {}  # "ns/name" -> reasons
        for entry in build_exposure(index):
            if not entry.external or entry.redirect_only:
                continue
            what = (
                f"entry point {entry.gateway.kind} {entry.gateway.namespace}/{entry.gateway.name}"
            )
            for backend in entry.backends:
                host = backend.rsplit(":", 1)[0] if backend.count(":") == 1 else backend
                svc = index.services_by_host.get(host)
                if svc is not None:
                    self.by_service.setdefault((svc.namespace, svc.name), set()).add(what)
        for entry in build_entry_points(index):
            if entry.external:
                what = f"{entry.entry} {entry.gateway.kind} {entry.gateway.namespace}/"
                for name in entry.workloads:
                    self.by_workload.setdefault(name, set()).add(what + entry.gateway.name)
        for vs in index.snapshot.objects(K_VS):
            for _path, dest, _mirror in route_destinations(vs.spec):
                self._route_to(str(dest.get("host") or ""), vs.namespace, "VirtualService", vs.name)
        for key in ROUTE_KINDS:
            for route in index.snapshot.objects(key):
                for rule in route.spec.get("rules") or ():
                    for ref in (rule.get("backendRefs") or ()) if isinstance(rule, Mapping) else ():
                        if isinstance(ref, Mapping) and ref.get("kind", "Service") == "Service":
                            ns = str(ref.get("namespace") or route.namespace)
                            name = f"{ref.get('name')}.{ns}.svc.{index.domain}"
                            self._route_to(name, route.namespace, route.kind, route.name)
        model = egress_model(index)
        self.enforced = model.has_egress_gateway or index.mesh.outbound_mode == "REGISTRY_ONLY"
        self._uncontained: dict[str, set[tuple[str, str, str]]] = {}

    def _route_to(self, host: str, namespace: str, kind: str, name: str) -> None:
        if not host:
            return
        svc = self.index.services_by_host.get(H.fqdn(host, namespace, self.index.domain))
        if svc is not None:
            what = f"{kind} {namespace}/{name}"
            self.by_service.setdefault((svc.namespace, svc.name), set()).add(what)

    def context(self, w: Workload) -> OutsideContext:
        reasons = set(self.by_workload.get(f"{w.namespace}/{w.obj.name}", ()))
        for svc in self.index.services_for(w):
            reasons |= self.by_service.get((svc.namespace, svc.name), set())
        escapes = self.enforced and (w.owner or w.key) in self._loose(w.namespace)
        return OutsideContext(reached_by=tuple(sorted(reasons)), escapes=escapes)

    def _loose(self, namespace: str) -> set[tuple[str, str, str]]:
        """Workloads of a namespace whose egress no NetworkPolicy contains."""
        found = self._uncontained.get(namespace)
        if found is None:
            found = self._uncontained[namespace] = {
                u.key for u in uncontained(self.index, namespace)[0]
            }
        return found


def outside(index: MeshIndex) -> Outside:
    return index.cached(Outside)

"""Mesh membership and mesh destinations, derived once per snapshot for the index.

`MeshIndex.mesh_status(workload)` and `MeshIndex.destination(host, namespace)` are the public
entry points; they delegate here. The rules (what an `istio-proxy` container, an injection label
or `istio.io/dataplane-mode` means) are in auditor/istio/injection.py; this module applies them
to the input: what runs decides first (a controller's Pods), then its pod template, then the
namespace and pod labels under the injector's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from auditor.input.kinds import K_CONFIGMAP, K_MWC
from auditor.input.snapshot import KObject, Snapshot
from auditor.istio import hosts as H
from auditor.istio.injection import (
    Injector,
    MeshStatus,
    enable_namespaces_by_default,
    injector_webhooks,
    is_gateway_pod,
    mesh_status,
    namespace_mode,
)
from auditor.mesh.workload import Workload


@dataclass(frozen=True, slots=True)
class Destination:
    """Whether a destination host is served by mesh workloads (Istio mTLS applies to it).

    `kind`: `mesh` (some selected workload is in the mesh), `outside` (the Service's workloads,
    or its namespace, are outside the mesh), `external` (ExternalName, selector-less Service,
    ServiceEntry or an unknown non-cluster host: no sidecar answers there), `assumed-mesh`
    (a cluster host whose pods and namespace are not in the input, judged as a mesh host).
    """

    kind: str
    reason: str
    service: KObject | None = None
    workloads: tuple[Workload, ...] = ()

    @property
    def in_mesh(self) -> bool:
        return self.kind in ("mesh", "assumed-mesh")


class Membership:
    """Who is in the mesh, and which hosts mesh workloads serve, over one snapshot's workloads.

    Built by the index with the lookups it already holds; cached per workload."""

    def __init__(
        self,
        *,
        snapshot: Snapshot,
        workloads: list[Workload],
        namespace_labels: Mapping[str, Mapping[str, str]],
        services_by_host: Mapping[str, KObject],
        service_host_set: H.HostSet,
        select_workloads: Callable[[Mapping[str, str] | None, str | None], list[Workload]],
        domain: str,
    ) -> None:
        self.snapshot = snapshot
        self.workloads = workloads
        self.namespace_labels = namespace_labels
        self.services_by_host = services_by_host
        self.service_host_set = service_host_set
        self.select_workloads = select_workloads
        self.domain = domain
        self._cache: dict[tuple[str, str, str], MeshStatus] = {}
        self._gateway: dict[tuple[str, str, str], bool] = {}

    @cached_property
    def injection_by_default(self) -> bool:
        """The sidecar injector's enableNamespacesByDefault (istio-sidecar-injector ConfigMap)."""
        for cm in self.snapshot.objects(K_CONFIGMAP):
            values = (cm.raw.get("data") or {}).get("values")
            if cm.name.startswith("istio-sidecar-injector") and isinstance(values, str):
                return enable_namespaces_by_default(values)
        return False

    @cached_property
    def injector(self) -> Injector:
        """The injector's default policy and, when the MutatingWebhookConfigurations were read,
        its webhooks (revisions and revision tags included)."""
        hooks = injector_webhooks([(o.name, o.raw) for o in self.snapshot.objects(K_MWC)])
        return Injector(enabled_by_default=self.injection_by_default, webhooks=hooks or None)

    @cached_property
    def pods_by_controller(self) -> dict[tuple[str, str, str], list[Workload]]:
        """Running (or saved) Pods per audited workload (kind, namespace, name), by the
        ownership auditor/mesh/workload.py derives (controller ownerReferences, and the names
        controllers give what they create)."""
        out: dict[tuple[str, str, str], list[Workload]] = {}
        for w in self.workloads:
            if w.obj.kind == "Pod" and w.owner is not None:
                out.setdefault(w.owner, []).append(w)
        return out

    def running_pods(self, workload: Workload) -> list[Workload]:
        """The Pods of a controller in the input (empty for a bare Pod or none saved)."""
        return self.pods_by_controller.get(workload.key, [])

    def _status(self, workload: Workload) -> MeshStatus:
        return mesh_status(
            workload.labels,
            workload.annotations,
            workload.pod_spec,
            self.namespace_labels.get(workload.namespace),
            namespace=workload.namespace,
            injector=self.injector,
            running=workload.obj.kind == "Pod",
        )

    def mesh_status(self, workload: Workload) -> MeshStatus:
        """See MeshIndex.mesh_status."""
        key = workload.key
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        status = self._status(workload)
        pods = self.running_pods(workload) if workload.obj.kind != "Pod" else []
        if pods and status.role == "workload":
            # a Pod's own status is this same judgement (it has no pods): asked through the
            # cache, each Pod is judged once however many times it is asked for
            statuses = [self.mesh_status(p) for p in pods]
            inside = [s for s in statuses if s.in_mesh]
            chosen = inside[0] if inside else statuses[0]
            count = f"{len(inside)} of {len(pods)} pods in the input are in the mesh"
            status = MeshStatus(
                chosen.in_mesh,
                chosen.mode,
                chosen.reason,
                (*chosen.evidence, count),
                "pod",
                chosen.role,
            )
        self._cache[key] = status
        return status

    def is_gateway(self, workload: Workload) -> bool:
        """See MeshIndex.is_gateway."""
        key = workload.key
        found = self._gateway.get(key)
        if found is None:
            found = self._gateway[key] = is_gateway_pod(
                workload.labels, workload.annotations, workload.pod_spec
            )
        return found

    def app_workloads_of(self, svc: KObject) -> list[Workload]:
        """The workloads a Service's selector picks (controllers and bare Pods, not the Pods a
        controller owns)."""
        selector = svc.spec.get("selector")
        if not selector:
            return []
        return [w for w in self.select_workloads(selector, svc.namespace) if not w.owned]

    def destination(self, host: str, namespace: str) -> Destination:
        """See MeshIndex.destination."""
        name = H.fqdn(host, namespace, self.domain)
        if H.is_wildcard(name):
            services = [
                v for v in self.service_host_set.overlapping(name) if isinstance(v, KObject)
            ]
            if services or name in ("*", "*.local", f"*.{self.domain}", f"*.svc.{self.domain}"):
                return Destination("mesh", f"wildcard {name} covers mesh services")
            return Destination("external", f"wildcard {name} covers no cluster Service")
        if name == f"kubernetes.default.svc.{self.domain}":
            return Destination("external", "the Kubernetes API server (no sidecar)")
        svc = self.services_by_host.get(name)
        if svc is None:
            if name.endswith(f".svc.{self.domain}"):
                ns = name[: -len(f".svc.{self.domain}")].rsplit(".", 1)[-1]
                return self._by_namespace(ns, None, f"no Service {name} in the input")
            return Destination("external", f"{name} is not a cluster Service")
        if svc.spec.get("type") == "ExternalName":
            target = svc.spec.get("externalName") or ""
            return Destination("external", f"ExternalName Service to {target}", svc)
        workloads = self.app_workloads_of(svc)
        if not svc.spec.get("selector"):
            return Destination(
                "external", f"Service {svc.namespace}/{svc.name} has no selector", svc
            )
        if workloads:
            statuses = [(w, self.mesh_status(w)) for w in workloads]
            inside = tuple(w for w, st in statuses if st.in_mesh)
            if inside:
                return Destination("mesh", "served by mesh workloads", svc, inside)
            w, st = statuses[0]
            return Destination(
                "outside",
                f"served by {w.obj.kind} {w.namespace}/{w.obj.name}, outside the mesh "
                f"({st.reason})",
                svc,
                tuple(w for w, _ in statuses),
            )
        return self._by_namespace(svc.namespace, svc, "no pods of it in the input")

    def _by_namespace(self, ns: str, svc: KObject | None, why: str) -> Destination:
        labels = self.namespace_labels.get(ns)
        if labels is None:
            return Destination("assumed-mesh", f"{why}; namespace {ns} not in the input", svc)
        mode = namespace_mode(labels, self.injection_by_default)
        if mode in ("sidecar", "ambient"):
            return Destination("mesh", f"{why}; namespace {ns} is in the mesh ({mode})", svc)
        return Destination("outside", f"{why}; namespace {ns} is not in the mesh", svc)

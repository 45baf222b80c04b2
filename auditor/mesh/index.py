"""MeshIndex: lookups derived from a Snapshot once, so checks never scan resources in loops.

Everything here is built in one pass per kind. Checks ask questions such as "which workloads does
this Gateway select", "which Services front them", "which VirtualServices bind this Gateway",
"does any Service or ServiceEntry define this host"; each answer is a dict probe or a small
posting list, so a scan stays near-linear in the number of objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, TypeVar, cast

from auditor.input.kinds import (
    K_AP,
    K_CONFIGMAP,
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_DR,
    K_ENVOYFILTER,
    K_GATEWAY,
    K_GRPCROUTE,
    K_GWCLASS,
    K_HTTPROUTE,
    K_INGRESS,
    K_KGATEWAY,
    K_MWC,
    K_NAMESPACE,
    K_NETPOL,
    K_PA,
    K_POD,
    K_RA,
    K_REFGRANT,
    K_SE,
    K_SECRET,
    K_SERVICE,
    K_SIDECAR,
    K_STATEFULSET,
    K_TCPROUTE,
    K_TLSROUTE,
    K_VS,
    K_VWC,
    K_WE,
    ROUTE_KINDS,
    WORKLOAD_KINDS,
)
from auditor.input.snapshot import KObject, Snapshot
from auditor.istio import annotations as ann
from auditor.istio import gatewayapi as GA
from auditor.istio import hosts as H
from auditor.istio.injection import MeshStatus
from auditor.istio.meshconfig import MeshConfig
from auditor.istio.mtls import PeerAuthIndex
from auditor.istio.refs import GatewayRef, lookup_scopes, virtual_service_gateways, visible_in
from auditor.istio.selectors import LabelIndex, SelectorIndex
from auditor.mesh.membership import Destination, Membership
from auditor.mesh.mesh_config_source import resolve_mesh_config
from auditor.mesh.workload import Workload, derive_workloads
from auditor.mesh.workload_ports import WorkloadPorts

# Re-exported: checks and models import these from the index.
__all__ = [
    "K_AP",
    "K_CONFIGMAP",
    "K_DAEMONSET",
    "K_DEPLOYMENT",
    "K_DR",
    "K_ENVOYFILTER",
    "K_GATEWAY",
    "K_GRPCROUTE",
    "K_GWCLASS",
    "K_HTTPROUTE",
    "K_INGRESS",
    "K_KGATEWAY",
    "K_MWC",
    "K_NAMESPACE",
    "K_NETPOL",
    "K_PA",
    "K_POD",
    "K_RA",
    "K_REFGRANT",
    "K_SE",
    "K_SECRET",
    "K_SERVICE",
    "K_SIDECAR",
    "K_STATEFULSET",
    "K_TCPROUTE",
    "K_TLSROUTE",
    "K_VS",
    "K_VWC",
    "K_WE",
    "ROUTE_KINDS",
    "WORKLOAD_KINDS",
    "Destination",
    "MeshIndex",
    "Workload",
]


T = TypeVar("T")


class MeshIndex:
    """Derived lookups over one Snapshot. Build with `MeshIndex(snapshot)`; read-only after."""

    def __init__(self, snapshot: Snapshot, mesh_config: MeshConfig | None = None) -> None:
        self.snapshot = snapshot
        self._models: dict[Callable[[MeshIndex], Any], Any] = {}
        self._services_for: dict[tuple[str, str, str], list[KObject]] = {}
        self._resolved: dict[tuple[str, str, tuple[Any, ...] | None], KObject | None] = {}
        self.mesh: MeshConfig = mesh_config or resolve_mesh_config(snapshot)[0]
        self.domain = H.CLUSTER_DOMAIN

        self.namespace_labels: dict[str, Mapping[str, str]] = {
            o.name: o.labels for o in snapshot.objects(K_NAMESPACE)
        }

        # Services by FQDN and the selectors that pick pods, per namespace.
        self.services_by_host: dict[str, KObject] = {}
        # the same Services as a HostSet, for wildcard hosts (`*.shop.svc.cluster.local`)
        self.service_host_set: H.HostSet = H.HostSet()
        self._service_selectors: dict[str, SelectorIndex[KObject]] = {}
        for svc in snapshot.objects(K_SERVICE):
            self.services_by_host[f"{svc.name}.{svc.namespace}.svc.{self.domain}"] = svc
            self.service_host_set.add(f"{svc.name}.{svc.namespace}.svc.{self.domain}", svc)
            selector = svc.spec.get("selector")
            if selector:
                self._service_selectors.setdefault(svc.namespace, SelectorIndex()).add(
                    selector, svc
                )

        # Workloads, all namespaces, searchable by label selector.
        self.workloads: list[Workload] = []
        self._workloads_by_label: LabelIndex[Workload] = LabelIndex()
        # and per namespace: most selectors (Services, policies, subsets) are namespace-local,
        # and a pair such as `app: frontend` occurs in every namespace
        self._workloads_by_namespace_label: dict[str, LabelIndex[Workload]] = {}
        for workload in derive_workloads(snapshot):
            self._add_workload(workload)

        # ServiceEntry hosts; a ServiceEntry's short hosts resolve in its namespace.
        self.service_entry_hosts: H.HostSet = H.HostSet()
        for se in snapshot.objects(K_SE):
            for host in se.spec.get("hosts") or ():
                self.service_entry_hosts.add(H.fqdn(host, se.namespace, self.domain), se)

        # Istio Gateways and the VirtualServices bound to each.
        self.gateways: dict[GatewayRef, KObject] = {
            GatewayRef(g.namespace, g.name): g for g in snapshot.objects(K_GATEWAY)
        }
        self.virtual_services_by_gateway: dict[GatewayRef, list[KObject]] = {}
        self.mesh_virtual_services: list[KObject] = []
        for vs in snapshot.objects(K_VS):
            mesh, refs = virtual_service_gateways(vs.spec.get("gateways"), vs.namespace)
            if mesh:
                self.mesh_virtual_services.append(vs)
            for ref in refs:
                self.virtual_services_by_gateway.setdefault(ref, []).append(vs)

        self.secrets: dict[tuple[str, str], KObject] = {
            (s.namespace, s.name): s for s in snapshot.objects(K_SECRET)
        }

        # Gateway API.
        self.k8s_gateways: dict[tuple[str, str], KObject] = {
            (g.namespace, g.name): g for g in snapshot.objects(K_KGATEWAY)
        }
        self.gateway_classes: dict[str, KObject] = {c.name: c for c in snapshot.objects(K_GWCLASS)}
        self.controller_by_class: dict[str, str] = {
            c.name: str(c.spec.get("controllerName") or "") for c in self.gateway_classes.values()
        }
        self.reference_grants: dict[str, list[dict[str, Any]]] = {}
        for grant in snapshot.objects(K_REFGRANT):
            self.reference_grants.setdefault(grant.namespace, []).append(grant.raw)
        # routes by the Gateway each parentRef names: (route, parentRef index, parentRef)
        self.routes_by_gateway: dict[tuple[str, str], list[tuple[KObject, int, GA.ParentRef]]] = {}
        for key in ROUTE_KINDS:
            for route in snapshot.objects(key):
                for i, raw_ref in enumerate(route.spec.get("parentRefs") or ()):
                    pref = GA.parent_ref(raw_ref, route.namespace)
                    if pref is not None:
                        self.routes_by_gateway.setdefault((pref.namespace, pref.name), []).append(
                            (route, i, pref)
                        )
        # Services that select a Gateway API gateway's pods by the gateway-name label
        self._services_by_gateway_label: dict[tuple[str, str], list[KObject]] = {}
        for svc in snapshot.objects(K_SERVICE):
            gw_name = (svc.spec.get("selector") or {}).get(GA.GATEWAY_NAME_LABEL)
            if gw_name:
                self._services_by_gateway_label.setdefault((svc.namespace, gw_name), []).append(svc)

    def release(self) -> None:
        """Drop every lookup and model: the index cannot answer afterwards. The models (and the
        membership) refer back to the index, so without this the whole structure waits for a
        full garbage collection, which walks all of it; dropped here, reference counting frees
        it at once (auditor/run/scan.py calls it when the report is made)."""
        self.__dict__.clear()

    # ---- models built on the index (built on first use) --------------------------------------

    def cached(self, build: Callable[[MeshIndex], T]) -> T:
        """`build(self)`, built once per index. The models (egress, waypoints, ...) live above
        the index in auditor/mesh/ and are reached through their own accessor, such as
        `egress_model(index)`: the index knows none of them."""
        try:
            return cast(T, self._models[build])
        except KeyError:
            model = self._models[build] = build(self)
            return model

    # ---- injection, mTLS (built on first use) ------------------------------------------------

    @cached_property
    def network_policies(self) -> dict[str, list[KObject]]:
        out: dict[str, list[KObject]] = {}
        for pol in self.snapshot.objects(K_NETPOL):
            out.setdefault(pol.namespace, []).append(pol)
        return out

    # ---- membership, destinations, ports (auditor/mesh/membership.py, workload_ports.py) ---

    @cached_property
    def membership(self) -> Membership:
        return Membership(
            snapshot=self.snapshot,
            workloads=self.workloads,
            namespace_labels=self.namespace_labels,
            services_by_host=self.services_by_host,
            service_host_set=self.service_host_set,
            select_workloads=self.select_workloads,
            domain=self.domain,
        )

    @cached_property
    def ports(self) -> WorkloadPorts:
        return WorkloadPorts(snapshot=self.snapshot, services_for=self.services_for)

    def mesh_status(self, workload: Workload) -> MeshStatus:
        """THE answer to "is this workload in the mesh, and how": what runs decides first (its
        Pods, when the input has them), then the controller's pod template, then the namespace
        and pod labels under the injector's rules (auditor/istio/injection.py)."""
        return self.membership.mesh_status(workload)

    def is_gateway(self, workload: Workload) -> bool:
        """Whether the workload is a gateway deployment (auditor/istio/injection.py
        `is_gateway_pod` of its pod labels, annotations and spec), worked out once per
        workload: a dozen models and checks ask it of every workload."""
        return self.membership.is_gateway(workload)

    def destination(self, host: str, namespace: str) -> Destination:
        """Is `host` (short names resolved in `namespace`) a mesh destination? Decided by the
        workloads behind it, not by the host suffix: mTLS settings toward a destination with no
        sidecar (ExternalName, selector-less with external endpoints, a namespace outside the
        mesh) are what Istio's documentation prescribes, not a weakening."""
        return self.membership.destination(host, namespace)

    @property
    def injection_by_default(self) -> bool:
        """The sidecar injector's enableNamespacesByDefault (istio-sidecar-injector ConfigMap)."""
        return self.membership.injection_by_default

    def running_pods(self, workload: Workload) -> list[Workload]:
        """The Pods of a controller in the input (empty for a bare Pod or none saved)."""
        return self.membership.running_pods(workload)

    def app_workloads_of(self, svc: KObject) -> list[Workload]:
        """The workloads a Service's selector picks (not the Pods a controller owns)."""
        return self.membership.app_workloads_of(svc)

    def workload_ports(self, workload: Workload) -> dict[int, list[str]]:
        """The ports a workload serves: {container port: [how it is reached]}."""
        return self.ports.workload_ports(workload)

    def webhook_callers(self, workload: Workload) -> dict[int, list[str]]:
        """Workload ports the API server calls as an admission webhook."""
        return self.ports.webhook_callers(workload)

    @cached_property
    def peer_authentication(self) -> PeerAuthIndex:
        return PeerAuthIndex(list(self.snapshot.objects(K_PA)), self.mesh.root_namespace)

    @cached_property
    def workloads_by_namespace(self) -> dict[str, list[Workload]]:
        out: dict[str, list[Workload]] = {}
        for w in self.workloads:
            out.setdefault(w.namespace, []).append(w)
        return out

    # ---- workloads and services ----------------------------------------------------------

    @cached_property
    def value_warnings(self) -> list[ann.ValueWarning]:
        """Pod annotations the audit reads whose values are not valid (report `warnings[]`).

        Controller-owned Pods are left out: their template carries the same values."""
        out: list[ann.ValueWarning] = []
        for w in self.workloads:
            if w.owned:
                continue
            path = f"{w.meta_path}.annotations"
            out.extend(
                ann.pod_annotation_warnings(
                    w.annotations,
                    kind=w.obj.kind,
                    namespace=w.namespace,
                    name=w.obj.name,
                    path=path,
                )
            )
        return out

    def _add_workload(self, workload: Workload) -> None:
        self.workloads.append(workload)
        self._workloads_by_label.add(workload.labels, workload)
        local = self._workloads_by_namespace_label.get(workload.namespace)
        if local is None:
            local = self._workloads_by_namespace_label[workload.namespace] = LabelIndex()
        local.add(workload.labels, workload)

    def select_workloads(
        self, selector: Mapping[str, str] | None, namespace: str | None = None
    ) -> list[Workload]:
        """Workloads whose pod labels match; any namespace unless one is given."""
        if namespace is None:
            return self._workloads_by_label.select(selector)
        local = self._workloads_by_namespace_label.get(namespace)
        return local.select(selector) if local is not None else []

    def services_for(self, workload: Workload) -> list[KObject]:
        """Services in the workload's namespace whose selector picks its pods (read-only: the
        answer is kept, since most models ask it of every workload)."""
        found = self._services_for.get(workload.key)
        if found is None:
            index = self._service_selectors.get(workload.namespace)
            found = index.matching(workload.labels) if index else []
            self._services_for[workload.key] = found
        return found

    def service(self, host: str, namespace: str) -> KObject | None:
        """The Service a host names, short names resolved in `namespace`."""
        return self.services_by_host.get(H.fqdn(host, namespace, self.domain))

    # ---- Istio Gateways ------------------------------------------------------------------

    def gateway_workloads(self, gateway: KObject) -> list[Workload]:
        """Workloads an Istio Gateway's `selector` picks, in any namespace."""
        selector = gateway.spec.get("selector") or {}
        if not selector:
            return []
        return self.select_workloads(selector)

    def gateway_services(self, gateway: KObject) -> list[KObject]:
        """Services fronting the gateway's workloads, each once, in a stable order."""
        seen: dict[tuple[str, str], KObject] = {}
        for workload in self.gateway_workloads(gateway):
            for svc in self.services_for(workload):
                seen.setdefault((svc.namespace, svc.name), svc)
        return [seen[k] for k in sorted(seen)]

    def bound_virtual_services(self, gateway: KObject) -> list[KObject]:
        return self.virtual_services_by_gateway.get(GatewayRef(gateway.namespace, gateway.name), [])

    def gateway_workload_namespaces(self, gateway: KObject) -> list[str]:
        """Namespaces of the workloads an Istio Gateway selects: where its credentials must be."""
        return sorted({w.namespace for w in self.gateway_workloads(gateway)})

    def secret(self, namespace: str, name: str) -> KObject | None:
        return self.secrets.get((namespace, name))

    # ---- Gateway API ---------------------------------------------------------------------

    def is_istio_k8s_gateway(self, gateway: KObject) -> bool:
        return GA.is_istio_gateway(
            str(gateway.spec.get("gatewayClassName") or ""), self.controller_by_class
        )

    def k8s_gateway_services(self, gateway: KObject) -> list[KObject]:
        """The Services in front of a Gateway API gateway's pods.

        Istio's auto-deployment names it `<gateway>-<class>` and selects the pods by the
        `gateway.networking.k8s.io/gateway-name` label; a manually deployed gateway is named by
        a Hostname address (`svc.ns.svc.cluster.local`) in `spec.addresses`.
        """
        found: dict[tuple[str, str], KObject] = {}
        ns, name = gateway.namespace, gateway.name
        cls = str(gateway.spec.get("gatewayClassName") or "")
        for candidate in (f"{name}-{cls}", f"{name}-istio"):
            svc = self.snapshot.get(K_SERVICE, ns, candidate)
            if svc is not None:
                found[(svc.namespace, svc.name)] = svc
        for svc in self._services_by_gateway_label.get((ns, name), ()):
            found[(svc.namespace, svc.name)] = svc
        for addr in gateway.spec.get("addresses") or ():
            if (addr.get("type") or "IPAddress") == "Hostname":
                svc = self.services_by_host.get(H.normalize(str(addr.get("value") or "")))
                if svc is not None:
                    found[(svc.namespace, svc.name)] = svc
        return [found[k] for k in sorted(found)]

    def attached_routes(self, gateway: KObject) -> list[tuple[KObject, int, GA.ParentRef]]:
        """(route, parentRef index, parentRef) for every parentRef naming this Gateway."""
        return self.routes_by_gateway.get((gateway.namespace, gateway.name), [])

    def grants_in(self, namespace: str) -> list[dict[str, Any]]:
        return self.reference_grants.get(namespace, [])

    # ---- hosts ---------------------------------------------------------------------------

    def host_registered(
        self, host: str, from_namespace: str, resolve_in: str | None = None
    ) -> list[KObject]:
        """The Services and ServiceEntries that define `host`, as seen from a namespace.

        A short name resolves in `resolve_in` (default: `from_namespace`).
        """
        name = H.fqdn(host, from_namespace if resolve_in is None else resolve_in, self.domain)
        found: list[KObject] = []
        if H.is_wildcard(name):
            # a wildcard host (a DestinationRule for `*.shop.svc.cluster.local`) is known when
            # some Service or ServiceEntry host falls within it
            services = [
                v for v in self.service_host_set.overlapping(name) if isinstance(v, KObject)
            ]
            entries = self.service_entry_hosts.overlapping(name)
        else:
            one = self.services_by_host.get(name)
            services = [one] if one is not None else []
            entries = self.service_entry_hosts.lookup(name)
        for svc in services:
            if visible_in(
                _export_to(svc), svc.namespace, from_namespace, self.mesh.default_service_export_to
            ):
                found.append(svc)
        for value in entries:
            assert isinstance(value, KObject)
            if visible_in(
                value.spec.get("exportTo"),
                value.namespace,
                from_namespace,
                self.mesh.default_service_export_to,
            ):
                found.append(value)
        return found

    def resolve_destination(self, host: str, namespace: str, export_to: object) -> KObject | None:
        """The Service or ServiceEntry istioctl would resolve a destination host to, or None.

        `export_to` is the referring resource's exportTo: its host is looked up from each
        namespace it is visible in (istioctl's GetDestinationHost).
        """
        listed = export_to if isinstance(export_to, list) else None
        # checks resolve the same DestinationRule and route hosts again and again: the answer,
        # a pure function of the index, is kept (unless exportTo holds unhashable junk)
        key = (host, namespace, tuple(listed) if listed is not None else None)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        except TypeError:
            return self._resolve(host, namespace, listed)
        found = self._resolved[key] = self._resolve(host, namespace, listed)
        return found

    def _resolve(self, host: str, namespace: str, export_to: list[Any] | None) -> KObject | None:
        for scope in lookup_scopes(export_to, namespace):
            found = self.host_registered(host, scope, resolve_in=namespace)
            if found:
                return found[0]
        return None


def _export_to(svc: KObject) -> list[str] | None:
    value = svc.annotations.get("networking.istio.io/exportTo")
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]

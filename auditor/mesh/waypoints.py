"""Which ambient waypoint serves each Service, ServiceEntry and workload of one snapshot.

The rules are in auditor/istio/waypoint.py; this module applies them to the input once, for
the ambient checks (auditor/checks/ambient.py and ambient_waypoints.py), the access model
(auditor/mesh/authorization.py) and egress (auditor/mesh/egress.py). Built once per index by
`waypoint_map(index)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from auditor.input.kinds import K_KGATEWAY, K_SE, K_SERVICE
from auditor.input.snapshot import KObject
from auditor.istio import gatewayapi as GA
from auditor.istio import waypoint as WP
from auditor.mesh.workload import Workload

if TYPE_CHECKING:
    from auditor.mesh.index import MeshIndex


class WaypointMap:
    def __init__(self, index: MeshIndex) -> None:
        self.index = index
        self._service: dict[tuple[str, str, str], WP.Binding] = {}

    @cached_property
    def waypoints(self) -> dict[tuple[str, str], WP.Waypoint]:
        """Gateways of a waypoint class (`istio-waypoint`, or a class of Istio's mesh
        controller), by (namespace, name)."""
        out: dict[tuple[str, str], WP.Waypoint] = {}
        for gw in self.index.snapshot.objects(K_KGATEWAY):
            cls = str(gw.spec.get("gatewayClassName") or "")
            if not WP.is_waypoint_class(cls, self.index.controller_by_class.get(cls, "")):
                continue
            klass = self.index.gateway_classes.get(cls)
            out[(gw.namespace, gw.name)] = WP.waypoint_from_gateway(
                gw.namespace, gw.name, gw.labels, gw.spec, klass.labels if klass else None
            )
        return out

    def gateway(self, waypoint: WP.Waypoint) -> KObject | None:
        return self.index.k8s_gateways.get((waypoint.namespace, waypoint.name))

    def _ns_labels(self, namespace: str) -> Mapping[str, str]:
        return self.index.namespace_labels.get(namespace) or {}

    def service(self, obj: KObject) -> WP.Binding:
        """The waypoint of service traffic to a Service or ServiceEntry."""
        key = (obj.kind, obj.namespace, obj.name)
        found = self._service.get(key)
        if found is None:
            found = self._service[key] = WP.bind(
                "service",
                obj.kind,
                obj.namespace,
                obj.labels,
                self._ns_labels(obj.namespace),
                self.waypoints,
            )
        return found

    def workload(self, workload: Workload) -> WP.Binding:
        """The waypoint of traffic addressed to the workload's pod IPs."""
        return WP.bind(
            "workload",
            "Pod" if workload.obj.kind == "Pod" else "pod template",
            workload.namespace,
            workload.labels,
            self._ns_labels(workload.namespace),
            self.waypoints,
        )

    def in_path(self, workload: Workload) -> list[tuple[str, WP.Waypoint]]:
        """The waypoints traffic to this workload passes: (how it is addressed, waypoint) for
        each Service that selects it and for its pod IPs; empty when none is in use."""
        out: list[tuple[str, WP.Waypoint]] = []
        for svc in self.index.services_for(workload):
            used = WP.binding_in_use(self.service(svc))
            if used is not None:
                out.append((f"Service {svc.namespace}/{svc.name}", used))
        used = WP.binding_in_use(self.workload(workload))
        if used is not None:
            out.append(("its pod IPs", used))
        return out

    def services_of(self, namespace: str, name: str) -> tuple[str, ...]:
        """Names of the Services and ServiceEntries in `namespace` whose service traffic the
        waypoint `namespace/name` serves (the targets a Service/ServiceEntry targetRef may name
        for it)."""
        out = set()
        for key in (K_SERVICE, K_SE):
            for obj in self.index.snapshot.objects(key):
                if obj.namespace != namespace:
                    continue
                used = WP.binding_in_use(self.service(obj))
                if used is not None and (used.namespace, used.name) == (namespace, name):
                    out.add(obj.name)
        return tuple(sorted(out))

    def identity(self, waypoint: WP.Waypoint) -> tuple[str, str]:
        """(namespace, service account) of the waypoint's pods: the serviceAccountName of a
        workload labelled with its gateway name, else the Gateway's name (Istio's deployment
        controller names the ServiceAccount after the Gateway)."""
        for w in self.index.select_workloads(
            {GA.GATEWAY_NAME_LABEL: waypoint.name}, waypoint.namespace
        ):
            account = w.pod_spec.get("serviceAccountName")
            if isinstance(account, str) and account:
                return waypoint.namespace, account
        return waypoint.namespace, waypoint.name


def waypoint_map(index: MeshIndex) -> WaypointMap:
    """Which ambient waypoint serves what in `index`, built once per index."""
    return index.cached(WaypointMap)

"""`scan --prometheus`: ask Prometheus about the mesh's egress and join it to the egress model.

The index supplies what the plain join (auditor/mesh/observed.py) needs: the egress gateways'
workloads (whose reports are the gateway's own hop out) and Service hosts (where sidecars send
routed traffic), and the workloads that can send out without a proxy (they emit no metrics).
"""

from __future__ import annotations

from auditor.base.redact import redact_text
from auditor.input.kinds import GATEWAY_API
from auditor.input.prometheus.client import PrometheusClient, PrometheusError
from auditor.input.prometheus.egress_queries import Telemetry, collect
from auditor.mesh.egress import egress_model
from auditor.mesh.egress_routing import egress_routing
from auditor.mesh.index import MeshIndex
from auditor.mesh.observed import ObservedEgress, join
from auditor.run.telemetry_options import ObserveRequest

GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


def gateway_targets(index: MeshIndex) -> tuple[set[tuple[str, str]], list[str], list[str]]:
    """(namespace, workload) of every egress gateway's pods, its Services' hosts, and the
    gateways whose pods are not in the input."""
    workloads: set[tuple[str, str]] = set()
    hosts: set[str] = set()
    unseen: list[str] = []
    for gw in egress_routing(index).egress_gateways():
        if gw.group == GATEWAY_API:
            # Istio deploys a Gateway API gateway's pods labelled with the Gateway's name
            found = index.select_workloads({GATEWAY_NAME_LABEL: gw.name}, gw.namespace)
        else:
            found = index.gateway_workloads(gw)
        found = [wl for wl in found if not wl.owned]
        if not found:
            unseen.append(f"{gw.kind} {gw.namespace}/{gw.name}")
        for wl in found:
            workloads.add((wl.namespace, wl.obj.name))
            for svc in index.services_for(wl):
                hosts.add(f"{svc.name}.{svc.namespace}.svc.{index.domain}")
    return workloads, sorted(hosts), unseen


def unobservable(index: MeshIndex) -> list[str]:
    """Workloads outside the mesh (no proxy, so no metrics) that the egress model lists."""
    out: set[str] = set()
    for group in egress_model(index).reachers.groups:
        if group.outside:
            out.update(
                f"{kind} {group.namespace}/{name}"
                for kind, _, name in (n.partition(" ") for n in group.names)
            )
    return sorted(out)


def observe(index: MeshIndex, request: ObserveRequest, *, end: float) -> ObservedEgress:
    """Never raises for anything Prometheus does: failures are coverage notes."""
    workloads, hosts, unseen = gateway_targets(index)
    try:
        client = PrometheusClient(request.settings)
    except PrometheusError as exc:
        telemetry = Telemetry(
            url=redact_text(request.settings.url),
            since=request.since,
            window_seconds=request.window_seconds,
            start=end - request.window_seconds,
            end=end,
        )
        telemetry.give_up(f"Prometheus not queried: {exc}; no traffic was observed")
    else:
        telemetry = collect(
            client,
            since=request.since,
            window_seconds=request.window_seconds,
            end=end,
            domain=index.domain,
            gateway_hosts=hosts,
        )
    return join(
        telemetry,
        egress_model(index).entries,
        gateway_workloads=workloads,
        unobservable=unobservable(index),
        notes=[
            f"egress gateway {name}: its pods are not in the input, so traffic it sends on "
            "counts as direct"
            for name in unseen
        ],
    )

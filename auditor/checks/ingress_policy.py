"""Ingress NetworkPolicy for the control plane and gateways (defense in depth).

Istio's security best practices (#defense-in-depth-with-networkpolicy) layer Kubernetes
NetworkPolicy under Istio's own policy. For istiod and the gateways that is the only layer:
istiod's plaintext ports and the gateways' status and metrics ports take no Istio policy.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.istiod_image import is_istiod
from auditor.istio import waypoint as wp
from auditor.istio.netpol_ingress import selects_for_ingress
from auditor.mesh.index import K_DAEMONSET, K_DEPLOYMENT, K_NETPOL, K_POD, K_STATEFULSET

PAGE = (
    "https://istio.io/latest/docs/ops/best-practices/security/#defense-in-depth-with-networkpolicy"
)
NETPOL = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"


@check(
    id="NP001",
    title="Control plane or gateway pods accept ingress from anywhere (no NetworkPolicy)",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_NETPOL, K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Add a NetworkPolicy with policyTypes [Ingress] selecting the pods: for istiod, allow "
        "15012 and 15017 (and 15014 from monitoring) from the cluster; for a gateway, its "
        "listener ports and 15021 from the load balancer."
    ),
    references=(PAGE, NETPOL),
)
def unisolated_ingress(ctx: CheckContext) -> Iterator[Result]:
    """Without an ingress NetworkPolicy, every pod in the cluster (and anything routed to the
    pod network) reaches every port of istiod and of the gateways, including istiod's
    plaintext debug and xDS ports and the gateways' status and metrics ports, which no Istio
    policy covers.

    Fires per istiod Deployment and per gateway workload (Istio's gateway pods, by what they
    run; waypoints left out) that no NetworkPolicy of its namespace isolates for ingress.
    Low: defense in depth; what the open ports give away is judged by CP001, CP002 and the
    exposure checks.
    """
    for w in ctx.index.workloads:
        if w.owned:
            continue
        control_plane = w.obj.kind == "Deployment" and is_istiod(w.obj.name, w.labels)
        # waypoints are reached only over HBONE from the mesh: not the edge this is about
        waypoint = w.labels.get(wp.MANAGED_LABEL) == wp.MANAGED_BY_MESH
        gateway = not waypoint and ctx.index.is_gateway(w)
        if not (control_plane or gateway):
            continue
        policies = ctx.index.network_policies.get(w.namespace, [])
        if any(selects_for_ingress(p.spec, w.labels) for p in policies):
            continue
        what = "istiod" if control_plane else "Gateway"
        yield Result(
            resource=w.obj.ref,
            path=f"{w.meta_path}.labels",
            message=(
                f"{what} {w.obj.kind} {w.namespace}/{w.obj.name}: no NetworkPolicy in "
                f"{w.namespace} isolates its pods for ingress, so every pod reaches all its ports"
            ),
            evidence={"policies_in_namespace": sorted(p.name for p in policies)},
        )

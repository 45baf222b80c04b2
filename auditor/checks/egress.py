"""Egress registration checks: which outside hosts the mesh lets workloads reach unregistered."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks.registry import CheckContext, check
from auditor.index import K_CONFIGMAP
from auditor.model import Category, ResourceRef, Result, Severity

EGRESS_DOCS = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/"
MESH_DOCS = "https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/"


@check(
    id="EGR001",
    title="Mesh allows traffic to unregistered external hosts (outboundTrafficPolicy ALLOW_ANY)",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.MEDIUM,
    needs=(K_CONFIGMAP,),
    remediation=(
        "Set `outboundTrafficPolicy: {mode: REGISTRY_ONLY}` in the mesh config (istioctl install "
        "--set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY) after registering every "
        "external host the mesh needs with a ServiceEntry."
    ),
    references=(EGRESS_DOCS, MESH_DOCS),
)
def mesh_allow_any(ctx: CheckContext) -> Iterator[Result]:
    """With ALLOW_ANY, sidecars pass traffic to any host no ServiceEntry declares.

    Istio's default is ALLOW_ANY, so a mesh that never set `outboundTrafficPolicy` lets every
    workload reach any destination on the internet, and the egress inventory (ServiceEntries) says
    nothing about what is really contacted. Fires once when the mesh config in force sets
    ALLOW_ANY or leaves the mode unset (the finding says which).
    """
    mesh = ctx.mesh
    if mesh.outbound_mode != "ALLOW_ANY":
        return
    name = "istio"
    namespace = mesh.root_namespace
    if mesh.source.startswith("ConfigMap "):
        namespace, _, name = mesh.source.removeprefix("ConfigMap ").partition("/")
    ref = ResourceRef(group="", kind="ConfigMap", namespace=namespace, name=name, api_version="v1")
    how = (
        "sets outboundTrafficPolicy.mode ALLOW_ANY"
        if mesh.outbound_mode_set
        else "does not set outboundTrafficPolicy.mode, so Istio's default ALLOW_ANY applies"
    )
    yield Result(
        resource=ref,
        path="data.mesh.outboundTrafficPolicy.mode",
        message=(
            f"The mesh config ({mesh.source}) {how}: "
            "sidecars forward traffic to hosts that no ServiceEntry registers"
        ),
        evidence={
            "mode": mesh.outbound_mode,
            "explicit": mesh.outbound_mode_set,
            "source": mesh.source,
        },
    )

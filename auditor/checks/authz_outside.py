"""Authorization for workloads no policy can reach: outside the mesh, yet served by a gateway."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.kinds import ISTIO_NET
from auditor.istio import authz as A
from auditor.mesh.authorization import WorkloadAuthz, authz_lookup
from auditor.mesh.exposure import build_exposure
from auditor.mesh.index import K_AP, K_DEPLOYMENT, K_GATEWAY, K_POD, K_SERVICE, MeshIndex, Workload

AP_DOCS = "https://istio.io/latest/docs/reference/config/security/authorization-policy/"
AUTHZ_CONCEPT = "https://istio.io/latest/docs/concepts/security/#authorization"
INJECTION_DOCS = "https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/"


def _gateway_entries(
    index: MeshIndex, group: str, namespace: str, name: str
) -> list[WorkloadAuthz]:
    """The modelled gateway workloads behind an exposure entry's Istio or Gateway API gateway
    (both kinds are called Gateway and may share a name: the API group tells them apart)."""
    lookup = authz_lookup(index)
    gw = index.snapshot.get(K_GATEWAY, namespace, name) if group == ISTIO_NET else None
    if gw is not None:
        found = (lookup.by_workload.get(w.key) for w in index.gateway_workloads(gw))
        return [e for e in found if e is not None]
    return lookup.by_gateway.get((namespace, name), [])


def _guarded(entries: list[WorkloadAuthz]) -> bool:
    """Whether every gateway workload's own policies limit who comes through it."""
    return bool(entries) and all(
        A.restricts_callers(e.posture) or e.posture.identity_guarded for e in entries
    )


@check(
    id="AUTHZ016",
    title="Workload outside the mesh is served to the internet through a gateway",
    category=Category.AUTHORIZATION,
    severity=Severity.HIGH,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_AP, K_GATEWAY, K_SERVICE, K_DEPLOYMENT, K_POD),
    remediation=(
        "Bring the workload into the mesh (namespace injection or ambient enrollment, and a "
        "restart) so AuthorizationPolicies and mutual TLS apply to it; until then authorize "
        "callers at the gateway with an AuthorizationPolicy on the gateway's pods."
    ),
    references=(AUTHZ_CONCEPT, AP_DOCS, INJECTION_DOCS),
)
def outside_mesh_behind_gateway(ctx: CheckContext) -> Iterator[Result]:
    """An AuthorizationPolicy is enforced by the proxy in front of the workload (its sidecar, or
    ztunnel and the waypoint in ambient mode). A workload outside the mesh has no such proxy, so
    no policy can ever apply to it: when a gateway routes internet traffic to it, the gateway's
    own policies are the only authorization there is.

    Fires per workload outside the mesh (gateways left out) selected by a Service that an
    external, non-redirect entry of an Istio gateway routes to (the exposure map). High when
    the gateway's own policies do not restrict callers, medium when they do. Evidence lists the
    entry points and why the workload is outside.
    """
    index = ctx.index
    routes: dict[tuple[str, str, str], tuple[Workload, set[str], bool]] = {}
    # per gateway and per Service, asked once: a shared gateway has an entry per host
    guarded_by_gateway: dict[tuple[str, str, str], bool] = {}
    outside_by_service: dict[tuple[str, str], list[Workload]] = {}
    for entry in build_exposure(index):
        if not entry.external or entry.redirect_only:
            continue
        gw = entry.gateway
        gw_key = (gw.group, gw.namespace, gw.name)
        guarded = guarded_by_gateway.get(gw_key)
        if guarded is None:
            guarded = guarded_by_gateway[gw_key] = _guarded(_gateway_entries(index, *gw_key))
        shown = f"{gw.kind} {gw.namespace}/{gw.name} {entry.host}:{entry.port}"
        for backend in entry.backends:
            host = backend.rsplit(":", 1)[0] if backend.count(":") == 1 else backend
            svc = index.services_by_host.get(host)
            if svc is None:
                continue
            outside = outside_by_service.get((svc.namespace, svc.name))
            if outside is None:
                outside = outside_by_service[(svc.namespace, svc.name)] = [
                    w
                    for w in index.app_workloads_of(svc)
                    if not index.is_gateway(w) and not index.mesh_status(w).in_mesh
                ]
            for w in outside:
                _, where, all_guarded = routes.get(w.key, (w, set(), True))
                routes[w.key] = (w, where | {shown}, all_guarded and guarded)
    for key in sorted(routes):
        w, where, guarded = routes[key]
        status = index.mesh_status(w)
        yield Result(
            resource=w.obj.ref,
            path=f"{w.meta_path}.labels",
            severity=Severity.MEDIUM if guarded else None,
            severity_reason="the gateway's own policies restrict its callers",
            message=(
                f"{w.obj.kind} {w.namespace}/{w.obj.name} is served to the internet through "
                f"{', '.join(sorted(where))} but is outside the mesh ({status.reason}): no "
                "AuthorizationPolicy can apply to it"
                + (
                    "; only the gateway's own policies check callers"
                    if guarded
                    else ", and the gateway's own policies do not restrict callers"
                )
            ),
            evidence={"entry_points": sorted(where), "outside_because": status.reason},
        )

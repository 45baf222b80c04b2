"""Ambient mode: waypoint bindings that do not take effect, opt-outs and routes that no
waypoint applies (AMB003, AMB005, AMB006). The binding rules are in auditor/istio/waypoint.py,
applied per object by `waypoint_map(index)` (auditor/mesh/waypoints.py); the policy checks are
in ambient.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.ambient import (
    ADD_WORKLOADS_DOCS,
    CORE_GROUPS,
    L7_DOCS,
    WAYPOINT_DOCS,
    workload_name,
)
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import authz as A
from auditor.istio import injection as inj
from auditor.istio import waypoint as WP
from auditor.mesh.index import (
    K_DEPLOYMENT,
    K_HTTPROUTE,
    K_KGATEWAY,
    K_NAMESPACE,
    K_POD,
    K_SE,
    K_SERVICE,
    K_VS,
    ROUTE_KINDS,
)
from auditor.mesh.outside import outside
from auditor.mesh.waypoints import waypoint_map

# ---- use-waypoint labels that do not take effect ----------------------------------------------


def _namespace_ref(name: str) -> ResourceRef:
    return ResourceRef(group="", kind="Namespace", namespace="", name=name, api_version="v1")


@check(
    id="AMB003",
    title="istio.io/use-waypoint names a waypoint that is missing or does not take the traffic",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    needs=(K_KGATEWAY, K_NAMESPACE, K_SERVICE, K_SE, K_DEPLOYMENT, K_POD),
    remediation=(
        "Name an existing Gateway of class istio-waypoint whose istio.io/waypoint-for label "
        "covers the traffic (`service` or `all` for a namespace, Service or ServiceEntry; "
        "`workload` or `all` for a pod), set istio.io/use-waypoint-namespace when it lives in "
        "another namespace and let its HBONE listener admit this namespace."
    ),
    references=(WAYPOINT_DOCS, "https://istio.io/latest/docs/ambient/usage/troubleshoot-waypoint/"),
)
def use_waypoint_not_in_effect(ctx: CheckContext) -> Iterator[Result]:
    """A waypoint label that Istio does not honour leaves traffic going straight to ztunnel,
    so the L7 policies and routes attached to the waypoint are not applied.

    Istio resolves `istio.io/use-waypoint` on the object, else on its namespace. A name with
    no such Gateway leaves the object without a waypoint (no fallback to the namespace's; the
    status says WaypointIsNotReady); a waypoint whose `istio.io/waypoint-for` does not cover
    the traffic type (service traffic for a namespace, Service or ServiceEntry label; pod IP
    traffic for a pod label) is not used; a waypoint in another namespace is used only when
    its HBONE listener admits the namespace (istiod waypoints.go). Fires per Namespace,
    Service, ServiceEntry and pod (or pod template) whose own label does not take effect for
    that reason. A namespace label whose waypoint takes only service traffic is the documented
    default and does not make its pods fire.
    """
    waypoints = waypoint_map(ctx.index)
    for ns in ctx.snapshot.objects(K_NAMESPACE):
        binding = WP.bind("service", "Namespace", ns.name, {}, ns.labels, waypoints.waypoints)
        if binding.label_on == "Namespace" and binding.problem:
            yield _use_result(_namespace_ref(ns.name), binding)
    for key in (K_SERVICE, K_SE):
        for obj in ctx.snapshot.objects(key):
            binding = waypoints.service(obj)
            if binding.label_on == obj.kind and binding.problem:
                yield _use_result(obj.ref, binding)
    for w in ctx.index.workloads:
        if w.owned:
            continue
        binding = waypoints.workload(w)
        if binding.label_on in ("Pod", "pod template") and binding.problem:
            yield _use_result(w.obj.ref, binding, meta_path=w.meta_path)


def _use_result(ref: ResourceRef, binding: WP.Binding, meta_path: str = "metadata") -> Result:
    assert binding.requested is not None
    path = f"{meta_path}.labels"
    what = "pod IP" if binding.traffic == "workload" else "service"
    return Result(
        resource=ref,
        path=f"{path}.{WP.USE_WAYPOINT}",
        message=(
            f"{ref.display()}: {binding.reason}; its {what} traffic goes to ztunnel without a "
            "waypoint, so the waypoint's HTTP policies and routes do not apply to it"
        ),
        evidence={
            "waypoint": binding.requested.key,
            "problem": binding.problem,
            "traffic": binding.traffic,
            **(
                {"waypoint_for": binding.waypoint.traffic_type}
                if binding.waypoint is not None
                else {}
            ),
        },
    )


@check(
    id="AMB005",
    title="Pod opted out of ambient mode in an ambient namespace",
    category=Category.CONFIG,
    severity=Severity.INFO,
    severity_range=(Severity.INFO, Severity.MEDIUM),
    needs=(K_NAMESPACE, K_DEPLOYMENT, K_POD),
    remediation=(
        "If the opt-out is deliberate, nothing to do; otherwise remove the "
        "istio.io/dataplane-mode=none label so ztunnel captures the pod again."
    ),
    references=(ADD_WORKLOADS_DOCS,),
)
def ambient_opt_out(ctx: CheckContext) -> Iterator[Result]:
    """A pod labelled `istio.io/dataplane-mode: none` in a namespace enrolled in ambient mode is
    not captured by ztunnel: its traffic is plaintext, without mesh identity or policy.

    Istio documents the label as the way to exclude a pod from an ambient namespace (the
    "Add workloads to the mesh" guide; istio-cni PodRedirectionEnabled), so it is a deliberate
    choice worth listing rather than a weakness: an auditor needs to know which pods of an
    ambient namespace are outside the mesh. Fires per pod template or bare Pod carrying the
    label in a namespace labelled `istio.io/dataplane-mode: ambient`, and per running Pod
    labelled by hand whose controller's template does not carry it; Istio's own gateway and
    waypoint pods, which carry it by design, are left out. Medium when the opted-out workload
    takes traffic the mesh routes to it or goes around an egress control the mesh enforces
    (auditor/mesh/outside.py), informational otherwise.
    """
    templates = {w.key: w for w in ctx.index.workloads if not w.owned}
    for w in ctx.index.workloads:
        if w.labels.get(inj.DATAPLANE_LABEL) != "none":
            continue
        if w.owned:
            # a running pod labelled by hand (`kubectl label pod`): its own finding, unless its
            # controller's template already carries the label (reported there)
            owner = templates.get(w.owner) if w.owner else None
            if w.obj.kind != "Pod" or owner is None:
                continue
            if owner.labels.get(inj.DATAPLANE_LABEL) == "none":
                continue
        ns_labels = ctx.index.namespace_labels.get(w.namespace) or {}
        if ns_labels.get(inj.DATAPLANE_LABEL) != "ambient":
            continue
        if ctx.index.mesh_status(w).role != "workload" or A.GATEWAY_NAME_LABEL in w.labels:
            continue
        context = outside(ctx.index).context(w)
        yield Result(
            resource=w.obj.ref,
            path=f"{w.meta_path}.labels.{inj.DATAPLANE_LABEL}",
            message=(
                f"{workload_name(w)} opts out of ambient mode ({inj.DATAPLANE_LABEL}=none) in "
                f"ambient namespace {w.namespace}: ztunnel does not capture it, so its traffic "
                "has no mesh identity, mutual TLS or policy"
                + (
                    f"; it takes traffic the mesh routes to it ({', '.join(context.reached_by)})"
                    if context.reached_by
                    else ""
                )
                + ("; its egress goes around the mesh's egress controls" if context.escapes else "")
            ),
            evidence={"namespace": w.namespace, **context.to_evidence()},
            severity=Severity.MEDIUM if context.matters else None,
            severity_reason="it takes mesh traffic or goes around an egress control",
        )


# ---- routes for ambient Services that no waypoint applies -------------------------------------


def _ambient_served(ctx: CheckContext, svc: KObject) -> bool:
    """A Service whose selected workloads are ambient (or, with none in the input, whose
    namespace is ambient)."""
    workloads = ctx.index.app_workloads_of(svc)
    if workloads:
        return any(ctx.index.mesh_status(w).mode == "ambient" for w in workloads)
    ns_labels = ctx.index.namespace_labels.get(svc.namespace) or {}
    return bool(svc.spec.get("selector")) and inj.namespace_mode(ns_labels) == "ambient"


def _route_targets(ctx: CheckContext) -> Iterator[tuple[KObject, str, KObject]]:
    """(route, field path, Service) for each mesh route naming a cluster Service: a Gateway API
    route's `parentRefs` of kind Service, a mesh VirtualService's hosts."""
    for key in ROUTE_KINDS:
        for route in ctx.snapshot.objects(key):
            for i, ref in enumerate(route.spec.get("parentRefs") or ()):
                if not isinstance(ref, Mapping) or ref.get("kind") != "Service":
                    continue
                if str(ref.get("group") or "") not in CORE_GROUPS:
                    continue
                ns = str(ref.get("namespace") or route.namespace)
                svc = ctx.snapshot.get(K_SERVICE, ns, str(ref.get("name") or ""))
                if svc is not None:
                    yield route, f"spec.parentRefs[{i}]", svc
    for vs in ctx.index.mesh_virtual_services:
        for i, host in enumerate(vs.spec.get("hosts") or ()):
            svc = ctx.index.service(str(host), vs.namespace)
            if svc is not None:
                yield vs, f"spec.hosts[{i}]", svc


@check(
    id="AMB006",
    title="Route for an ambient Service that has no waypoint to apply it",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_HTTPROUTE, K_VS, K_SERVICE, K_KGATEWAY, K_DEPLOYMENT, K_POD, K_NAMESPACE),
    remediation=(
        "Deploy a waypoint and enrol the Service (or its namespace) with the "
        "istio.io/use-waypoint label, or remove the route."
    ),
    references=(L7_DOCS, "https://istio.io/latest/docs/ambient/getting-started/manage-traffic/"),
)
def route_without_waypoint(ctx: CheckContext) -> Iterator[Result]:
    """HTTP routing to an ambient Service is done by its waypoint; ztunnel forwards
    connections at L4 and applies no route.

    Istio's ambient guides attach an HTTPRoute to a Service (`parentRefs` kind Service) only
    once a waypoint serves it ("Now we have a waypoint proxy installed, we will learn how to
    split traffic", getting started; the L7 features guide lists HTTPRoute, TCPRoute, TLSRoute
    and, at Alpha, VirtualService as waypoint features). Without one, the route's traffic
    splits, timeouts, retries and header rules do not apply to callers in ambient mode, while
    the configuration reads as if they did. Fires per Gateway API route parentRef of kind
    Service and per mesh VirtualService host naming a Service served by ambient workloads that
    has no waypoint in use.
    """
    for route, path, svc in _route_targets(ctx):
        binding = waypoint_map(ctx.index).service(svc)
        if WP.binding_in_use(binding) is not None or not _ambient_served(ctx, svc):
            continue
        yield Result(
            resource=route.ref,
            path=path,
            detail=f"{svc.namespace}/{svc.name}",
            message=(
                f"{route.kind} {route.namespace}/{route.name} routes Service "
                f"{svc.namespace}/{svc.name}, which ambient workloads serve with no waypoint "
                f"({binding.reason}): ztunnel applies no HTTP route, so ambient callers are "
                "not routed by it"
            ),
            evidence={"service": f"{svc.namespace}/{svc.name}", "reason": binding.reason},
        )

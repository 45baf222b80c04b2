"""Kubernetes Gateway API checks: how routes attach to Istio-class Gateways, and what those
Gateways let other namespaces publish."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.istio import gatewayapi as GA
from auditor.mesh.exposure_frontend import k8s_gateway_frontend
from auditor.mesh.exposure_gatewayapi import attachments, backend_permitted
from auditor.mesh.index import K_KGATEWAY, K_REFGRANT, K_SERVICE, ROUTE_KINDS

SPEC = "https://gateway-api.sigs.k8s.io/reference/spec/"
ISTIO_GATEWAY_API = "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/"
REFERENCE_GRANT = "https://gateway-api.sigs.k8s.io/api-types/referencegrant/"


@check(
    id="GAPI001",
    title="Route is attached to a Gateway that does not exist",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_KGATEWAY, *ROUTE_KINDS),
    remediation=(
        "Point spec.parentRefs at an existing Gateway (`namespace` defaults to the route's own), "
        "or create the Gateway."
    ),
    references=(SPEC,),
)
def route_parent_missing(ctx: CheckContext) -> Iterator[Result]:
    """A route whose parentRef names a missing Gateway serves nothing there.

    The routes the team expects at the edge are not served, and will be as soon as someone
    creates a Gateway of that name, possibly with listeners the team did not review. Fires per
    parentRef of kind Gateway that names no Gateway in the input.
    """
    for key in ROUTE_KINDS:
        for route in ctx.snapshot.objects(key):
            for i, raw in enumerate(route.spec.get("parentRefs") or ()):
                ref = GA.parent_ref(raw, route.namespace)
                if ref is None or (ref.namespace, ref.name) in ctx.index.k8s_gateways:
                    continue
                yield Result(
                    resource=route.ref,
                    path=f"spec.parentRefs[{i}]",
                    detail=f"{ref.namespace}/{ref.name}",
                    message=(
                        f"{route.kind} {route.namespace}/{route.name} is attached to Gateway "
                        f"{ref.namespace}/{ref.name}, which does not exist"
                    ),
                    evidence={"gateway": f"{ref.namespace}/{ref.name}"},
                )


@check(
    id="GAPI002",
    title="Route is not accepted by the Gateway it names",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_KGATEWAY, *ROUTE_KINDS, "Namespace"),
    remediation=(
        "Match a listener: fix parentRefs[].sectionName/port, the route's hostnames, or the "
        "listener's allowedRoutes (namespaces and kinds) so the route is admitted."
    ),
    references=(SPEC, ISTIO_GATEWAY_API),
)
def route_not_accepted(ctx: CheckContext) -> Iterator[Result]:
    """A parentRef that no listener of the Gateway admits leaves the route unserved.

    The Gateway refuses it (status Accepted=False): the paths the team believes are published,
    or protected by the route's filters, are not. Fires per parentRef naming an Istio-class
    Gateway when no listener matches its sectionName/port, admits the route's namespace and
    kind (allowedRoutes), and shares a hostname with the route.
    """
    for kgw in ctx.index.k8s_gateways.values():
        if not ctx.index.is_istio_k8s_gateway(kgw):
            continue
        for att in attachments(ctx.index, kgw):
            if att.listeners:
                continue
            route = att.route
            yield Result(
                resource=route.ref,
                path=f"spec.parentRefs[{att.parent_index}]",
                detail=f"{kgw.namespace}/{kgw.name}#{att.parent_index}",
                message=(
                    f"{route.kind} {route.namespace}/{route.name} is not accepted by Gateway "
                    f"{kgw.namespace}/{kgw.name}: {att.reason}"
                ),
                evidence={"gateway": f"{kgw.namespace}/{kgw.name}", "reason": att.reason},
            )


@check(
    id="GAPI003",
    title="Route sends to a Service in another namespace without a ReferenceGrant",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(*ROUTE_KINDS, K_REFGRANT),
    remediation=(
        "Add a ReferenceGrant in the backend's namespace whose `from` names the route's kind and "
        "namespace and whose `to` names the Service, or move the route next to the Service."
    ),
    references=(REFERENCE_GRANT,),
)
def backend_not_granted(ctx: CheckContext) -> Iterator[Result]:
    """A cross-namespace backendRef without a ReferenceGrant is refused (ResolvedRefs=False).

    Requests matching that rule get 500s instead of reaching the backend; granting the
    reference is the owning namespace's decision, which is exactly what this protects. Fires
    per backendRef to another namespace that no ReferenceGrant there permits.
    """
    for key in ROUTE_KINDS:
        for route in ctx.snapshot.objects(key):
            for r, rule in enumerate(route.spec.get("rules") or ()):
                for b, ref in enumerate(GA.backend_refs(route.namespace, rule)):
                    if backend_permitted(ctx.index, route, ref):
                        continue
                    yield Result(
                        resource=route.ref,
                        path=f"spec.rules[{r}].backendRefs[{b}]",
                        detail=f"{ref.namespace}/{ref.name}",
                        message=(
                            f"{route.kind} {route.namespace}/{route.name} sends to {ref.kind} "
                            f"{ref.namespace}/{ref.name}, but no ReferenceGrant in "
                            f"{ref.namespace} permits {route.kind}s from {route.namespace}"
                        ),
                        evidence={"backend": f"{ref.namespace}/{ref.name}", "kind": ref.kind},
                    )


@check(
    id="GAPI004",
    title="External Gateway listener admits routes from every namespace",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_KGATEWAY, K_SERVICE),
    remediation=(
        "Set allowedRoutes.namespaces.from to Same, or to Selector with a label only the "
        "namespaces allowed to publish on this edge carry."
    ),
    references=(SPEC, ISTIO_GATEWAY_API),
)
def listener_admits_all(ctx: CheckContext) -> Iterator[Result]:
    """`allowedRoutes.namespaces.from: All` on an external gateway lets any namespace publish.

    Anyone who may create an HTTPRoute anywhere in the cluster can then serve paths and hosts
    (within the listener's hostname) on the internet-facing gateway, including hijacking paths
    of another team's host. Fires per listener with `from: All` on an Istio-class Gateway that
    is reachable from outside.
    """
    for kgw in ctx.index.k8s_gateways.values():
        if not ctx.index.is_istio_k8s_gateway(kgw):
            continue
        if not k8s_gateway_frontend(ctx.index, kgw).exposed:
            continue
        for i, listener in enumerate(kgw.spec.get("listeners") or ()):
            source = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("from")
            if source != "All":
                continue
            yield Result(
                resource=kgw.ref,
                path=f"spec.listeners[{i}].allowedRoutes.namespaces.from",
                detail=str(listener.get("name")),
                message=(
                    f"Gateway {kgw.namespace}/{kgw.name} listener {listener.get('name')!r} "
                    f"(port {listener.get('port')}) is reachable from outside and admits routes "
                    "from every namespace"
                ),
                evidence={"listener": listener.get("name"), "port": listener.get("port")},
            )


@check(
    id="GAPI005",
    title="External Gateway listener serves any hostname",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_KGATEWAY, K_SERVICE),
    remediation="Set listeners[].hostname to the hostname (or narrow wildcard) it is meant for.",
    references=(SPEC,),
)
def listener_any_hostname(ctx: CheckContext) -> Iterator[Result]:
    """A listener without a hostname (or with `*`) accepts every Host/SNI on an external gateway.

    Every attached route, for whatever hostnames it claims, is published on the internet;
    requests with arbitrary Host headers reach catch-all routes. Fires per HTTP, HTTPS or TLS
    listener without a specific hostname on an Istio-class Gateway reachable from outside.
    """
    for kgw in ctx.index.k8s_gateways.values():
        if not ctx.index.is_istio_k8s_gateway(kgw):
            continue
        if not k8s_gateway_frontend(ctx.index, kgw).exposed:
            continue
        for i, listener in enumerate(kgw.spec.get("listeners") or ()):
            if str(listener.get("protocol") or "").upper() not in ("HTTP", "HTTPS", "TLS"):
                continue
            if (listener.get("hostname") or "*").strip() != "*":
                continue
            yield Result(
                resource=kgw.ref,
                path=f"spec.listeners[{i}].hostname",
                detail=str(listener.get("name")),
                message=(
                    f"Gateway {kgw.namespace}/{kgw.name} listener {listener.get('name')!r} "
                    f"(port {listener.get('port')}) is reachable from outside and serves any "
                    "hostname"
                ),
                evidence={"listener": listener.get("name"), "port": listener.get("port")},
            )

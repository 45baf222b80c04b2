"""VirtualService checks: how routes bind to gateways."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio.refs import (
    GatewayRef,
    exports_overlap,
    is_internal_gateway_reference,
    resolve_gateway_name,
)
from auditor.mesh.exposure_frontend import istio_gateway_frontend, k8s_gateway_frontend
from auditor.mesh.index import K_GATEWAY, K_KGATEWAY, K_VS

VS_DOCS = "https://istio.io/latest/docs/reference/config/networking/virtual-service/"
IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"


def _gateway_exists(ctx: CheckContext, ref: GatewayRef) -> bool:
    """An Istio Gateway, or a Gateway API Gateway (Istio accepts both in `gateways`)."""
    return ref in ctx.index.gateways or (ref.namespace, ref.name) in ctx.index.k8s_gateways


@check(
    id="VS001",
    title="VirtualService references a Gateway that does not exist",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_VS, K_GATEWAY, K_KGATEWAY),
    remediation=(
        "Point spec.gateways at an existing Gateway as `namespace/name` (a bare name means the "
        "VirtualService's own namespace), or create the Gateway."
    ),
    references=(VS_DOCS, "https://istio.io/latest/docs/reference/config/analysis/ist0101/"),
    ist_codes=("IST0101",),
)
def virtual_service_unknown_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A VirtualService bound to a Gateway that does not exist routes nothing through it.

    The routes the team expects at the edge are not served, and they will be as soon as someone
    creates a Gateway of that name: in a shared-edge setup, possibly someone else. A bare name
    means the Gateway in the VirtualService's own namespace, which is the usual mistake when the
    Gateway lives in the ingress namespace. Fires per `spec.gateways` entry and per
    `http[].match[].gateways` entry that names a missing Gateway (IST0101).
    """
    for vs in ctx.snapshot.objects(K_VS):
        spec = vs.spec
        refs: list[tuple[str, str]] = [
            (f"spec.gateways[{i}]", g) for i, g in enumerate(spec.get("gateways") or ())
        ]
        for section in ("http", "tls", "tcp"):
            for r, route in enumerate(spec.get(section) or ()):
                for m, match in enumerate(route.get("match") or ()):
                    for g, name in enumerate(match.get("gateways") or ()):
                        refs.append((f"spec.{section}[{r}].match[{m}].gateways[{g}]", name))
        for path, value in refs:
            ref = resolve_gateway_name(value, vs.namespace)
            if ref is None or is_internal_gateway_reference(value) or _gateway_exists(ctx, ref):
                continue
            written = "" if value == str(ref) else f" (written {value!r})"
            yield Result(
                resource=vs.ref,
                path=path,
                detail=f"{path}={ref}",
                message=(
                    f"VirtualService {vs.namespace}/{vs.name} is bound to Gateway {ref}{written}, "
                    "which does not exist"
                ),
                evidence={"gateway": value, "resolved": str(ref)},
            )


def _gateway_hosts(ctx: CheckContext, ref: GatewayRef, vs_namespace: str) -> list[str] | None:
    """Hosts the named gateway serves to VirtualServices of `vs_namespace` (None: all hosts)."""
    gw = ctx.index.gateways.get(ref)
    if gw is not None:
        out = []
        for server in gw.spec.get("servers") or ():
            for raw in server.get("hosts") or ():
                ghost = H.parse_gateway_host(raw, gw.namespace)
                if ghost.allows_namespace(vs_namespace):
                    out.append(ghost.host)
        return out
    kgw = ctx.index.k8s_gateways.get((ref.namespace, ref.name))
    if kgw is not None:
        out = []
        for listener in kgw.spec.get("listeners") or ():
            if not listener.get("hostname"):
                return None
            out.append(H.normalize(listener["hostname"]))
        return out
    return []


@check(
    id="VS002",
    title="VirtualService host is not served by its Gateway",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_VS, K_GATEWAY, K_KGATEWAY),
    remediation=(
        "Add the host to a server of the Gateway (`hosts`, or `ns/host` naming the "
        "VirtualService's namespace), or bind the VirtualService to the Gateway that serves it."
    ),
    references=(VS_DOCS, IST_DOCS.format(code="ist0132")),
    ist_codes=("IST0132",),
)
def virtual_service_host_not_in_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A VirtualService bound to a Gateway none of whose server hosts match any of its hosts.

    Such routes are never used at that gateway: the traffic the team believes it routes (and
    protects with the route's rules) goes elsewhere or nowhere. A server host `ns/host` only
    serves VirtualServices of namespace `ns` (`./host`: the Gateway's own). Fires per
    `spec.gateways` entry, including one naming a missing Gateway, as istioctl analyze does
    (IST0132); for a Gateway API Gateway, listener hostnames are compared (a listener without
    one serves every host).
    """
    for vs in ctx.snapshot.objects(K_VS):
        vs_hosts = [H.normalize(h) for h in vs.spec.get("hosts") or ()]
        for i, value in enumerate(vs.spec.get("gateways") or ()):
            ref = resolve_gateway_name(value, vs.namespace)
            if ref is None or is_internal_gateway_reference(value):
                continue
            served = _gateway_hosts(ctx, ref, vs.namespace)
            if served is None or any(H.intersects(g, h) for g in served for h in vs_hosts):
                continue
            hosts = ", ".join(vs_hosts) or "(none)"
            exists = ref in ctx.index.gateways or (ref.namespace, ref.name) in (
                ctx.index.k8s_gateways
            )
            yield Result(
                resource=vs.ref,
                path=f"spec.gateways[{i}]",
                detail=str(ref),
                message=(
                    f"VirtualService {vs.namespace}/{vs.name} is bound to Gateway {ref}, but no "
                    f"server of that Gateway serves its host(s) {hosts} to namespace "
                    f"{vs.namespace}"
                    if exists
                    else f"VirtualService {vs.namespace}/{vs.name} is bound to Gateway {ref}, "
                    f"which does not exist, so nothing serves its host(s) {hosts} there"
                ),
                evidence={"gateway": str(ref), "hosts": vs_hosts, "gateway_hosts": served},
            )


@check(
    id="VS003",
    title="VirtualService references a Gateway Istio generated internally",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_VS,),
    remediation=(
        "Reference the Gateway API Gateway itself (`namespace/name`) in spec.gateways, or attach "
        "an HTTPRoute to it instead; never the `~istio-autogenerated-k8s-gateway~` name."
    ),
    references=(VS_DOCS, IST_DOCS.format(code="ist0165")),
    ist_codes=("IST0165",),
)
def virtual_service_internal_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A VirtualService naming the Istio Gateway that istiod generates from a Gateway API one.

    Those internal names are an implementation detail: they change between Istio versions and
    with the Gateway's listeners, so the binding breaks silently on upgrade. Fires per
    `spec.gateways` entry containing `~istio-autogenerated-k8s-gateway~` (IST0165).
    """
    for vs in ctx.snapshot.objects(K_VS):
        for i, value in enumerate(vs.spec.get("gateways") or ()):
            if not is_internal_gateway_reference(value):
                continue
            yield Result(
                resource=vs.ref,
                path=f"spec.gateways[{i}]",
                detail=value,
                message=(
                    f"VirtualService {vs.namespace}/{vs.name} is bound to {value!r}, a Gateway "
                    "Istio generates internally for a Gateway API Gateway"
                ),
                evidence={"gateway": value},
            )


@check(
    id="VS004",
    title="Catch-all VirtualService (hosts: *) on an externally reachable gateway",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_VS, K_GATEWAY, K_KGATEWAY),
    remediation=(
        "Name the hostnames the VirtualService serves in spec.hosts instead of `*`, so only "
        "intended hosts reach its routes."
    ),
    references=(VS_DOCS,),
)
def catch_all_on_external_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A VirtualService with host `*` bound to a gateway reachable from outside.

    Every request reaching that gateway's servers, with any Host header not claimed by a more
    specific VirtualService, lands on its routes: the backends behind it are published for
    every name that resolves to the gateway's address. Fires per external gateway the
    VirtualService is bound to.
    """
    for vs in ctx.snapshot.objects(K_VS):
        if "*" not in [H.normalize(h) for h in vs.spec.get("hosts") or ()]:
            continue
        for i, value in enumerate(vs.spec.get("gateways") or ()):
            ref = resolve_gateway_name(value, vs.namespace)
            if ref is None:
                continue
            gw = ctx.index.gateways.get(ref)
            kgw = ctx.index.k8s_gateways.get((ref.namespace, ref.name))
            external = (gw is not None and istio_gateway_frontend(ctx.index, gw).exposed) or (
                kgw is not None
                and ctx.index.is_istio_k8s_gateway(kgw)
                and k8s_gateway_frontend(ctx.index, kgw).exposed
            )
            if not external:
                continue
            yield Result(
                resource=vs.ref,
                path="spec.hosts",
                detail=str(ref),
                message=(
                    f"VirtualService {vs.namespace}/{vs.name} routes every host ('*') on the "
                    f"externally reachable Gateway {ref} (spec.gateways[{i}])"
                ),
                evidence={"gateway": str(ref)},
            )


@check(
    id="VS005",
    title="Several mesh VirtualServices claim the same host",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    needs=(K_VS,),
    remediation=(
        "Merge the routes for the host into one VirtualService, or narrow `exportTo` so the "
        "VirtualServices are never visible in the same namespace."
    ),
    references=(VS_DOCS, "https://istio.io/latest/docs/reference/config/analysis/ist0109/"),
    ist_codes=("IST0109",),
)
def conflicting_mesh_hosts(ctx: CheckContext) -> Iterator[Result]:
    """Two VirtualServices bound to the `mesh` gateway for one host leave sidecar routing undefined.

    Sidecars use one VirtualService per host; when several apply to the same host in a namespace,
    Istio merges or picks them in an order nobody reviewed, so retries, timeouts, fault injection
    or the egress-gateway leg of one of them may silently not apply. Fires on every VirtualService
    (omitted `gateways` means `mesh`) whose host overlaps, wildcards included, a host of another
    mesh VirtualService when their exportTo sets meet in some namespace (IST0109).
    """
    claims = H.HostSet()
    entries: list[tuple[KObject, str]] = []
    for vs in ctx.index.mesh_virtual_services:
        for host in vs.spec.get("hosts") or ():
            name = H.fqdn(host, vs.namespace, ctx.index.domain)
            claims.add(name, vs)
            entries.append((vs, name))
    reported: set[tuple[str, str]] = set()
    for vs, name in entries:
        key = (vs.namespace, vs.name)
        if key in reported:
            continue
        others = sorted(
            {
                f"{o.namespace}/{o.name}"
                for o in claims.overlapping(name)
                if isinstance(o, KObject)
                and (o.namespace, o.name) != key
                and exports_overlap(
                    vs.spec.get("exportTo"), vs.namespace, o.spec.get("exportTo"), o.namespace
                )
            }
        )
        if not others:
            continue
        reported.add(key)
        yield Result(
            resource=vs.ref,
            path="spec.hosts",
            detail=name,
            message=(
                f"VirtualService {key[0]}/{key[1]} routes host {name} for sidecars, and so does "
                f"{', '.join(others)}: which routes apply is undefined"
            ),
            evidence={"host": name, "also_claimed_by": others},
        )

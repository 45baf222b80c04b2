"""Mutual TLS posture: PeerAuthentication modes and DestinationRules that turn mTLS off."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio.mtls import WEAK_MODES, client_tls_modes, pa_mode, port_level, weakening
from auditor.mesh.egress_routing import route_destinations
from auditor.mesh.index import (
    K_DEPLOYMENT,
    K_DR,
    K_PA,
    K_POD,
    K_SERVICE,
    K_VS,
    ROUTE_KINDS,
    Workload,
)

PA_DOCS = "https://istio.io/latest/docs/reference/config/security/peer_authentication/"
MTLS_TASK = "https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/"
BEST_PRACTICES = "https://istio.io/latest/docs/ops/best-practices/security/#mutual-tls"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"


@check(
    id="MTLS001",
    title="No mesh-wide STRICT mutual TLS",
    category=Category.MTLS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_PA,),
    remediation=(
        "Apply a PeerAuthentication named `default` in the root namespace (istio-system) with "
        "`mtls: {mode: STRICT}` and no selector, after migrating clients to mTLS."
    ),
    references=(PA_DOCS, MTLS_TASK, BEST_PRACTICES),
)
def no_mesh_wide_strict(ctx: CheckContext) -> Iterator[Result]:
    """Istio's default is PERMISSIVE: every sidecar also accepts plaintext, so any pod outside
    the mesh (or a compromised one bypassing its proxy) can call mesh services unauthenticated,
    and identity-based AuthorizationPolicies can be sidestepped.

    Fires once when no selector-less PeerAuthentication in the root namespace sets STRICT (high
    when it sets DISABLE).
    """
    pa_index = ctx.index.peer_authentication
    effective = pa_index.mesh_mode()
    if effective.mode == "STRICT":
        return
    root = ctx.mesh.root_namespace
    if effective.source is not None:
        ref = effective.source.ref
        how = f"PeerAuthentication {root}/{effective.source.name} sets {effective.mode}"
        path = "spec.mtls.mode"
    else:
        ref = ResourceRef(group="", kind="Namespace", namespace="", name=root, api_version="v1")
        how = (
            f"no mesh-wide PeerAuthentication in root namespace {root}: "
            "Istio's default PERMISSIVE applies"
        )
        path = ""
    yield Result(
        resource=ref,
        path=path,
        message=f"Mutual TLS is not enforced mesh-wide: {how}",
        evidence={"mode": effective.mode, "root_namespace": root},
        severity=Severity.HIGH if effective.mode == "DISABLE" else None,
        severity_reason="mutual TLS is disabled mesh-wide",
    )


WEBHOOK_DOCS = (
    "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/"
)


def _scope(pa: KObject) -> str:
    selector = (pa.spec.get("selector") or {}).get("matchLabels") or {}
    if selector:
        return "workloads labelled " + ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return "every workload"


def _reason(change: str, mode: str) -> str:
    """Why _severity is not the check's default (medium)."""
    if change == "opens" and mode == "DISABLE":
        return "it turns mutual TLS off where it was enforced"
    return "it changes nothing" if change not in ("opens", "downgrades") else ""


def _severity(change: str, mode: str) -> Severity:
    if change == "opens":
        return Severity.HIGH if mode == "DISABLE" else Severity.MEDIUM
    if change == "downgrades":
        return Severity.MEDIUM
    return Severity.INFO


def _selected(ctx: CheckContext, pa: KObject) -> list[Workload]:
    selector = (pa.spec.get("selector") or {}).get("matchLabels") or {}
    return [
        w
        for w in ctx.index.select_workloads(selector or None, pa.namespace)
        if not w.owned and ctx.index.mesh_status(w).in_mesh
    ]


@check(
    id="MTLS002",
    title="PeerAuthentication accepts plaintext for a namespace, workload or port",
    category=Category.MTLS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.INFO, Severity.HIGH),
    needs=(K_PA,),
    remediation=(
        "Set `mtls.mode: STRICT` (or remove the override to inherit a STRICT mesh default); "
        "remove `portLevelMtls` entries that set PERMISSIVE or DISABLE, or keep them only for "
        "ports whose callers cannot present a mesh identity (an admission webhook's port)."
    ),
    references=(PA_DOCS, MTLS_TASK, WEBHOOK_DOCS),
)
def weak_peer_authentication(ctx: CheckContext) -> Iterator[Result]:
    """A namespace or workload PeerAuthentication overrides the mode it inherits: PERMISSIVE
    accepts plaintext next to mTLS, DISABLE accepts only plaintext (and makes mesh clients send
    plaintext, as auto mTLS follows it).

    Judged by what the override changes, against the mode it inherits (workload > namespace >
    mesh, PERMISSIVE by default): under STRICT, PERMISSIVE is medium and DISABLE high (they open
    plaintext); DISABLE under PERMISSIVE is medium (mesh clients drop to plaintext too); an
    override that weakens nothing (PERMISSIVE where PERMISSIVE already applies) is info. A
    `portLevelMtls` exception under a STRICT workload is reported with the port it opens: low
    when the port is an admission webhook's that the Kubernetes API server calls (it has no mesh
    identity; the exception is the documented way to keep the webhook working), otherwise by
    mode as above. The mesh-wide policy is MTLS001's.
    """
    root = ctx.mesh.root_namespace
    pa_index = ctx.index.peer_authentication
    for pa in ctx.snapshot.objects(K_PA):
        selector = (pa.spec.get("selector") or {}).get("matchLabels") or {}
        if pa.namespace == root and not selector:
            continue
        scope = _scope(pa)
        mode = pa_mode(pa.spec)
        parent = pa_index.parent_mode(pa)
        if mode in WEAK_MODES:
            change = weakening(parent.mode, mode)
            effect = {
                "opens": f"plaintext connections are accepted where {parent.mode} applied",
                "downgrades": "mesh clients send plaintext too",
                "none": f"it changes nothing: {parent.mode} already applies",
            }[change]
            yield Result(
                resource=pa.ref,
                path="spec.mtls.mode",
                detail="mode",
                message=(
                    f"PeerAuthentication {pa.namespace}/{pa.name} sets {mode} for {scope} in "
                    f"namespace {pa.namespace}: {effect}"
                ),
                evidence={"mode": mode, "inherits": parent.mode, "selector": dict(selector)},
                severity=_severity(change, mode),
                severity_reason=_reason(change, mode),
            )
        own = parent.mode if mode == "UNSET" else mode
        workloads = _selected(ctx, pa) if selector else []
        for port, pmode in sorted(port_level(pa.spec).items()):
            if pmode not in WEAK_MODES:
                continue
            if not selector:
                continue  # Istio honours portLevelMtls only with a selector
            change = weakening(own, pmode)
            callers = sorted(
                {h for w in workloads for h in ctx.index.webhook_callers(w).get(port, ())}
            )
            severity = _severity(change, pmode)
            reason = _reason(change, pmode)
            if change == "opens" and callers:
                severity = Severity.LOW
                reason = "the Kubernetes API server calls the port as an admission webhook"
                effect = (
                    f"opens port {port} to plaintext for the Kubernetes API server, which "
                    f"calls it as an admission webhook ({'; '.join(callers)}) without a mesh "
                    "identity: the documented exception"
                )
            elif change == "opens":
                effect = f"opens port {port} to plaintext from any client where {own} applied"
            elif change == "downgrades":
                effect = f"mesh clients send plaintext to port {port} too"
            else:
                effect = f"it changes nothing: {own} already applies to port {port}"
            yield Result(
                resource=pa.ref,
                path=f"spec.portLevelMtls.{port}.mode",
                detail=f"port:{port}",
                message=(
                    f"PeerAuthentication {pa.namespace}/{pa.name} sets {pmode} on port {port} "
                    f"for {scope}: {effect}"
                ),
                evidence={
                    "port": str(port),
                    "mode": pmode,
                    "inherits": own,
                    "webhooks": callers,
                },
                severity=severity,
                severity_reason=reason,
            )


@check(
    id="MTLS003",
    title="DestinationRule turns mutual TLS off toward mesh services",
    category=Category.MTLS,
    severity=Severity.MEDIUM,
    needs=(K_DR, K_SERVICE),
    remediation=(
        "Remove the `tls` setting (auto mTLS then uses ISTIO_MUTUAL) or set "
        "`tls.mode: ISTIO_MUTUAL` for in-mesh hosts."
    ),
    references=(DR_DOCS, BEST_PRACTICES, MTLS_TASK),
)
def destination_rule_disables_mtls(ctx: CheckContext) -> Iterator[Result]:
    """A client-side `tls.mode` overrides auto mTLS: DISABLE sends plaintext, SIMPLE sends TLS
    without the workload certificate, so the server sees no peer identity.

    Against a PERMISSIVE server the traffic is accepted unauthenticated; against STRICT it
    fails. Fires per DISABLE or SIMPLE setting (destination, port or subset level) in a
    DestinationRule whose host is a mesh destination: a Service whose selected workloads are
    in the mesh (or, with none in the input, whose namespace is), or a wildcard covering
    cluster Services. DISABLE toward a destination without a sidecar (ExternalName, a Service
    without selector, workloads or a namespace outside the mesh) is what Istio's documentation
    prescribes there and is not reported.
    """
    for dr in ctx.snapshot.objects(K_DR):
        host = str(dr.spec.get("host") or "")
        if not host:
            continue
        target = ctx.index.destination(host, dr.namespace)
        if not target.in_mesh:
            continue
        for path, mode, port in client_tls_modes(dr.spec):
            if mode not in ("DISABLE", "SIMPLE"):
                continue
            where = f" port {port}" if port is not None else ""
            effect = "plaintext" if mode == "DISABLE" else "TLS without a client certificate"
            yield Result(
                resource=dr.ref,
                path=path,
                detail=path,
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} sets tls.mode {mode} for mesh host "
                    f"{host}{where} ({target.reason}): clients send {effect} instead of mutual "
                    "TLS"
                ),
                evidence={"host": host, "mode": mode, "port": port, "destination": target.kind},
            )


@check(
    id="MTLS004",
    title="Mesh traffic is sent to a workload outside the mesh",
    category=Category.MTLS,
    severity=Severity.MEDIUM,
    needs=(K_SERVICE, K_VS, K_DEPLOYMENT, K_POD),
    remediation=(
        "Bring the workload into the mesh (label its namespace for injection or ambient, or "
        "remove its opt-out) and restart it; if it must stay outside, originate TLS to it "
        "(DestinationRule tls.mode SIMPLE) or accept the plaintext hop in writing."
    ),
    references=(MTLS_TASK, BEST_PRACTICES),
)
def mesh_calls_outside(ctx: CheckContext) -> Iterator[Result]:
    """A route sends mesh traffic to a Service whose workloads have no proxy: that hop is
    plaintext and carries no identity, so the server cannot tell mesh callers from anyone else
    and no AuthorizationPolicy applies there.

    Fires per Service whose selected workloads are all outside the mesh (by what runs:
    MeshIndex.mesh_status) and which is the destination of a VirtualService (bound to the mesh
    or a gateway) or a Gateway API route. The finding names both sides: the workloads outside
    and the routes sending to them.
    """
    callers: dict[tuple[str, str], list[str]] = {}
    for vs in ctx.snapshot.objects(K_VS):
        for _path, dest, _mirror in route_destinations(vs.spec):
            host = str(dest.get("host") or "")
            svc = ctx.index.service(host, vs.namespace) if host else None
            if svc is not None:
                who = f"VirtualService {vs.namespace}/{vs.name}"
                callers.setdefault((svc.namespace, svc.name), [])
                if who not in callers[(svc.namespace, svc.name)]:
                    callers[(svc.namespace, svc.name)].append(who)
    for key in ROUTE_KINDS:
        for route in ctx.snapshot.objects(key):
            for rule in route.spec.get("rules") or ():
                for ref in (rule.get("backendRefs") or ()) if isinstance(rule, dict) else ():
                    if not isinstance(ref, dict) or (ref.get("kind") or "Service") != "Service":
                        continue
                    ns = str(ref.get("namespace") or route.namespace)
                    svc = ctx.snapshot.get(K_SERVICE, ns, str(ref.get("name") or ""))
                    if svc is not None:
                        who = f"{route.kind} {route.namespace}/{route.name}"
                        lst = callers.setdefault((svc.namespace, svc.name), [])
                        if who not in lst:
                            lst.append(who)
    for (ns, name), sources in sorted(callers.items()):
        svc = ctx.snapshot.get(K_SERVICE, ns, name)
        if svc is None:
            continue
        target = ctx.index.destination(f"{name}.{ns}.svc.{H.CLUSTER_DOMAIN}", ns)
        if target.kind != "outside" or not target.workloads:
            continue
        outside = [
            f"{w.obj.kind} {w.namespace}/{w.obj.name} ({ctx.index.mesh_status(w).reason})"
            for w in target.workloads
        ]
        yield Result(
            resource=svc.ref,
            path="spec.selector",
            message=(
                f"Service {ns}/{name} is served by {', '.join(outside)}, outside the mesh, yet "
                f"{', '.join(sources)} route mesh traffic to it: that hop is plaintext without "
                "identity"
            ),
            evidence={"workloads_outside": outside, "callers": sources},
        )

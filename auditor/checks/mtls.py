"""Mutual TLS posture: PeerAuthentication modes and DestinationRules that turn mTLS off."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks.registry import CheckContext, check
from auditor.index import K_DR, K_PA, K_SERVICE
from auditor.istio import hosts as H
from auditor.istio.mtls import WEAK_MODES, client_tls_modes, pa_mode
from auditor.model import Category, ResourceRef, Result, Severity
from auditor.snapshot import KObject

PA_DOCS = "https://istio.io/latest/docs/reference/config/security/peer_authentication/"
MTLS_TASK = "https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/"
BEST_PRACTICES = "https://istio.io/latest/docs/ops/best-practices/security/#mutual-tls"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"
MESH_WILDCARDS = frozenset({"*", "*.local", "*.cluster.local", f"*.svc.{H.CLUSTER_DOMAIN}"})


@check(
    id="MTLS001",
    title="No mesh-wide STRICT mutual TLS",
    category=Category.MTLS,
    severity=Severity.MEDIUM,
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
    )


@check(
    id="MTLS002",
    title="PeerAuthentication accepts plaintext for a namespace, workload or port",
    category=Category.MTLS,
    severity=Severity.MEDIUM,
    needs=(K_PA,),
    remediation=(
        "Set `mtls.mode: STRICT` (or remove the override to inherit a STRICT mesh default); "
        "remove `portLevelMtls` entries that set PERMISSIVE or DISABLE."
    ),
    references=(PA_DOCS, MTLS_TASK),
)
def weak_peer_authentication(ctx: CheckContext) -> Iterator[Result]:
    """A namespace or workload PeerAuthentication overrides the mesh-wide mode: PERMISSIVE
    accepts plaintext next to mTLS, DISABLE accepts only plaintext.

    Fires per namespace- or workload-level PeerAuthentication whose mode is PERMISSIVE or
    DISABLE, and per `portLevelMtls` port set to either (high for DISABLE). The mesh-wide policy
    is MTLS001's.
    """
    root = ctx.mesh.root_namespace
    for pa in ctx.snapshot.objects(K_PA):
        selector = (pa.spec.get("selector") or {}).get("matchLabels") or {}
        if pa.namespace == root and not selector:
            continue
        scope = (
            "workloads labelled " + ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
            if selector
            else "every workload"
        )
        mode = pa_mode(pa.spec)
        if mode in WEAK_MODES:
            yield Result(
                resource=pa.ref,
                path="spec.mtls.mode",
                detail="mode",
                message=(
                    f"PeerAuthentication {pa.namespace}/{pa.name} sets {mode} for {scope} in "
                    f"namespace {pa.namespace}: plaintext connections are accepted"
                ),
                evidence={"mode": mode, "selector": dict(selector)},
                severity=Severity.HIGH if mode == "DISABLE" else None,
            )
        for port, setting in sorted((pa.spec.get("portLevelMtls") or {}).items()):
            pmode = str((setting or {}).get("mode") or "UNSET").upper()
            if pmode not in WEAK_MODES:
                continue
            yield Result(
                resource=pa.ref,
                path=f"spec.portLevelMtls.{port}.mode",
                detail=f"port:{port}",
                message=(
                    f"PeerAuthentication {pa.namespace}/{pa.name} sets {pmode} on port {port} "
                    f"for {scope}: plaintext connections to that port are accepted"
                ),
                evidence={"port": str(port), "mode": pmode},
                severity=Severity.HIGH if pmode == "DISABLE" else None,
            )


def _in_mesh_host(ctx: CheckContext, host: str, namespace: str) -> bool:
    name = H.fqdn(host, namespace)
    if name in MESH_WILDCARDS:
        return True
    svc = ctx.index.services_by_host.get(name)
    if svc is not None and _leads_out(ctx, svc):
        # an ExternalName Service, or a selector-less one whose endpoints are outside the
        # cluster: Istio's egress-kubernetes-services task requires a non-mTLS mode for it
        return False
    return name.endswith(f".svc.{H.CLUSTER_DOMAIN}") or svc is not None


def _leads_out(ctx: CheckContext, svc: KObject) -> bool:
    if str(svc.spec.get("type") or "") == "ExternalName":
        return True
    entry = ctx.index.egress_model.by_host.get(f"{svc.name}.{svc.namespace}.svc.{H.CLUSTER_DOMAIN}")
    return entry is not None and entry.registration == "service-endpoints"


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
    references=(DR_DOCS, BEST_PRACTICES),
)
def destination_rule_disables_mtls(ctx: CheckContext) -> Iterator[Result]:
    """A client-side `tls.mode` overrides auto mTLS: DISABLE sends plaintext, SIMPLE sends TLS
    without the workload certificate, so the server sees no peer identity.

    Against a PERMISSIVE server the traffic is accepted unauthenticated; against STRICT it
    fails. Fires per DISABLE or SIMPLE setting (destination, port or subset level) in a
    DestinationRule for an in-cluster service host (`*.svc.cluster.local`, a short name,
    `*.local` and wider wildcards), but not for an ExternalName Service or a selector-less
    Service whose EndpointSlices lead out of the cluster (Istio's egress-kubernetes-services
    task requires a mode other than mutual TLS there).
    """
    for dr in ctx.snapshot.objects(K_DR):
        host = str(dr.spec.get("host") or "")
        if not host or not _in_mesh_host(ctx, host, dr.namespace):
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
                    f"{host}{where}: clients send {effect} instead of mutual TLS"
                ),
                evidence={"host": host, "mode": mode, "port": port},
            )

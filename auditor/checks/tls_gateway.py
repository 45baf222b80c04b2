"""TLS checks on the edge: plaintext listeners and the certificates gateways serve
(TLS001-TLS004)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.base.model import Category, LoadBalancerTls, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.checks.tls_common import (
    GATEWAY_API_DOCS,
    GATEWAY_DOCS,
    IST_DOCS,
    ISTIO_GATEWAY_NEEDS,
    K8S_GATEWAY_NEEDS,
    SECURE_INGRESS,
    credential_names,
    external_severity,
    secret_problem,
    split_secret_name,
    terminates,
)
from auditor.istio import gatewayapi as GA
from auditor.istio import reachability as R
from auditor.mesh.exposure import (
    istio_gateway_exposure,
    istio_servers,
    server_key,
    server_tls_mode,
)
from auditor.mesh.exposure_frontend import (
    EXPOSED,
    LB_TERMINATED,
    PLAINTEXT_HTTP,
    k8s_gateway_frontend,
    k8s_service_ports,
    listener_lb_tls,
)
from auditor.mesh.exposure_gatewayapi import attachments, route_backends
from auditor.mesh.index import (
    K_GATEWAY,
    K_KGATEWAY,
    K_REFGRANT,
    K_SECRET,
    MeshIndex,
)

# ---- plaintext ----------------------------------------------------------------------------


@check(
    id="TLS001",
    title="Plaintext HTTP serves backends on an externally reachable gateway",
    category=Category.TLS,
    severity=Severity.HIGH,
    severity_range=(Severity.LOW, Severity.HIGH),
    needs=(*ISTIO_GATEWAY_NEEDS, *K8S_GATEWAY_NEEDS, "gateway.networking.k8s.io/HTTPRoute"),
    remediation=(
        "Serve the hosts over HTTPS and make the plaintext port redirect: `tls: {httpsRedirect: "
        "true}` on the Istio Gateway HTTP server, or for the Gateway API attach to the HTTP "
        "listener only a route whose rules use a RequestRedirect filter with scheme https."
    ),
    references=(SECURE_INGRESS, GATEWAY_DOCS, GATEWAY_API_DOCS),
)
def plaintext_external(ctx: CheckContext) -> Iterator[Result]:
    """Requests and responses to these backends cross the internet unencrypted.

    Credentials, session cookies and personal data in them can be read and changed by anyone on
    the path, and a user typing the hostname lands on the plaintext site instead of being sent
    to HTTPS. Fires per Istio Gateway HTTP server (no `tls.httpsRedirect`) and per route
    attached to a Gateway API HTTP listener (with a rule that is not an https RequestRedirect)
    when the gateway is reachable from outside and some bound route sends to a backend: high
    when the internet (or every node's address) reaches the port, low when only an internal or
    source-restricted load balancer does (the plaintext stays on the private network or the
    allowed ranges), and low when the cloud load balancer in front terminates TLS on every
    external port that carries it (AWS `aws-load-balancer-ssl-cert` with `ssl-ports`, Oracle
    `oci-load-balancer-ssl-ports`, Alibaba `https:`/`tcpssl:` protocol-port, DigitalOcean
    `tls-ports` on a REGIONAL load balancer: auditor/istio/lb_tls.py): the internet hop is TLS
    and the plaintext hop runs from the load balancer to the gateway inside the provider's
    network, as on an internal load balancer; the finding says so and names the annotation.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        entries = [e for e in istio_gateway_exposure(ctx.index, gw) if e.reachability != R.CLUSTER]
        for i, server in enumerate(gw.spec.get("servers") or ()):
            protocol = str((server.get("port") or {}).get("protocol") or "").upper()
            if protocol not in PLAINTEXT_HTTP or server_tls_mode(server)[1]:
                continue
            served = [e for e in entries if e.listener.startswith(f"servers[{i}]") and e.backends]
            if not served:
                continue
            number = (server.get("port") or {}).get("number")
            hosts = sorted({e.host for e in served})
            backends = sorted({b for e in served for b in e.backends})
            reach = R.widest([R.Reach(e.reachability, e.reach_reason) for e in served])
            lb = served[0].lb_tls if all(e.tls_mode == LB_TERMINATED for e in served) else None
            exposed = reach.cls in EXPOSED and lb is None
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}]",
                detail=server_key(server),
                severity=external_severity(exposed, Severity.HIGH, Severity.LOW),
                severity_reason=(
                    f"TLS terminated at the load balancer ({lb.provider}); plaintext only from it "
                    "to the gateway, inside the network"
                    if lb
                    else f"reachable from {R.describe(reach.cls)}"
                ),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} serves {', '.join(hosts)} over plaintext "
                    f"HTTP on port {number} of a gateway reachable from {R.describe(reach.cls)}, "
                    f"routing to {', '.join(backends)}, with no redirect to HTTPS" + _lb_words(lb)
                ),
                evidence={
                    "port": number,
                    "hosts": hosts,
                    "backends": backends,
                    "reachability": reach.cls,
                    **({"lb_tls": lb.to_json()} if lb else {}),
                },
            )
    for kgw in ctx.snapshot.objects(K_KGATEWAY):
        if not ctx.index.is_istio_k8s_gateway(kgw):
            continue
        kfront = k8s_gateway_frontend(ctx.index, kgw)
        kreach = kfront.reach
        if kreach.cls == R.CLUSTER:
            continue
        listeners = kgw.spec.get("listeners") or []
        for att in attachments(ctx.index, kgw):
            for li in att.listeners:
                if str(listeners[li].get("protocol") or "").upper() != "HTTP":
                    continue
                backends, redirect_only = route_backends(ctx.index, att.route)
                if redirect_only or not backends:
                    continue
                name = listeners[li].get("name")
                number = listeners[li].get("port")
                lb = (
                    listener_lb_tls(kfront, k8s_service_ports(kfront.services, number))
                    if isinstance(number, int) and kfront.services
                    else None
                )
                yield Result(
                    resource=att.route.ref,
                    path=f"spec.parentRefs[{att.parent_index}]",
                    detail=f"{kgw.namespace}/{kgw.name}/{name}",
                    severity=external_severity(
                        kreach.cls in EXPOSED and lb is None, Severity.HIGH, Severity.LOW
                    ),
                    severity_reason=(
                        f"TLS terminated at the load balancer ({lb.provider}); plaintext only "
                        "from it to the gateway, inside the network"
                        if lb
                        else f"reachable from {R.describe(kreach.cls)}"
                    ),
                    message=(
                        f"{att.route.kind} {att.route.namespace}/{att.route.name} sends plaintext "
                        f"HTTP from listener {name!r} (port {number}) of "
                        f"Gateway {kgw.namespace}/{kgw.name}, reachable from "
                        f"{R.describe(kreach.cls)}, to "
                        f"{', '.join(sorted(set(backends)))}" + _lb_words(lb)
                    ),
                    evidence={
                        "gateway": f"{kgw.namespace}/{kgw.name}",
                        "listener": name,
                        "backends": sorted(set(backends)),
                        **({"lb_tls": lb.to_json()} if lb else {}),
                    },
                )


def _lb_words(lb: LoadBalancerTls | None) -> str:
    if lb is None:
        return ""
    return (
        f"; TLS is terminated at the load balancer ({lb.provider}, {lb.annotation}), so the "
        "internet hop is encrypted and the plaintext hop runs from the load balancer to the "
        "gateway inside the network"
    )


# ---- certificates -------------------------------------------------------------------------


@check(
    id="TLS002",
    title="HTTPS/TLS server or listener has no certificate configured",
    category=Category.TLS,
    severity=Severity.HIGH,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(*ISTIO_GATEWAY_NEEDS, *K8S_GATEWAY_NEEDS),
    remediation=(
        "Set tls.credentialName to a kubernetes.io/tls Secret in the gateway workload's "
        "namespace (Istio Gateway), or tls.certificateRefs on the Gateway API listener."
    ),
    references=(SECURE_INGRESS, GATEWAY_DOCS, GATEWAY_API_DOCS),
)
def missing_certificate(ctx: CheckContext) -> Iterator[Result]:
    """A server that terminates TLS without naming a certificate cannot complete a handshake.

    Clients of the host get a TLS error (or, depending on the proxy's fallback, a certificate
    for another name), so the service is unavailable over HTTPS and teams are tempted to fall
    back to plaintext. Fires per Istio Gateway HTTPS/TLS server in SIMPLE, MUTUAL or
    OPTIONAL_MUTUAL mode with none of credentialName, credentialNames or serverCertificate, and
    per Gateway API HTTPS/TLS listener in Terminate mode without certificateRefs (unless its
    `gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL` option terminates Istio mTLS with the
    workload certificate). High on an externally reachable gateway.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        for i, server, external in istio_servers(ctx.index, gw):
            tls = server.get("tls") or {}
            if not terminates(server) or credential_names(tls) or tls.get("serverCertificate"):
                continue
            number = (server.get("port") or {}).get("number")
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}].tls",
                detail=server_key(server),
                severity=external_severity(external, Severity.HIGH, Severity.MEDIUM),
                severity_reason="no external Service carries the port",
                message=(
                    f"Gateway {gw.namespace}/{gw.name} terminates TLS on port {number} for "
                    f"{', '.join(server.get('hosts') or [])} but names no certificate "
                    "(credentialName, credentialNames or serverCertificate)"
                ),
                evidence={"port": number, "external": external},
            )
    for kgw in ctx.snapshot.objects(K_KGATEWAY):
        if not ctx.index.is_istio_k8s_gateway(kgw):
            continue
        external = k8s_gateway_frontend(ctx.index, kgw).exposed
        for i, listener in enumerate(kgw.spec.get("listeners") or ()):
            if GA.listener_tls_mode(listener) != "Terminate":
                continue
            if (listener.get("tls") or {}).get("certificateRefs"):
                continue
            if GA.istio_mutual_listener(listener):
                continue  # Istio mTLS with the gateway's workload certificate
            yield Result(
                resource=kgw.ref,
                path=f"spec.listeners[{i}].tls.certificateRefs",
                detail=str(listener.get("name")),
                severity=external_severity(external, Severity.HIGH, Severity.MEDIUM),
                severity_reason="no external Service carries the port",
                message=(
                    f"Gateway {kgw.namespace}/{kgw.name} listener {listener.get('name')!r} "
                    f"terminates {listener.get('protocol')} on port {listener.get('port')} "
                    "without certificateRefs"
                ),
                evidence={"listener": listener.get("name"), "external": external},
            )


@dataclass(frozen=True, slots=True)
class CredentialUse:
    """One certificate reference of a gateway, resolved to where the Secret must be."""

    resource: ResourceRef
    path: str
    namespace: str
    name: str
    external: bool
    permitted: bool = True  # a cross-namespace Gateway API reference needs a ReferenceGrant


def credential_uses(index: MeshIndex) -> Iterator[CredentialUse]:
    """Every credentialName (per gateway workload namespace) and Gateway API certificateRef."""
    for gw in index.snapshot.objects(K_GATEWAY):
        namespaces = index.gateway_workload_namespaces(gw)
        if not namespaces:
            continue  # GW001 reports the dangling selector
        for i, server, external in istio_servers(index, gw):
            for suffix, name in credential_names(server.get("tls") or {}):
                for ns in namespaces:
                    sns, sname = split_secret_name(name, ns)
                    yield CredentialUse(
                        gw.ref, f"spec.servers[{i}].tls.{suffix}", sns, sname, external
                    )
    for kgw in index.snapshot.objects(K_KGATEWAY):
        if not index.is_istio_k8s_gateway(kgw):
            continue
        external = k8s_gateway_frontend(index, kgw).exposed
        for i, listener in enumerate(kgw.spec.get("listeners") or ()):
            for j, ref in enumerate(GA.certificate_refs(kgw.namespace, listener)):
                if ref.kind != "Secret" or ref.group != "":
                    continue
                permitted = ref.namespace == kgw.namespace or GA.reference_granted(
                    index.grants_in(ref.namespace),
                    GA.GROUP,
                    "Gateway",
                    kgw.namespace,
                    "",
                    "Secret",
                    ref.name,
                )
                yield CredentialUse(
                    kgw.ref,
                    f"spec.listeners[{i}].tls.certificateRefs[{j}]",
                    ref.namespace,
                    ref.name,
                    external,
                    permitted,
                )


@check(
    id="TLS003",
    title="Gateway certificate Secret does not exist (or may not be referenced)",
    category=Category.TLS,
    severity=Severity.HIGH,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(*ISTIO_GATEWAY_NEEDS, K_SECRET, K_KGATEWAY, K_REFGRANT),
    remediation=(
        "Create the Secret (type kubernetes.io/tls with tls.crt and tls.key) in the namespace of "
        "the gateway workload (Istio Gateway) or of the Gateway API Gateway; for a Secret in "
        "another namespace add a ReferenceGrant there from the Gateway's namespace."
    ),
    references=(SECURE_INGRESS, IST_DOCS.format(code="ist0101"), GATEWAY_API_DOCS),
    ist_codes=("IST0101",),
)
def missing_credential_secret(ctx: CheckContext) -> Iterator[Result]:
    """A gateway server whose certificate Secret is missing serves no TLS for its hosts.

    Istio reads `credentialName` from the namespace of the gateway *workload*, not of the
    Gateway resource, so a Secret created beside the Gateway is a common miss; the listener then
    fails every handshake (an outage of the HTTPS site). For the Gateway API, a certificateRef
    to another namespace is only honoured when a ReferenceGrant there permits it. Fires per
    reference and namespace (IST0101); high on an externally reachable gateway.
    """
    for use in credential_uses(ctx.index):
        secret = ctx.index.secret(use.namespace, use.name)
        if secret is not None and use.permitted:
            continue
        why = (
            f"Secret {use.namespace}/{use.name} does not exist"
            if secret is None
            else f"no ReferenceGrant in {use.namespace} permits the reference to Secret "
            f"{use.namespace}/{use.name}"
        )
        yield Result(
            resource=use.resource,
            path=use.path,
            detail=f"{use.path}={use.namespace}/{use.name}",
            severity=external_severity(use.external, Severity.HIGH, Severity.MEDIUM),
            severity_reason="no external Service carries the port",
            message=f"{use.resource.display()} uses a certificate it cannot load: {why}",
            evidence={"secret": f"{use.namespace}/{use.name}", "external": use.external},
        )


@check(
    id="TLS004",
    title="Gateway certificate Secret is malformed or expired",
    category=Category.TLS,
    severity=Severity.HIGH,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(*ISTIO_GATEWAY_NEEDS, K_SECRET, K_KGATEWAY, K_REFGRANT),
    remediation=(
        "Store the certificate chain and key as tls.crt and tls.key (type kubernetes.io/tls), "
        "in PEM, and renew the certificate before it expires (cert-manager automates both)."
    ),
    references=(SECURE_INGRESS, IST_DOCS.format(code="ist0161")),
    ist_codes=("IST0161",),
)
def invalid_credential_secret(ctx: CheckContext) -> Iterator[Result]:
    """A certificate Secret the gateway cannot use, or whose certificate has expired.

    Istio needs `tls.crt`/`tls.key` (or `cert`/`key`) holding a PEM certificate that is still
    valid; otherwise clients get handshake failures or an expired-certificate error, and learn
    to click through warnings. Fires per reference when the Secret's data is in the input and
    it lacks those keys, holds no PEM certificate, or (compared to the report's time) the
    certificate expired (IST0161). Certificates that are PEM but do not parse (placeholders in
    exported snapshots) are not judged.
    """
    for use in credential_uses(ctx.index):
        secret = ctx.index.secret(use.namespace, use.name)
        if secret is None or not use.permitted:
            continue
        problem = secret_problem(secret, ctx.as_of)
        if problem is None:
            continue
        yield Result(
            resource=use.resource,
            path=use.path,
            detail=f"{use.path}={use.namespace}/{use.name}",
            severity=external_severity(use.external, Severity.HIGH, Severity.MEDIUM),
            severity_reason="no external Service carries the port",
            message=(
                f"{use.resource.display()} uses Secret {use.namespace}/{use.name}, which {problem}"
            ),
            evidence={"secret": f"{use.namespace}/{use.name}", "problem": problem},
        )

"""TLS checks: what the edge serves in plaintext, which certificates it serves, and how the mesh
originates TLS to other servers (DestinationRule)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor import certinfo
from auditor.checks.registry import CheckContext, check
from auditor.exposure import (
    PLAINTEXT_HTTP,
    attachments,
    gateway_exposure,
    istio_servers,
    k8s_gateway_frontend,
    route_backends,
    server_key,
    server_tls_mode,
)
from auditor.index import (
    K_DEPLOYMENT,
    K_DR,
    K_GATEWAY,
    K_KGATEWAY,
    K_POD,
    K_REFGRANT,
    K_SECRET,
    K_SERVICE,
    MeshIndex,
)
from auditor.istio import gatewayapi as GA
from auditor.model import Category, ResourceRef, Result, Severity
from auditor.snapshot import KObject

IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"
GATEWAY_DOCS = "https://istio.io/latest/docs/reference/config/networking/gateway/"
DR_DOCS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/"
SECURE_INGRESS = "https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/"
GATEWAY_API_DOCS = "https://gateway-api.sigs.k8s.io/reference/spec/"
MESH_DOCS = "https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/"

ISTIO_GATEWAY_NEEDS = (K_GATEWAY, K_POD, K_DEPLOYMENT, K_SERVICE)
K8S_GATEWAY_NEEDS = (K_KGATEWAY, K_SERVICE, "gateway.networking.k8s.io/GatewayClass")
PASSTHROUGH = ("PASSTHROUGH", "AUTO_PASSTHROUGH")
TLS_VERSIONS = ("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")
WEAK_VERSIONS = ("TLSV1_0", "TLSV1_1")


def _external_severity(external: bool, high: Severity, low: Severity) -> Severity:
    return high if external else low


def _terminates(server: dict[str, Any]) -> bool:
    """An Istio Gateway server that terminates TLS with a certificate of its own."""
    protocol = str((server.get("port") or {}).get("protocol") or "").upper()
    mode = str((server.get("tls") or {}).get("mode") or "SIMPLE")
    return protocol in ("HTTPS", "TLS") and mode not in (*PASSTHROUGH, "ISTIO_MUTUAL")


def _credential_names(tls: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path suffix, secret name) for credentialName and credentialNames[]."""
    out = []
    if tls.get("credentialName"):
        out.append(("credentialName", str(tls["credentialName"])))
    for i, name in enumerate(tls.get("credentialNames") or ()):
        out.append((f"credentialNames[{i}]", str(name)))
    return out


def _split_secret_name(name: str, namespace: str) -> tuple[str, str]:
    """Istio's NewShortOrFullName: `ns/name` names another namespace, else `namespace`."""
    if "/" in name:
        ns, _, short = name.partition("/")
        return ns, short
    return namespace, name


def secret_problem(secret: KObject, as_of: str | None) -> str | None:
    """Why a gateway cannot serve this Secret's certificate, or None (also when unknown)."""
    keys = secret.raw.get("dataKeys")
    if keys is None:
        return None  # the Secret's data was not in the input
    usable = [pair for pair in certinfo.CERT_KEYS if set(pair) <= set(keys)]
    if not usable:
        return (
            f"has keys {sorted(keys)} but neither tls.crt/tls.key nor cert/key "
            f"(type {secret.raw.get('type') or 'Opaque'})"
        )
    cert = secret.raw.get("certificate")
    if not isinstance(cert, dict):
        return "has empty certificate or key values"
    if cert.get("format") == "not-pem":
        return f"key {cert.get('key')} does not hold a PEM certificate"
    not_after = cert.get("not_after")
    if as_of and isinstance(not_after, str) and not_after < as_of:
        return f"certificate expired at {not_after}"
    return None


# ---- plaintext ----------------------------------------------------------------------------


@check(
    id="TLS001",
    title="Plaintext HTTP serves backends on an externally reachable gateway",
    category=Category.TLS,
    severity=Severity.HIGH,
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
    when the gateway is reachable from outside and some bound route sends to a backend.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        entries = [e for e in gateway_exposure(ctx.index, gw) if e.external]
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
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}]",
                detail=server_key(server),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} serves {', '.join(hosts)} over plaintext "
                    f"HTTP on port {number} of an externally reachable gateway, routing to "
                    f"{', '.join(backends)}, with no redirect to HTTPS"
                ),
                evidence={"port": number, "hosts": hosts, "backends": backends},
            )
    for kgw in ctx.snapshot.objects(K_KGATEWAY):
        if not ctx.index.is_istio_k8s_gateway(kgw):
            continue
        if not k8s_gateway_frontend(ctx.index, kgw).external:
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
                yield Result(
                    resource=att.route.ref,
                    path=f"spec.parentRefs[{att.parent_index}]",
                    detail=f"{kgw.namespace}/{kgw.name}/{name}",
                    message=(
                        f"{att.route.kind} {att.route.namespace}/{att.route.name} sends plaintext "
                        f"HTTP from listener {name!r} (port {listeners[li].get('port')}) of the "
                        f"externally reachable Gateway {kgw.namespace}/{kgw.name} to "
                        f"{', '.join(sorted(set(backends)))}"
                    ),
                    evidence={
                        "gateway": f"{kgw.namespace}/{kgw.name}",
                        "listener": name,
                        "backends": sorted(set(backends)),
                    },
                )


# ---- certificates -------------------------------------------------------------------------


@check(
    id="TLS002",
    title="HTTPS/TLS server or listener has no certificate configured",
    category=Category.TLS,
    severity=Severity.HIGH,
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
            if not _terminates(server) or _credential_names(tls) or tls.get("serverCertificate"):
                continue
            number = (server.get("port") or {}).get("number")
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}].tls",
                detail=server_key(server),
                severity=_external_severity(external, Severity.HIGH, Severity.MEDIUM),
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
        external = k8s_gateway_frontend(ctx.index, kgw).external
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
                severity=_external_severity(external, Severity.HIGH, Severity.MEDIUM),
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
            for suffix, name in _credential_names(server.get("tls") or {}):
                for ns in namespaces:
                    sns, sname = _split_secret_name(name, ns)
                    yield CredentialUse(
                        gw.ref, f"spec.servers[{i}].tls.{suffix}", sns, sname, external
                    )
    for kgw in index.snapshot.objects(K_KGATEWAY):
        if not index.is_istio_k8s_gateway(kgw):
            continue
        external = k8s_gateway_frontend(index, kgw).external
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
            severity=_external_severity(use.external, Severity.HIGH, Severity.MEDIUM),
            message=f"{use.resource.display()} uses a certificate it cannot load: {why}",
            evidence={"secret": f"{use.namespace}/{use.name}", "external": use.external},
        )


@check(
    id="TLS004",
    title="Gateway certificate Secret is malformed or expired",
    category=Category.TLS,
    severity=Severity.HIGH,
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
            severity=_external_severity(use.external, Severity.HIGH, Severity.MEDIUM),
            message=(
                f"{use.resource.display()} uses Secret {use.namespace}/{use.name}, which {problem}"
            ),
            evidence={"secret": f"{use.namespace}/{use.name}", "problem": problem},
        )


# ---- protocol versions and ciphers --------------------------------------------------------


def weak_cipher(name: str) -> bool:
    """Ciphers without forward secrecy or AEAD: static RSA key exchange, CBC, RC4, 3DES, NULL."""
    upper = name.upper()
    if upper.startswith("TLS_") and not upper.startswith("TLS_RSA"):
        return False  # TLS 1.3 suites (TLS_AES_128_GCM_SHA256, TLS_CHACHA20_...)
    if any(bad in upper for bad in ("RC4", "DES", "NULL", "EXPORT", "MD5", "CBC", "ANON")):
        return True
    if upper.endswith("-SHA"):
        return True  # CBC with a SHA-1 MAC in OpenSSL/BoringSSL names (ECDHE-RSA-AES128-SHA)
    return not upper.startswith(("ECDHE-", "DHE-"))


@check(
    id="TLS005",
    title="Gateway server accepts TLS versions older than 1.2",
    category=Category.TLS,
    severity=Severity.MEDIUM,
    needs=(*ISTIO_GATEWAY_NEEDS, "ConfigMap"),
    remediation=(
        "Set tls.minProtocolVersion: TLSV1_2 (or TLSV1_3) on the server, or "
        "meshConfig.tlsDefaults.minProtocolVersion for every server that does not set one."
    ),
    references=(GATEWAY_DOCS, MESH_DOCS),
)
def old_tls_version(ctx: CheckContext) -> Iterator[Result]:
    """TLS 1.0 and 1.1 are deprecated (RFC 8996) and fail PCI DSS and most compliance baselines.

    A server that accepts them lets a downgrading attacker or an outdated client negotiate
    protocol versions with known weaknesses. The effective minimum is the server's
    `tls.minProtocolVersion`, else the mesh config's `tlsDefaults.minProtocolVersion`, else
    Istio's default (TLS 1.2). Fires per TLS-terminating server whose effective minimum is
    TLSV1_0 or TLSV1_1 (low on a server whose port no external Service carries).
    """
    default = ctx.mesh.tls_min_version
    for gw in ctx.snapshot.objects(K_GATEWAY):
        for i, server, external in istio_servers(ctx.index, gw):
            if not _terminates(server):
                continue
            own = (server.get("tls") or {}).get("minProtocolVersion")
            version = own or default
            if version not in WEAK_VERSIONS:
                continue
            source = "the server" if own else f"meshConfig.tlsDefaults ({ctx.mesh.source})"
            number = (server.get("port") or {}).get("number")
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}].tls.minProtocolVersion",
                detail=server_key(server),
                severity=_external_severity(external, Severity.MEDIUM, Severity.LOW),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} port {number} accepts {version} "
                    f"(minimum set by {source})"
                ),
                evidence={"minProtocolVersion": version, "source": source, "port": number},
            )


@check(
    id="TLS006",
    title="Gateway server allows weak cipher suites",
    category=Category.TLS,
    severity=Severity.MEDIUM,
    needs=(*ISTIO_GATEWAY_NEEDS, "ConfigMap"),
    remediation=(
        "Limit tls.cipherSuites (or meshConfig.tlsDefaults.cipherSuites) to ECDHE suites with "
        "AES-GCM or ChaCha20-Poly1305, or leave it unset to use Envoy's defaults."
    ),
    references=(GATEWAY_DOCS, MESH_DOCS),
)
def weak_ciphers(ctx: CheckContext) -> Iterator[Result]:
    """Cipher suites without forward secrecy or authenticated encryption weaken every session.

    Static-RSA suites let anyone who later obtains the server key decrypt recorded traffic;
    CBC, RC4, 3DES and NULL suites have practical attacks. Fires per TLS-terminating server
    whose `tls.cipherSuites` (or, when unset, `meshConfig.tlsDefaults.cipherSuites`) lists such
    a suite.
    """
    default = ctx.mesh.tls_cipher_suites
    for gw in ctx.snapshot.objects(K_GATEWAY):
        for i, server, external in istio_servers(ctx.index, gw):
            if not _terminates(server):
                continue
            own = (server.get("tls") or {}).get("cipherSuites") or []
            weak = sorted({c for c in (own or default) if weak_cipher(c)})
            if not weak:
                continue
            number = (server.get("port") or {}).get("number")
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}].tls.cipherSuites",
                detail=server_key(server),
                severity=_external_severity(external, Severity.MEDIUM, Severity.LOW),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} port {number} allows weak cipher suites "
                    f"{', '.join(weak)}"
                    + ("" if own else f" (from meshConfig.tlsDefaults, {ctx.mesh.source})")
                ),
                evidence={"weak": weak, "port": number},
            )


@check(
    id="TLS007",
    title="Mutual TLS gateway server has no CA to verify client certificates",
    category=Category.TLS,
    severity=Severity.MEDIUM,
    needs=(*ISTIO_GATEWAY_NEEDS, K_SECRET),
    remediation=(
        "Add the client CA: `ca.crt` in the credentialName Secret, a Secret named "
        "`<credentialName>-cacert`, or tls.caCertificates."
    ),
    references=(SECURE_INGRESS, GATEWAY_DOCS),
)
def mutual_without_ca(ctx: CheckContext) -> Iterator[Result]:
    """A MUTUAL server without a client CA cannot verify who connects.

    The team relies on client certificates to restrict who reaches the hosts; without a CA
    Istio cannot build the validation context, so the server either rejects every client or
    (with OPTIONAL_MUTUAL) lets unauthenticated clients through. Fires per MUTUAL or
    OPTIONAL_MUTUAL server with no `caCertificates`, whose credential Secret (when in the input
    with its data) has no `ca.crt`/`cacert` key and has no `<name>-cacert` companion Secret.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        namespaces = ctx.index.gateway_workload_namespaces(gw)
        for i, server in enumerate(gw.spec.get("servers") or ()):
            tls = server.get("tls") or {}
            mode = str(tls.get("mode") or "")
            if mode not in ("MUTUAL", "OPTIONAL_MUTUAL") or tls.get("caCertificates"):
                continue
            names = [n for _, n in _credential_names(tls)]
            if names and not _all_lack_ca(ctx.index, names, namespaces):
                continue
            number = (server.get("port") or {}).get("number")
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}].tls",
                detail=server_key(server),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} port {number} requires client "
                    f"certificates ({mode}) but configures no CA to verify them"
                ),
                evidence={"mode": mode, "credentials": names},
            )


def _all_lack_ca(index: MeshIndex, names: list[str], namespaces: list[str]) -> bool:
    """True only when every credential is known (in the input, with data) and has no CA."""
    if not namespaces:
        return False
    for name in names:
        for ns in namespaces:
            sns, sname = _split_secret_name(name, ns)
            secret = index.secret(sns, sname)
            if secret is None or "dataKeys" not in secret.raw:
                return False
            if set(certinfo.CA_KEYS) & set(secret.raw["dataKeys"]):
                return False
            if index.secret(sns, f"{sname}-cacert") is not None:
                return False
    return True


@check(
    id="TLS008",
    title="Same certificate on several Gateways of one workload",
    category=Category.TLS,
    severity=Severity.LOW,
    needs=(K_GATEWAY,),
    remediation=(
        "Serve the hosts that share a certificate from one Gateway (one server listing all the "
        "hosts), or give each Gateway its own certificate."
    ),
    references=(GATEWAY_DOCS, IST_DOCS.format(code="ist0138")),
    ist_codes=("IST0138",),
)
def duplicate_certificate(ctx: CheckContext) -> Iterator[Result]:
    """Several Gateways on one workload serving the same certificate cause 404s.

    Browsers reuse an HTTP/2 connection for every host the certificate covers; when those hosts
    are split over Gateways (separate filter chains), requests for the second host arrive on the
    first one's connection and get 404. Fires on a Gateway when another Gateway whose selector
    includes all of its selector's labels (Istio's rule) has a TLS server with the same
    credentialName, or the same serverCertificate and privateKey (IST0138).
    """
    by_cert: dict[tuple[str, ...], list[KObject]] = {}
    for gw in ctx.snapshot.objects(K_GATEWAY):
        for server in gw.spec.get("servers") or ():
            tls = server.get("tls")
            if not tls:
                continue
            if tls.get("credentialName"):
                key: tuple[str, ...] = ("credential", str(tls["credentialName"]))
            elif tls.get("serverCertificate") and tls.get("privateKey"):
                key = ("file", str(tls["serverCertificate"]), str(tls["privateKey"]))
            else:
                continue
            group = by_cert.setdefault(key, [])
            if gw not in group:
                group.append(gw)
    reported: set[tuple[str, str, tuple[str, ...]]] = set()
    for key, gateways in by_cert.items():
        for gw in gateways:
            selector = gw.spec.get("selector") or {}
            others = [
                o
                for o in gateways
                if o is not gw
                and all((o.spec.get("selector") or {}).get(k) == v for k, v in selector.items())
            ]
            if not others or (gw.namespace, gw.name, key) in reported:
                continue
            reported.add((gw.namespace, gw.name, key))
            names = ", ".join(sorted(f"{o.namespace}/{o.name}" for o in others))
            cert = key[1] if key[0] == "credential" else f"{key[1]} / {key[2]}"
            yield Result(
                resource=gw.ref,
                path="metadata.name",
                detail="/".join(key),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} serves certificate {cert!r}, also served "
                    f"by Gateway(s) {names} on the same workload"
                ),
                evidence={"certificate": cert, "gateways": names},
            )


# ---- TLS origination (DestinationRule) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origination:
    """One ClientTLSSettings of a DestinationRule that originates TLS (SIMPLE or MUTUAL)."""

    path: str
    tls: dict[str, Any]
    port_level: bool
    where: str  # for messages: "traffic policy", "port 443", "subset v1"


def originations(dr: KObject) -> Iterator[Origination]:
    def policy(p: dict[str, Any] | None, prefix: str, label: str) -> Iterator[Origination]:
        p = p or {}
        tls = p.get("tls") or {}
        if str(tls.get("mode") or "") in ("SIMPLE", "MUTUAL"):
            yield Origination(f"{prefix}.tls", tls, False, label)
        for i, pls in enumerate(p.get("portLevelSettings") or ()):
            ptls = pls.get("tls") or {}
            if str(ptls.get("mode") or "") in ("SIMPLE", "MUTUAL"):
                number = (pls.get("port") or {}).get("number")
                yield Origination(
                    f"{prefix}.portLevelSettings[{i}].tls", ptls, True, f"{label} port {number}"
                )

    yield from policy(dr.spec.get("trafficPolicy"), "spec.trafficPolicy", "traffic policy")
    for i, subset in enumerate(dr.spec.get("subsets") or ()):
        yield from policy(
            subset.get("trafficPolicy"),
            f"spec.subsets[{i}].trafficPolicy",
            f"subset {subset.get('name')!r}",
        )


@check(
    id="TLS009",
    title="DestinationRule originates TLS without a CA to verify the server",
    category=Category.TLS,
    severity=Severity.LOW,
    needs=(K_DR,),
    remediation=(
        "Set caCertificates (a CA bundle path in the proxy), or credentialName with a Secret "
        "holding ca.crt together with a workloadSelector, so the server's certificate is "
        "verified against the CA you expect."
    ),
    references=(
        DR_DOCS,
        IST_DOCS.format(code="ist0128"),
        IST_DOCS.format(code="ist0129"),
    ),
    ist_codes=("IST0128", "IST0129"),
)
def origination_without_ca(ctx: CheckContext) -> Iterator[Result]:
    """TLS origination (SIMPLE or MUTUAL) without caCertificates does not pin the server's CA.

    Recent Istio versions then verify against the proxy's system roots (VERIFY_CERTIFICATE_AT_
    CLIENT), so any publicly trusted CA can vouch for the server; older ones, or with that flag
    off, do not verify at all. Fires per traffic policy, port-level setting and subset in SIMPLE
    or MUTUAL mode without caCertificates, with Istio's exceptions: not when credentialName is
    set together with a workloadSelector (the Secret supplies the CA), and not when
    insecureSkipVerify is set (TLS010 reports that). IST0128 (destination level) / IST0129
    (port level); Istio's analyzer does not look at subsets, mesh-audit does.
    """
    for dr in ctx.snapshot.objects(K_DR):
        has_selector = bool(dr.spec.get("workloadSelector"))
        for o in originations(dr):
            tls = o.tls
            if tls.get("caCertificates") or tls.get("insecureSkipVerify"):
                continue
            if tls.get("credentialName") and has_selector:
                continue
            yield Result(
                resource=dr.ref,
                path=o.path,
                detail=o.path,
                ist_code="IST0129" if o.port_level else "IST0128",
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} originates TLS ({tls.get('mode')}) "
                    f"to {dr.spec.get('host')} in its {o.where} without caCertificates"
                ),
                evidence={"host": dr.spec.get("host"), "mode": tls.get("mode")},
            )


@check(
    id="TLS010",
    title="DestinationRule disables server certificate verification (insecureSkipVerify)",
    category=Category.TLS,
    severity=Severity.MEDIUM,
    needs=(K_DR,),
    remediation=(
        "Remove insecureSkipVerify and set caCertificates (and subjectAltNames) for the "
        "server's certificate."
    ),
    references=(DR_DOCS,),
)
def insecure_skip_verify(ctx: CheckContext) -> Iterator[Result]:
    """With insecureSkipVerify the proxy accepts any certificate from the server.

    Anyone able to intercept the connection (DNS spoofing, a compromised network hop) can
    impersonate the destination and read or alter what the mesh sends it, credentials
    included. Fires per traffic policy, port-level setting and subset that sets
    `insecureSkipVerify: true` while originating TLS.
    """
    for dr in ctx.snapshot.objects(K_DR):
        for o in originations(dr):
            if o.tls.get("insecureSkipVerify") is not True:
                continue
            yield Result(
                resource=dr.ref,
                path=f"{o.path}.insecureSkipVerify",
                detail=o.path,
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} originates TLS to "
                    f"{dr.spec.get('host')} in its {o.where} without verifying the server's "
                    "certificate (insecureSkipVerify: true)"
                ),
                evidence={"host": dr.spec.get("host"), "sni": o.tls.get("sni")},
            )


@check(
    id="TLS011",
    title="DestinationRule originates TLS without subjectAltNames",
    category=Category.TLS,
    severity=Severity.LOW,
    needs=(K_DR,),
    remediation=(
        "List the names the server's certificate must carry in subjectAltNames, so a "
        "certificate issued to another name by the same CA is refused."
    ),
    references=(DR_DOCS,),
)
def origination_without_san(ctx: CheckContext) -> Iterator[Result]:
    """Without subjectAltNames, any certificate the trusted CAs issued is accepted.

    A certificate for any other name, from the same CA (or any public CA when no caCertificates
    are set), lets its holder impersonate the destination. Fires per traffic policy,
    port-level setting and subset in SIMPLE or MUTUAL mode without subjectAltNames, unless
    insecureSkipVerify is set (TLS010 reports that).
    """
    for dr in ctx.snapshot.objects(K_DR):
        for o in originations(dr):
            if o.tls.get("subjectAltNames") or o.tls.get("insecureSkipVerify"):
                continue
            yield Result(
                resource=dr.ref,
                path=o.path,
                detail=o.path,
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} originates TLS to "
                    f"{dr.spec.get('host')} in its {o.where} without subjectAltNames"
                ),
                evidence={"host": dr.spec.get("host"), "sni": o.tls.get("sni")},
            )

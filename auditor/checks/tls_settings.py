"""TLS checks on gateway TLS settings: protocol versions, ciphers, client-certificate CAs and
certificates shared between gateways (TLS005-TLS008)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.checks.tls_common import (
    GATEWAY_DOCS,
    IST_DOCS,
    ISTIO_GATEWAY_NEEDS,
    MESH_DOCS,
    SECURE_INGRESS,
    WEAK_VERSIONS,
    credential_names,
    external_severity,
    split_secret_name,
    terminates,
)
from auditor.input import certinfo
from auditor.input.snapshot import KObject
from auditor.mesh.exposure import (
    istio_servers,
    server_key,
)
from auditor.mesh.index import (
    K_GATEWAY,
    K_SECRET,
    MeshIndex,
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
    severity_range=(Severity.LOW, Severity.MEDIUM),
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
            if not terminates(server):
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
                severity=external_severity(external, Severity.MEDIUM, Severity.LOW),
                severity_reason="" if external else "no external Service carries the port",
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
    severity_range=(Severity.LOW, Severity.MEDIUM),
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
            if not terminates(server):
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
                severity=external_severity(external, Severity.MEDIUM, Severity.LOW),
                severity_reason="" if external else "no external Service carries the port",
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
            names = [n for _, n in credential_names(tls)]
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
            sns, sname = split_secret_name(name, ns)
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

"""TLS checks on TLS the mesh originates to other servers (DestinationRule): server verification
and names (TLS009-TLS011)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.checks.tls_common import (
    DR_DOCS,
    IST_DOCS,
)
from auditor.input.snapshot import KObject
from auditor.istio import version as V
from auditor.mesh.index import (
    K_DEPLOYMENT,
    K_DR,
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


def _defaults(ctx: CheckContext) -> V.OriginationDefaults:
    return V.origination_defaults(
        ctx.snapshot.source.istio_version,
        (d.raw for d in ctx.snapshot.objects(K_DEPLOYMENT)),
    )


@check(
    id="TLS009",
    title="DestinationRule originates TLS without a CA to verify the server",
    category=Category.TLS,
    severity=Severity.LOW,
    severity_range=(Severity.INFO, Severity.MEDIUM),
    needs=(K_DR,),
    remediation=(
        "Set caCertificates (a CA bundle path in the proxy, or `system` for the OS roots), or "
        "credentialName with a Secret holding ca.crt together with a workloadSelector, so the "
        "server's certificate is verified against the CA you expect. Before Istio 1.21 (or with "
        "VERIFY_CERTIFICATE_AT_CLIENT=false on istiod) this is what turns verification on."
    ),
    references=(
        DR_DOCS,
        "https://istio.io/latest/news/releases/1.21.x/announcing-1.21/upgrade-notes/",
        IST_DOCS.format(code="ist0128"),
        IST_DOCS.format(code="ist0129"),
    ),
    ist_codes=("IST0128", "IST0129"),
)
def origination_without_ca(ctx: CheckContext) -> Iterator[Result]:
    """TLS origination (SIMPLE or MUTUAL) without caCertificates: what it means depends on the
    Istio version.

    Since Istio 1.21, istiod sets VERIFY_CERTIFICATE_AT_CLIENT by default: the server's
    certificate is verified against the proxy's system roots, so the connection is protected as a
    browser's is, and any publicly trusted CA can vouch for the server (info: pin
    caCertificates to narrow that). Before 1.21, or with the flag set to false on istiod, the
    server's certificate is not verified at all: anyone on the path can impersonate the
    destination (medium, as TLS010). The version is istiod's image tag (or `--istio-version`);
    istiod's own VERIFY_CERTIFICATE_AT_CLIENT setting wins over the default. Unknown version:
    low, and the message says what holds for each. Fires per traffic policy, port-level setting
    and subset in SIMPLE or MUTUAL mode without caCertificates, with Istio's exceptions: not
    when credentialName is set together with a workloadSelector (the Secret supplies the CA),
    and not when insecureSkipVerify is set (TLS010 reports that). IST0128 (destination level) /
    IST0129 (port level); Istio's analyzer does not look at subsets or the version, mesh-audit
    does.
    """
    defaults = _defaults(ctx)
    reason = ""
    if defaults.verify is True:
        reason = f"on {defaults.basis} the proxy verifies the server against the system roots"
        severity, verdict = (
            Severity.INFO,
            f"; on {defaults.basis} the proxy verifies it against the system roots, so any "
            "publicly trusted CA can vouch for it",
        )
    elif defaults.verify is False:
        reason = f"on {defaults.basis} the server's certificate is not verified at all"
        severity, verdict = (
            Severity.MEDIUM,
            f"; on {defaults.basis} the server's certificate is not verified at all",
        )
    else:
        severity, verdict = (
            Severity.LOW,
            ": from Istio 1.21 on the proxy verifies the server against the system roots; "
            "before 1.21 (or with VERIFY_CERTIFICATE_AT_CLIENT=false) it does not verify the "
            "server at all (Istio version unknown: give --istio-version)",
        )
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
                severity=severity,
                severity_reason=reason,
                ist_code="IST0129" if o.port_level else "IST0128",
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} originates TLS ({tls.get('mode')}) "
                    f"to {dr.spec.get('host')} in its {o.where} without caCertificates{verdict}"
                ),
                evidence={
                    "host": dr.spec.get("host"),
                    "mode": tls.get("mode"),
                    "istio_version": ctx.snapshot.source.istio_version,
                    "verified_against_system_roots": defaults.verify,
                },
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
    severity_range=(Severity.INFO, Severity.LOW),
    needs=(K_DR,),
    remediation=(
        "List the names the server's certificate must carry in subjectAltNames, so a "
        "certificate issued to another name by the same CA is refused."
    ),
    references=(
        DR_DOCS,
        "https://istio.io/latest/news/releases/1.21.x/announcing-1.21/upgrade-notes/",
    ),
)
def origination_without_san(ctx: CheckContext) -> Iterator[Result]:
    """Without subjectAltNames, which certificate names are accepted depends on the version.

    Since Istio 1.21 (ENABLE_AUTO_SNI and VERIFY_CERTIFICATE_AT_CLIENT on by default), when the
    DestinationRule sets neither `sni` nor subjectAltNames, istiod sets Envoy's auto SNI and
    auto SAN validation: the server's certificate must match the request's Host (info; for
    HTTP traffic, which has a Host). With an explicit `sni` and no subjectAltNames, or before
    1.21, any certificate the trusted CAs issued is accepted, for any name: its holder can
    impersonate the destination (low). Unknown version: low, and the message says what holds
    for each. Fires per traffic policy, port-level setting and subset in SIMPLE or MUTUAL mode
    without subjectAltNames, unless insecureSkipVerify is set (TLS010 reports that).
    """
    defaults = _defaults(ctx)
    for dr in ctx.snapshot.objects(K_DR):
        for o in originations(dr):
            if o.tls.get("subjectAltNames") or o.tls.get("insecureSkipVerify"):
                continue
            severity = Severity.LOW
            if o.tls.get("sni"):
                verdict = (
                    f" and with an explicit sni ({o.tls.get('sni')}), so no automatic SAN "
                    "check applies: a certificate for any name from a trusted CA is accepted"
                )
            elif defaults.auto_san is True:
                severity = Severity.INFO
                verdict = (
                    f"; on {defaults.basis} istiod sets auto SNI and auto SAN validation, so "
                    "the certificate must match the request's Host (HTTP traffic)"
                )
            elif defaults.auto_san is False:
                verdict = (
                    f"; on {defaults.basis} no automatic SAN check applies: a certificate for "
                    "any name from a trusted CA is accepted"
                )
            else:
                verdict = (
                    ": from Istio 1.21 on istiod checks the certificate against the request's "
                    "Host (auto SNI and SAN validation); before 1.21 a certificate for any "
                    "name from a trusted CA is accepted (Istio version unknown: give "
                    "--istio-version)"
                )
            yield Result(
                resource=dr.ref,
                path=o.path,
                detail=o.path,
                severity=severity,
                severity_reason=(
                    f"on {defaults.basis} istiod checks the certificate against the request's Host"
                ),
                message=(
                    f"DestinationRule {dr.namespace}/{dr.name} originates TLS to "
                    f"{dr.spec.get('host')} in its {o.where} without subjectAltNames{verdict}"
                ),
                evidence={
                    "host": dr.spec.get("host"),
                    "sni": o.tls.get("sni"),
                    "istio_version": ctx.snapshot.source.istio_version,
                    "auto_san_validation": defaults.auto_san if not o.tls.get("sni") else False,
                },
            )

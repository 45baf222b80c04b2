"""TLS checks on TLS the mesh originates to other servers (DestinationRule): server verification
and names (TLS009-TLS011)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.checks.registry import CheckContext, check
from auditor.checks.tls_common import (
    DR_DOCS,
    IST_DOCS,
)
from auditor.index import (
    K_DR,
)
from auditor.model import Category, Result, Severity
from auditor.snapshot import KObject

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

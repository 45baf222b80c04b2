"""Authorization judged together with mutual TLS: identity rules that plaintext walks past."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.mesh.identity_mtls import (
    IdentityView,
    PortView,
    SkippedRule,
    identity_model,
)
from auditor.mesh.index import K_AP, K_DEPLOYMENT, K_PA, K_POD, K_SERVICE, MeshIndex
from auditor.mesh.plaintext_senders import Caller

AP_DOCS = "https://istio.io/latest/docs/reference/config/security/authorization-policy/"
CONDITIONS = "https://istio.io/latest/docs/reference/config/security/conditions/"
PA_DOCS = "https://istio.io/latest/docs/reference/config/security/peer_authentication/"
SAFER_PATTERN = (
    "https://istio.io/latest/docs/ops/best-practices/security/"
    "#use-allow-with-positive-matching-and-deny-with-negative-match-patterns"
)
KIALI_MTLS = (
    "https://kiali.io/docs/features/validations/#kia0105---this-field-requires-mtls-to-be-enabled"
)
SHOWN = 5  # callers named in a message; the evidence holds up to EVIDENCE_LIMIT
EVIDENCE_LIMIT = 20


def _names(items: list[str], limit: int = SHOWN) -> str:
    unique = list(dict.fromkeys(items))
    if len(unique) > limit:
        return ", ".join(unique[:limit]) + f" and {len(unique) - limit} more"
    return ", ".join(unique)


def _capped(items: list[str]) -> list[str]:
    unique = list(dict.fromkeys(items))
    if len(unique) > EVIDENCE_LIMIT:
        return [*unique[:EVIDENCE_LIMIT], f"... and {len(unique) - EVIDENCE_LIMIT} more"]
    return unique


def _ap_ref(index: MeshIndex, key: str) -> ResourceRef | None:
    ns, name = key.split("/", 1)
    obj = index.snapshot.get(K_AP, ns, name)
    return obj.ref if obj is not None else None


@dataclass(slots=True)
class _Rule:
    policy: str
    rule: int
    paths: tuple[str, ...]
    hits: list[tuple[IdentityView, SkippedRule]] = field(default_factory=list)


def _who(groups: Iterable[tuple[Caller, ...]]) -> list[str]:
    """Caller names across groups that many workloads share (each group read once)."""
    unique = {id(g): g for g in groups}
    return list(dict.fromkeys(c.who for g in unique.values() for c in g))


def _places(hits: list[tuple[IdentityView, SkippedRule]]) -> list[str]:
    """ "<workloads> accept(s) plaintext on <port> (<why>)", one line per port and setting."""
    by: dict[tuple[str, str, bool], list[str]] = {}
    for v, s in hits:
        key = (s.port.shown, s.port.why, v.entry.mode == "ambient")
        by.setdefault(key, []).append(v.entry.display)
    out = []
    for (shown, why, ambient), names in by.items():
        via = " (ambient: ztunnel enforces only STRICT)" if ambient else ""
        verb = "accepts" if len(names) == 1 else "accept"
        out.append(f"{_names(names, 3)}{via} {verb} plaintext on {shown} ({why})")
    return out


def _fix(hits: list[tuple[IdentityView, SkippedRule]]) -> str:
    ports = sorted({f"{v.entry.display} {s.port.shown}" for v, s in hits})
    shown = _names(ports, 3)
    return (
        "Rewrite the rule as DENY with negative matching (`notPrincipals` / `notNamespaces` "
        "listing who may call), which fails closed for plaintext, or make the workload refuse "
        f"plaintext: PeerAuthentication mode STRICT for {shown} (a `portLevelMtls` "
        "entry set to STRICT for a single port), after its legitimate plaintext callers move to "
        "mTLS."
    )


def _where(view: IdentityView, port: PortView) -> str:
    via = " (ambient: ztunnel enforces only STRICT)" if view.entry.mode == "ambient" else ""
    return f"{view.entry.display}{via} accepts plaintext on {port.shown} ({port.why})"


@check(
    id="AUTHZ015",
    title="Identity rule on a port that accepts plaintext: a DENY on peer identity is skipped",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.INFO, Severity.HIGH),
    needs=(K_AP, K_PA, K_DEPLOYMENT, K_POD, K_SERVICE),
    remediation=(
        "Use DENY with negative matching (`notPrincipals`, `notNamespaces`), which denies a "
        "request without identity, or set PeerAuthentication STRICT on the workload or port so "
        "every request carries a peer identity."
    ),
    references=(AP_DOCS, CONDITIONS, PA_DOCS, SAFER_PATTERN, KIALI_MTLS),
)
def identity_rules_on_plaintext(ctx: CheckContext) -> Iterator[Result]:
    """`principals`, `namespaces`, `serviceAccounts` and the `source.principal`,
    `source.namespace` and `connection.sni` conditions match the peer certificate: Istio's
    reference says they "require mTLS enabled". A request sent in plaintext carries no peer
    identity, so a DENY rule that names callers this way never matches it: on a workload that
    accepts plaintext (PERMISSIVE, a port-level exception, DISABLE; ztunnel for an ambient
    workload unless STRICT), the caller the rule was written to stop gets through by not using
    mTLS. An ALLOW rule on identity fails the other way: it denies every plaintext caller.

    Per in-mesh application workload and port that accepts plaintext (the mTLS map), with the
    policies that apply (an ambient workload's as ztunnel enforces them), in Istio's order: a
    DENY rule that needs a peer identity and covers the port is reported when the plaintext
    request would then be allowed (no ALLOW policy, or an ALLOW rule that needs no identity),
    and nothing else refuses plaintext there (a DENY with `notPrincipals`, deny-all). One
    finding per policy rule, naming the workloads, ports and the setting that accepts
    plaintext. High when the callers the rule names can actually send plaintext: every mesh
    client does to a DISABLE port (auto mTLS) or through a DestinationRule `tls.mode: DISABLE`
    (gateways included); a workload outside the mesh, or one whose outbound capture excludes
    the port, whose namespace and service account the rule names, when the server's ingress
    NetworkPolicies let that pod connect. Medium otherwise. Info, on the workload,
    when its ALLOW rules all need a peer identity: every plaintext caller is denied (named).
    Kiali reports the same fields as KIA0105.
    """
    rules: dict[tuple[str, int], _Rule] = {}
    for key in sorted(identity_model(ctx.index)):
        view = identity_model(ctx.index)[key]
        for skipped in view.skipped:
            slot = rules.setdefault(
                (skipped.policy, skipped.rule),
                _Rule(policy=skipped.policy, rule=skipped.rule, paths=skipped.paths),
            )
            slot.hits.append((view, skipped))
        if view.denied_ports:
            yield _allow_info(view)
    for (policy, i), found in sorted(rules.items()):
        ref = _ap_ref(ctx.index, policy)
        if ref is None:
            continue
        reached = _who(g for _, s in found.hits for g in s.reached_groups)
        where = _places(found.hits)
        plaintext_from = _who(g for _, s in found.hits for g in s.port.groups)
        netpols = sorted({p for _, s in found.hits for p in s.port.ingress_policies})
        fields = ", ".join(found.paths) or "identity fields"
        yield Result(
            resource=ref,
            path=f"spec.rules[{i}]." + found.paths[0] if found.paths else f"spec.rules[{i}]",
            detail=f"rule:{i}",
            severity=Severity.HIGH if reached else None,
            severity_reason="callers the rule names reach the port in plaintext",
            message=(
                f"AuthorizationPolicy {policy} spec.rules[{i}] DENYs by peer identity ({fields}), "
                "which a plaintext request never carries: "
                + "; ".join(where[:SHOWN])
                + (f"; and {len(where) - SHOWN} more" if len(where) > SHOWN else "")
                + ", so plaintext requests pass this DENY"
                + (
                    f"; callers it names send plaintext: {_names(reached)}"
                    if reached
                    else (f" (plaintext from: {_names(plaintext_from)})" if plaintext_from else "")
                )
                + (
                    f"; ingress NetworkPolicies {_names(netpols)} limit which pods connect"
                    if netpols and not reached
                    else ""
                )
            ),
            evidence={
                "rule": f"spec.rules[{i}]",
                "identity_fields": list(found.paths),
                "workloads": _capped(
                    [f"{v.entry.display} {s.port.shown}: {s.port.mode}" for v, s in found.hits]
                ),
                "accepts_plaintext": _capped(where),
                "named_callers_sending_plaintext": _capped(reached),
                "plaintext_from": _capped(plaintext_from),
                "ingress_network_policies": netpols,
            },
            remediation=_fix(found.hits),
        )


def _allow_info(view: IdentityView) -> Result:
    ports = view.denied_ports
    callers = _who(g for p in ports for g in p.groups)
    who = _names(callers) if callers else "any client outside the mesh"
    return Result(
        resource=view.entry.ref,
        path="",
        detail="allow",
        severity=Severity.INFO,
        severity_reason="an ALLOW on identity denies plaintext callers: safe, but it breaks them",
        message=(
            "; ".join(_where(view, p) for p in ports)
            + f", but its ALLOW policies ({', '.join(view.allow_policies)}) admit only callers "
            f"with a peer identity: every plaintext caller is denied ({who})"
        ),
        evidence={
            "allow_policies": list(view.allow_policies),
            "ports": [str(p.port) for p in ports],
            "denied_plaintext_callers": _capped(callers),
        },
        remediation=(
            "Nothing to fix if plaintext callers are not expected. Otherwise move them to mTLS "
            "(into the mesh, or without the capture exclusion), or ALLOW them explicitly by a "
            "field that does not need mTLS; then set STRICT so the identity rules hold."
        ),
    )

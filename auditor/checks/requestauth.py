"""RequestAuthentication checks: tokens that are optional, keys fetched over http, Istio's
published test key, and tokens forwarded upstream."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.base.model import Category, Result, Severity
from auditor.checks.authz_model import bypasses
from auditor.checks.registry import CheckContext, check
from auditor.istio import authz as A
from auditor.istio import jwt as J
from auditor.mesh.authorization import WorkloadAuthz, applying_to, request_authentications
from auditor.mesh.index import K_AP, K_DEPLOYMENT, K_POD, K_RA

RA_DOCS = "https://istio.io/latest/docs/reference/config/security/request_authentication/"
JWT_TASK = "https://istio.io/latest/docs/tasks/security/authorization/authz-jwt/"
SAMPLE_KEY = "https://github.com/istio/istio/tree/master/security/tools/jwt/samples"


def _jwt_rules(spec: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, r) for i, r in enumerate(spec.get("jwtRules") or ()) if isinstance(r, Mapping)]


@check(
    id="AUTHZ010",
    title="RequestAuthentication without a policy that requires a token",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_RA, K_AP, K_DEPLOYMENT, K_POD),
    remediation=(
        "Require the token: an AuthorizationPolicy on the same workloads that DENYs "
        '`from.source.notRequestPrincipals: ["*"]`, or ALLOWs only `requestPrincipals`.'
    ),
    references=(RA_DOCS, JWT_TASK),
)
def token_optional(ctx: CheckContext) -> Iterator[Result]:
    """A RequestAuthentication only rejects invalid tokens: a request that carries no token at
    all is accepted with no request principal (Istio's authz-jwt task shows it: 200 without a
    token until an AuthorizationPolicy requires one).

    Fires per RequestAuthentication that applies to at least one mesh workload (selector, root
    namespace or targetRefs, as Istio attaches it) on which no enforced policy makes a token
    mandatory: no DENY on `notRequestPrincipals`, not every ALLOW rule requiring
    `requestPrincipals` (or a `request.auth.*` condition), no deny-all, and no CUSTOM policy that
    delegates the decision. ALLOW policies are ORed: when some rule requires a token and others
    do not, the message names the rules that admit requests without one; a workload whose only
    such rules are client-controlled bypasses is left to AUTHZ007, which names them (the same
    fact is one finding). High when one of those workloads is reachable from outside.
    """
    reported = bypasses(ctx.index)  # AUTHZ007 names those rules: one finding per fact
    for ra, policy in request_authentications(ctx.index):
        covered = applying_to(ctx.index, policy)
        optional: list[WorkloadAuthz] = []
        without: dict[str, list[str]] = {}  # workload -> ALLOW rules admitting without a token
        for e in covered:
            if e.posture.token_required or e.posture.custom:
                continue
            rules = [
                (p.key, i, r) for p in e.posture.by_action("ALLOW") for i, r in enumerate(p.rules)
            ]
            free = [(k, i) for k, i, r in rules if not A.requires_request_principal(r)]
            if len(free) < len(rules) and all(
                (k, i) in reported and e in reported[(k, i)].workloads for k, i in free
            ):
                continue  # only the client-controlled bypass rules AUTHZ007 reports
            optional.append(e)
            if len(free) < len(rules):
                without[e.display] = [f"{k} spec.rules[{i}]" for k, i in free]
        if not optional:
            continue
        exposed = any(e.open_to_internet for e in optional)
        shown = sorted({r for rules in without.values() for r in rules})
        yield Result(
            resource=ra.ref,
            path="spec.jwtRules",
            severity=Severity.HIGH if exposed else None,
            severity_reason="a workload it applies to is reachable from outside the cluster",
            message=(
                f"RequestAuthentication {ra.namespace}/{ra.name} validates tokens on "
                f"{', '.join(e.display for e in optional)}, but "
                + (
                    f"ALLOW rule(s) {', '.join(shown)} admit requests without one, ORed with "
                    "the rules that require it"
                    if shown
                    else "no AuthorizationPolicy there requires one"
                )
                + ": requests without a token are accepted"
            ),
            evidence={
                "workloads": [e.display for e in optional],
                "policies": sorted(
                    {p.key for e in optional for p in e.posture.policies if p.enforced}
                ),
                "rules_without_token": shown,
            },
        )


@check(
    id="AUTHZ011",
    title="JWT keys fetched over plain http from outside the cluster",
    category=Category.AUTHORIZATION,
    severity=Severity.HIGH,
    needs=(K_RA,),
    remediation="Use an https `jwksUri` (and issuer discovery over https).",
    references=(RA_DOCS,),
)
def jwks_over_http(ctx: CheckContext) -> Iterator[Result]:
    """istiod fetches the keys that verify tokens from `jwksUri`, or, without `jwks`/`jwksUri`,
    discovers them at the issuer's `/.well-known/openid-configuration`. Over plain http to a host
    outside the cluster, anyone on the path can substitute keys and then sign any token.

    Fires per jwtRules entry whose `jwksUri` (or, when it has neither `jwks` nor `jwksUri`, whose
    `issuer`) is an `http://` URL to a host that is not a cluster-local name (`*.svc`,
    `*.cluster.local`, a short name, loopback).
    """
    for ra in ctx.snapshot.objects(K_RA):
        for i, rule in _jwt_rules(ra.spec):
            for name, url in J.plain_http_fetches(rule):
                yield Result(
                    resource=ra.ref,
                    path=f"spec.jwtRules[{i}].{name}",
                    detail=f"{i}/{name}",
                    message=(
                        f"RequestAuthentication {ra.namespace}/{ra.name} fetches JWT keys over "
                        f"plain http from outside the cluster ({name} {url})"
                    ),
                    evidence={name: url},
                )


@check(
    id="AUTHZ012",
    title="RequestAuthentication trusts Istio's published sample JWT key",
    category=Category.AUTHORIZATION,
    severity=Severity.HIGH,
    needs=(K_RA,),
    remediation=(
        "Point `jwksUri` at your identity provider's keys; the sample key's private half "
        "(security/tools/jwt/samples/key.pem) is public."
    ),
    references=(SAMPLE_KEY, JWT_TASK, RA_DOCS),
)
def sample_key(ctx: CheckContext) -> Iterator[Result]:
    """Istio's tasks verify tokens with the key set in istio/istio
    `security/tools/jwt/samples/jwks.json`, whose private key is published beside it: anyone
    can mint tokens with any subject, issuer and claims that this key verifies.

    Fires per jwtRules entry whose `jwksUri` is that file (raw.githubusercontent.com or github.com
    URL of the samples directory, any branch) or whose inline `jwks` contains the sample key (its
    `kid` or modulus).
    """
    for ra in ctx.snapshot.objects(K_RA):
        for i, rule in _jwt_rules(ra.spec):
            why = J.sample_key_evidence(rule)
            if not why:
                continue
            field = "jwksUri" if rule.get("jwksUri") else "jwks"
            yield Result(
                resource=ra.ref,
                path=f"spec.jwtRules[{i}].{field}",
                detail=str(i),
                message=(
                    f"RequestAuthentication {ra.namespace}/{ra.name} jwtRules[{i}] (issuer "
                    f"{rule.get('issuer') or '-'}): {why}; its private key is public, so anyone "
                    "can mint accepted tokens"
                ),
                evidence={"issuer": str(rule.get("issuer") or ""), "reason": why},
            )


@check(
    id="AUTHZ013",
    title="Validated JWT forwarded to the upstream service",
    category=Category.AUTHORIZATION,
    severity=Severity.LOW,
    needs=(K_RA,),
    remediation=(
        "Leave `forwardOriginalToken` unset unless the upstream verifies the token itself; pass "
        "only the claims it needs (`outputClaimToHeaders`)."
    ),
    references=(RA_DOCS,),
)
def token_forwarded(ctx: CheckContext) -> Iterator[Result]:
    """With `forwardOriginalToken: true` the bearer token travels on to the application (and
    whatever it logs or calls), and `outputPayloadToHeader` copies the whole payload into a
    header; a leaked token can be replayed until it expires.

    Fires per jwtRules entry with `forwardOriginalToken: true` or an `outputPayloadToHeader`.
    """
    for ra in ctx.snapshot.objects(K_RA):
        for i, rule in _jwt_rules(ra.spec):
            fields = [
                name
                for name in ("forwardOriginalToken", "outputPayloadToHeader")
                if rule.get(name) is True or (name == "outputPayloadToHeader" and rule.get(name))
            ]
            if not fields:
                continue
            yield Result(
                resource=ra.ref,
                path=f"spec.jwtRules[{i}].{fields[0]}",
                detail=str(i),
                message=(
                    f"RequestAuthentication {ra.namespace}/{ra.name} jwtRules[{i}] passes the "
                    f"token upstream ({', '.join(fields)})"
                ),
                evidence={"fields": fields},
            )

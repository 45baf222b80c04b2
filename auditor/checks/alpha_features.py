"""Alpha and experimental Istio features in use, per Istio's feature status table.

Istio's security best practices (#avoid-alpha-and-experimental-features): security issues in
these features may not be fixed promptly nor follow the security vulnerability process. The
table is data (auditor/istio/data/feature_status.yaml) with its source and date; each finding
says when that table is older than six months at the audit's time.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import features as F
from auditor.mesh.index import K_AP, K_ENVOYFILTER, K_RA, K_VS

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/#avoid-alpha-and-experimental-features"
STAGES = "https://istio.io/latest/docs/releases/feature-stages/#istio-features"


def _uses(ctx: CheckContext) -> Iterator[tuple[KObject, str, str]]:
    """(object, field path, feature name) for each use the table covers."""
    for obj in ctx.snapshot.objects(K_ENVOYFILTER):
        yield obj, "spec", "Enabling custom filters in Envoy"
    for obj in ctx.snapshot.objects(K_AP):
        if str(obj.annotations.get(F.DRY_RUN, "")).lower() == "true":
            yield obj, f"metadata.annotations.{F.DRY_RUN}", "Authorization Dry Run"
    for obj in ctx.snapshot.objects(K_VS):
        paths = F.claim_routes(obj.spec)
        if paths:
            yield obj, paths[0], "JWT Claim Based Routing"
    for obj in ctx.snapshot.objects(K_RA):
        paths = F.claims_to_headers(obj.spec)
        if paths:
            yield obj, paths[0], "Copy JWT Claims to HTTP Headers"


@check(
    id="FEAT001",
    title="Alpha or experimental Istio feature in use",
    category=Category.CONFIG,
    severity=Severity.LOW,
    needs=(K_ENVOYFILTER, K_AP, K_VS, K_RA),
    remediation=(
        "Prefer a stable or beta API for the same need (a Telemetry, WasmPlugin or "
        "AuthorizationPolicy instead of an EnvoyFilter; ALLOW/DENY instead of a dry run left "
        "in place), or record the accepted risk as a waiver."
    ),
    references=(PAGE, STAGES),
)
def alpha_feature(ctx: CheckContext) -> Iterator[Result]:
    """Alpha and experimental features carry weaker security guarantees: a vulnerability in
    them may not be fixed right away nor follow Istio's security vulnerability process, and
    an EnvoyFilter patches the proxy's configuration below every API Istio validates.

    Fires per object using a feature Istio's feature status table lists as Alpha or
    Experimental: an EnvoyFilter, an AuthorizationPolicy with `istio.io/dry-run: "true"`, a
    VirtualService matching `@request.auth.claims` headers, a RequestAuthentication with
    `outputClaimToHeaders`. The message names the table's date and says when it is older than
    six months at the audit's time (the report's generated_at).
    """
    table = F.feature_table()
    old = F.stale(table.as_of, ctx.as_of)
    dated = f"feature status table of {table.as_of.isoformat()}" + (
        ", older than six months at this audit" if old else ""
    )
    for obj, path, name in _uses(ctx):
        feature = table.by_name(name)
        yield Result(
            resource=obj.ref,
            path=path,
            message=(
                f"{obj.kind} {obj.namespace}/{obj.name} uses {feature.name}, "
                f"{feature.maturity} in Istio's {dated}"
            ),
            evidence={
                "feature": feature.id,
                "maturity": feature.maturity,
                "table_date": table.as_of.isoformat(),
                "table_stale": old,
            },
        )

"""Authorization checks judged on the access model (auditor/mesh/authorization.py): what all the
policies that apply to a workload decide together, in Istio's order CUSTOM, DENY, ALLOW."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.istio import authz as A
from auditor.istio import waypoint as WP
from auditor.istio.meshconfig import path_normalization
from auditor.mesh.authorization import WorkloadAuthz, applying_to, build_authorization, policies
from auditor.mesh.index import (
    K_AP,
    K_DEPLOYMENT,
    K_GATEWAY,
    K_NAMESPACE,
    K_POD,
    K_SERVICE,
    MeshIndex,
)
from auditor.mesh.waypoints import waypoint_map

AP_DOCS = "https://istio.io/latest/docs/reference/config/security/authorization-policy/"
BEST_PRACTICES = "https://istio.io/latest/docs/ops/best-practices/security/"
SAFER_PATTERN = (
    BEST_PRACTICES + "#use-allow-with-positive-matching-and-deny-with-negative-match-patterns"
)
NORMALIZATION = BEST_PRACTICES + "#customize-your-system-on-path-normalization"
AUTHZ_CONCEPT = "https://istio.io/latest/docs/concepts/security/#authorization"
KIALI_UNCOVERED = (
    "https://kiali.io/docs/features/validations/"
    "#kia1301---this-workload-is-not-covered-by-any-authorization-policy"
)
# tetratelabs/istio-security-analyzer pkg/parser/parser.go: "found negative matches in allow
# policy" (AUTHZ008) and "found positive matches in deny policy" (AUTHZ009 is the narrower,
# mechanism-backed case: positive paths without slash-merging normalization)
TETRATE = "https://github.com/tetratelabs/istio-security-analyzer"
EVIDENCE_LIMIT = 20


def _ap_ref(index: MeshIndex, key: str) -> ResourceRef:
    ns, name = key.split("/", 1)
    obj = index.snapshot.get(K_AP, ns, name)
    assert obj is not None
    return obj.ref


def _namespace_ref(name: str) -> ResourceRef:
    return ResourceRef(group="", kind="Namespace", namespace="", name=name, api_version="v1")


def _shown(entries: list[WorkloadAuthz]) -> list[str]:
    names = [e.display + (" (exposed)" if e.exposed else "") for e in entries]
    if len(names) > EVIDENCE_LIMIT:
        return [*names[:EVIDENCE_LIMIT], f"... and {len(names) - EVIDENCE_LIMIT} more"]
    return names


# why AUTHZ006/AUTHZ007 are high rather than medium
EXPOSED_WORKLOAD = "a workload it leaves open is reachable from outside the cluster"


@check(
    id="AUTHZ006",
    title="Workloads that take traffic have no AuthorizationPolicy at all",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_AP, K_SERVICE, K_DEPLOYMENT, K_POD, K_GATEWAY, K_NAMESPACE),
    remediation=(
        "Start from default-deny (an ALLOW policy with `spec: {}` in the namespace, or in the "
        "root namespace for the mesh) and ALLOW the callers each workload needs by "
        "`from.source.principals` or `namespaces`."
    ),
    references=(BEST_PRACTICES, AUTHZ_CONCEPT, KIALI_UNCOVERED),
)
def no_policy(ctx: CheckContext) -> Iterator[Result]:
    """Without any AuthorizationPolicy a workload accepts every request: any pod in any
    namespace, and under PERMISSIVE mTLS any client without a sidecar, may call it.

    Considers in-mesh workloads (not gateways) that a Service selects, so something can call
    them; an ambient workload whose traffic passes a waypoint with policies attached counts as
    covered (ambient L7 policies attach to the waypoint, not to the workload). With no
    enforced AuthorizationPolicy anywhere, fires once for the mesh (on the root
    namespace); otherwise once per namespace in which none of those workloads has any policy
    applying (root-namespace policies count). High when one of them is a backend of an entry
    point reachable from outside the cluster (the exposure map), medium otherwise (Kiali
    KIA1301 reports the same per workload).
    """
    model = build_authorization(ctx.index)
    callable_ = [e for e in model if e.role == "workload" and e.services]
    if not callable_:
        return
    if not any(p.enforced for p in policies(ctx.index)):
        root = ctx.mesh.root_namespace
        exposed = [e for e in callable_ if e.open_to_internet]
        yield Result(
            resource=_namespace_ref(root),
            path="",
            detail="mesh",
            severity=Severity.HIGH if exposed else None,
            severity_reason=EXPOSED_WORKLOAD,
            message=(
                f"No AuthorizationPolicy is enforced anywhere in the mesh: {len(callable_)} "
                "workload(s) behind Services accept requests from any caller"
                + (
                    f", {len(exposed)} of them reachable from outside the cluster"
                    if exposed
                    else ""
                )
            ),
            evidence={"workloads": _shown(callable_), "policies": []},
        )
        return
    by_ns: dict[str, list[WorkloadAuthz]] = {}
    for e in model:
        if e.role == "workload":
            by_ns.setdefault(e.ref.namespace, []).append(e)
    attached = _waypoint_policies(ctx.index)
    for ns in sorted(by_ns):
        entries = by_ns[ns]
        if any(e.posture.has_policy or _behind_guarded(ctx.index, e, attached) for e in entries):
            continue
        targets = [e for e in entries if e.services]
        if not targets:
            continue
        exposed = [e for e in targets if e.open_to_internet]
        yield Result(
            resource=_namespace_ref(ns),
            path="",
            detail=ns,
            severity=Severity.HIGH if exposed else None,
            severity_reason=EXPOSED_WORKLOAD,
            message=(
                f"No AuthorizationPolicy applies to any workload in namespace {ns}: "
                f"{len(targets)} workload(s) behind Services accept requests from any caller"
                + (
                    f", {len(exposed)} of them reachable from outside the cluster"
                    if exposed
                    else ""
                )
            ),
            evidence={"workloads": _shown(targets), "policies": []},
        )


def _waypoint_policies(index: MeshIndex) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Enforced policies attached to ambient waypoints: ((namespace, Service or ServiceEntry
    name) targeted, (namespace, Gateway name) targeted)."""
    services: set[tuple[str, str]] = set()
    gateways: set[tuple[str, str]] = set()
    for pol in policies(index):
        if not pol.enforced:
            continue
        for ref in pol.target_refs:
            kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
            if kind in ("Service", "ServiceEntry"):
                services.add((pol.namespace, name))
            elif kind == "Gateway":
                gateways.add((pol.namespace, name))
    return services, gateways


def _behind_guarded(
    index: MeshIndex, entry: WorkloadAuthz, attached: tuple[set[tuple[str, str]], ...]
) -> bool:
    """An ambient workload whose traffic passes a waypoint that enforces a policy for it (ambient
    L7 policies attach to the waypoint or to the Service with targetRefs, not to the
    workload)."""
    if entry.workload is None or entry.mode != "ambient":
        return False
    services, gateways = attached
    for svc in index.services_for(entry.workload):
        used = WP.binding_in_use(waypoint_map(index).service(svc))
        if used is None:
            continue
        if (svc.namespace, svc.name) in services or (used.namespace, used.name) in gateways:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Bypass:
    weak: str  # policy key
    rule: int
    strong: tuple[str, ...]  # "ns/name spec.rules[i]"
    workloads: tuple[WorkloadAuthz, ...]


def bypasses(index: MeshIndex) -> dict[tuple[str, int], Bypass]:
    """ALLOW rules decided only by client-controlled attributes that sit, on one workload, beside
    ALLOW rules requiring an identity: ALLOW policies are ORed, so the weak rule lets any caller
    past the identity requirement."""
    found: dict[tuple[str, int], tuple[set[str], list[WorkloadAuthz]]] = {}
    for entry in build_authorization(index):
        posture = entry.posture
        if posture.default != "restricted" or posture.identity_guarded:
            continue
        rules = [(p.key, i, r) for p in posture.by_action("ALLOW") for i, r in enumerate(p.rules)]
        strong = {f"{k} spec.rules[{i}]" for k, i, r in rules if A.requires_identity(r)}
        if not strong:
            continue
        for key, i, rule in rules:
            if A.client_controlled_only(rule):
                slot = found.setdefault((key, i), (set(), []))
                slot[0].update(strong)
                slot[1].append(entry)
    return {
        k: Bypass(weak=k[0], rule=k[1], strong=tuple(sorted(s)), workloads=tuple(w))
        for k, (s, w) in found.items()
    }


@check(
    id="AUTHZ007",
    title="An ALLOW rule on client-controlled attributes bypasses an identity requirement",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_AP, K_DEPLOYMENT, K_POD),
    remediation=(
        "Give the weak rule a caller identity too (`from.source.principals`, `namespaces` or "
        "`requestPrincipals`), or narrow it to the public paths it is for with positive "
        "`to.operation.paths`; headers are written by the client and prove nothing."
    ),
    references=(AP_DOCS, SAFER_PATTERN),
)
def or_bypass(ctx: CheckContext) -> Iterator[Result]:
    """ALLOW policies (and the rules inside one) are combined with OR: a request is allowed when
    any rule matches. A rule that names no caller and whose only conditions are attributes the
    client chooses (request headers, Host, or exclusions such as `notPaths` / `notValues`)
    admits any caller that writes the right header, so a rule beside it that requires a
    principal or a JWT protects nothing.

    Fires per such weak rule on a workload that also has an ALLOW rule requiring an identity,
    unless a CUSTOM or a DENY-without-JWT policy on the workload still demands a credential.
    High when an affected workload is reachable from outside the cluster. Evidence names the
    weak rule, the rules it bypasses and the workloads.
    """
    for (key, i), found in sorted(bypasses(ctx.index).items()):
        exposed = any(e.open_to_internet for e in found.workloads)
        yield Result(
            resource=_ap_ref(ctx.index, key),
            path=f"spec.rules[{i}]",
            detail=str(i),
            severity=Severity.HIGH if exposed else None,
            severity_reason=EXPOSED_WORKLOAD,
            message=(
                f"AuthorizationPolicy {key} spec.rules[{i}] allows any caller that sets the "
                f"request attributes it tests; ORed with {', '.join(found.strong)}, it bypasses "
                f"their identity requirement on {', '.join(e.display for e in found.workloads)}"
            ),
            evidence={
                "weak_rule": f"{key} spec.rules[{i}]",
                "bypassed_rules": list(found.strong),
                "workloads": _shown(list(found.workloads)),
            },
        )


@check(
    id="AUTHZ008",
    title="ALLOW AuthorizationPolicy matches by exclusion (notPaths, notValues, ...)",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.LOW, Severity.MEDIUM),
    needs=(K_AP,),
    remediation=(
        "Use ALLOW with positive matches only (`paths`, `methods`, `values`); express the "
        "exclusion as a DENY with a negative match, or list what is allowed."
    ),
    references=(SAFER_PATTERN, AP_DOCS, TETRATE),
)
def allow_negative_match(ctx: CheckContext) -> Iterator[Result]:
    """Istio's security best practices: use ALLOW only with positive matching. An ALLOW rule
    with `notPaths`, `notMethods`, `notHosts`, `notPorts`, `not*` sources or `notValues` allows
    everything it does not list, including spellings of a path the author never thought of, so
    a mismatch is a bypass instead of a 403.

    Fires per enforced ALLOW rule with a negative match (one finding per rule, the fields in the
    evidence); medium when the rule names no caller identity, low when it also requires one. A
    rule already reported as an identity bypass (AUTHZ007) is not reported again.
    """
    already = set(bypasses(ctx.index))
    for ap in ctx.snapshot.objects(K_AP):
        policy = A.parse_policy(ap.namespace, ap.name, ap.spec, ap.annotations)
        if policy.action != "ALLOW" or not policy.enforced:
            continue
        for i, rule in enumerate(ap.spec.get("rules") or ()):
            if not isinstance(rule, dict) or (policy.key, i) in already:
                continue
            fields = A.negative_fields(rule)
            if not fields:
                continue
            identity = A.requires_identity(rule)
            yield Result(
                resource=ap.ref,
                path=f"spec.rules[{i}].{fields[0]}",
                detail=str(i),
                severity=Severity.LOW if identity else None,
                severity_reason="the rule also requires a caller identity",
                message=(
                    f"AuthorizationPolicy {policy.key} spec.rules[{i}] ALLOWs by exclusion "
                    f"({', '.join(fields)}): every request not listed is allowed"
                    + ("" if identity else ", from any caller")
                ),
                evidence={"fields": fields, "requires_identity": identity},
            )


@check(
    id="AUTHZ009",
    title="DENY on request paths without slash-merging path normalization",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    needs=(K_AP,),
    remediation=(
        "Set `meshConfig.pathNormalization.normalization: MERGE_SLASHES` (or "
        "`DECODE_AND_MERGE_SLASHES` when the application decodes %2F), or turn the policy into "
        "an ALLOW on the permitted paths (DENY with `notPaths`)."
    ),
    references=(NORMALIZATION, SAFER_PATTERN, TETRATE),
)
def deny_paths_unnormalized(ctx: CheckContext) -> Iterator[Result]:
    """A DENY on `paths` is evaluated against the path after the mesh's normalization. Istio's
    default (`BASE`) resolves `..` and backslashes but neither merges `//` nor decodes `%2F`,
    so `//admin` or `/admin%2F..` can miss the DENY while the application still serves
    `/admin`.

    Fires per enforced DENY rule with positive `to.operation.paths` when
    `meshConfig.pathNormalization.normalization` is not `MERGE_SLASHES` or
    `DECODE_AND_MERGE_SLASHES`, unless the policy applies only to ambient workloads (ztunnel
    enforces it without its paths: AMB001 and AMB004 report that).
    """
    mode = path_normalization(ctx.mesh)
    if mode in A.SAFE_NORMALIZATION:
        return
    for ap in ctx.snapshot.objects(K_AP):
        policy = A.parse_policy(ap.namespace, ap.name, ap.spec, ap.annotations)
        if policy.action != "DENY" or not policy.enforced:
            continue
        applied = applying_to(ctx.index, policy)
        if applied and all(e.role == "workload" and e.mode == "ambient" for e in applied):
            continue  # only ztunnel enforces it, without the paths (AMB001, AMB004)
        for i, rule in enumerate(policy.rules):
            where = A.deny_paths_unnormalized(rule)
            if not where:
                continue
            yield Result(
                resource=ap.ref,
                path=f"spec.rules[{i}].{where[0]}",
                detail=str(i),
                message=(
                    f"AuthorizationPolicy {policy.key} DENYs by path (spec.rules[{i}]) while "
                    f"path normalization is {mode}: spellings such as `//path` are not merged "
                    "and pass the DENY"
                ),
                evidence={"path_normalization": mode, "fields": where},
            )

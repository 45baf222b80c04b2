"""AuthorizationPolicy checks: who may use the egress gateway, and policies that match nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import authz as A
from auditor.mesh.authorization import applying_to, build_authorization
from auditor.mesh.egress_routing import egress_routing
from auditor.mesh.index import (
    K_AP,
    K_DEPLOYMENT,
    K_GATEWAY,
    K_NAMESPACE,
    K_POD,
    K_RA,
    K_SE,
    K_SERVICE,
    K_VS,
)

AP_DOCS = "https://istio.io/latest/docs/reference/config/security/authorization-policy/"
EGRESS_GW_DOCS = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/"
EGRESS_POLICY_TASK = "https://istio.io/latest/docs/tasks/security/authorization/authz-egress/"
IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"
BEST_PRACTICES = "https://istio.io/latest/docs/ops/best-practices/security/"
KIALI = "https://kiali.io/docs/features/validations/#{anchor}"


def _selector(ap: KObject) -> Mapping[str, str]:
    return (ap.spec.get("selector") or {}).get("matchLabels") or {}


@check(
    id="AUTHZ001",
    title="Egress gateway has no AuthorizationPolicy restricting who may use it",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    needs=(K_AP, K_GATEWAY, K_VS, K_SE, K_SERVICE, K_DEPLOYMENT, K_POD),
    remediation=(
        "Apply an AuthorizationPolicy in the egress gateway's namespace, selecting its pods, "
        "that ALLOWs only the namespaces or service accounts that may reach each external host "
        "(`from.source.namespaces` / `principals`, with `to.operation.hosts`)."
    ),
    references=(EGRESS_POLICY_TASK, EGRESS_GW_DOCS, AP_DOCS),
)
def egress_gateway_unrestricted(ctx: CheckContext) -> Iterator[Result]:
    """Routing egress through a gateway is only a checkpoint if the gateway checks callers:
    without a policy, any workload (any namespace, any identity) may use it to reach every
    host it serves.

    Fires once per egress gateway workload (the pods that one or more egress Gateways select:
    Gateways carrying routed external hosts, or selecting `istio: egressgateway` pods) whose
    authorization model (auditor/istio/authz.py, every policy that applies: root namespace,
    namespace, selector) does not restrict callers: no deny-all, an ALLOW rule that admits a
    caller without naming its principal, namespace or IP block, and no DENY on
    `notPrincipals`/`notNamespaces`. The finding is on the workload and lists its Gateways.
    """
    model = {(e.ref.key): e for e in build_authorization(ctx.index)}
    gateways_of: dict[str, list[KObject]] = {}
    for gw in egress_routing(ctx.index).egress_gateways():
        for w in ctx.index.gateway_workloads(gw):
            if not w.owned:
                gateways_of.setdefault(w.obj.ref.key, []).append(gw)
    for key in sorted(gateways_of):
        entry = model.get(key)
        if entry is None or A.restricts_callers(entry.posture):
            continue
        names = sorted({f"{g.namespace}/{g.name}" for g in gateways_of[key]})
        applying = [p.key for p in entry.posture.policies if p.enforced]
        yield Result(
            resource=entry.ref,
            path=f"{entry.workload.meta_path}.labels" if entry.workload else "metadata.labels",
            message=(
                f"Egress gateway {entry.display} (Gateway {', '.join(names)}) has no "
                "AuthorizationPolicy restricting which namespaces or service accounts may use it"
                + (f" (policies applying: {', '.join(applying)})" if applying else "")
            ),
            evidence={"gateways": names, "policies": applying, "default": entry.posture.default},
        )


@check(
    id="AUTHZ002",
    title="AuthorizationPolicy matches no workload",
    category=Category.AUTHORIZATION,
    severity=Severity.LOW,
    needs=(K_AP, K_POD, K_DEPLOYMENT, K_NAMESPACE),
    remediation="Fix the selector (or namespace) so the policy applies where it was meant to.",
    references=(
        AP_DOCS,
        IST_DOCS.format(code="ist0127"),
        KIALI.format(
            anchor="kia0004---no-matching-workload-found-for-the-selector-in-this-namespace"
        ),
    ),
    ist_codes=("IST0127",),
)
def policy_matches_nothing(ctx: CheckContext) -> Iterator[Result]:
    """A policy that selects no mesh workload enforces nothing, while its author believes the
    workload protected.

    Fires per AuthorizationPolicy whose selector (or, without one, whose namespace) matches no
    in-mesh pod or pod template; a selector-less policy in the root namespace is mesh-wide and
    never fires (IST0127).
    """
    root = ctx.mesh.root_namespace
    for ap in ctx.snapshot.objects(K_AP):
        selector = _selector(ap)
        if ap.namespace == root and not selector:
            continue
        namespace = None if ap.namespace == root else ap.namespace
        candidates = ctx.index.select_workloads(selector or None, namespace)
        if any(ctx.index.mesh_status(w).in_mesh for w in candidates):
            continue
        shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        where = "anywhere in the mesh" if namespace is None else f"in namespace {ap.namespace}"
        yield Result(
            resource=ap.ref,
            path="spec.selector" if selector else "metadata.namespace",
            message=(
                f"AuthorizationPolicy {ap.namespace}/{ap.name} "
                + (
                    f"selects {shown}, but no mesh workload {where} has it"
                    if selector
                    else f"applies to namespace {ap.namespace}, which has no mesh workloads"
                )
            ),
            evidence={"selector": dict(selector)},
        )


def _namespace_matches(pattern: str, name: str) -> bool:
    """AuthorizationPolicy namespace matching: exact, `*`, prefix `x*` or suffix `*x`."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern.lower() == name.lower()


@check(
    id="AUTHZ003",
    title="AuthorizationPolicy names a source namespace that does not exist",
    category=Category.AUTHORIZATION,
    severity=Severity.LOW,
    needs=(K_AP, K_NAMESPACE),
    remediation="Fix the namespace name or pattern in `from.source.namespaces`.",
    references=(
        AP_DOCS,
        IST_DOCS.format(code="ist0101"),
        KIALI.format(anchor="kia0101---namespace-not-found-for-this-rule"),
    ),
    ist_codes=("IST0101",),
)
def policy_unknown_namespace(ctx: CheckContext) -> Iterator[Result]:
    """A rule on a namespace that does not exist allows (or denies) nobody, so the intended
    caller is refused, or the intended exclusion silently does nothing.

    Fires per `namespaces` / `notNamespaces` entry that matches no Namespace (IST0101); not at
    all when the input holds no Namespace objects (nothing to compare with).
    """
    names = [ns.name for ns in ctx.snapshot.objects(K_NAMESPACE)]
    if not names:
        return
    for ap in ctx.snapshot.objects(K_AP):
        for i, rule in enumerate(ap.spec.get("rules") or ()):
            for j, f in enumerate(rule.get("from") or ()):
                src = f.get("source") or {}
                for key in ("namespaces", "notNamespaces"):
                    for k, pattern in enumerate(src.get(key) or ()):
                        if any(_namespace_matches(pattern, n) for n in names):
                            continue
                        path = f"spec.rules[{i}].from[{j}].source.{key}[{k}]"
                        yield Result(
                            resource=ap.ref,
                            path=path,
                            detail=path,
                            message=(
                                f"AuthorizationPolicy {ap.namespace}/{ap.name} names source "
                                f"namespace {pattern!r}, which matches no namespace"
                            ),
                            evidence={"namespace": pattern},
                        )


@check(
    id="AUTHZ004",
    title="ALLOW AuthorizationPolicy with an empty rule allows every request",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_AP,),
    remediation=(
        "Replace the empty rule with rules naming the callers (`from.source.principals` or "
        "`namespaces`) and operations (`to.operation`) that are meant to be allowed, or delete "
        "the policy."
    ),
    references=(AP_DOCS, BEST_PRACTICES),
)
def allow_all_rule(ctx: CheckContext) -> Iterator[Result]:
    """An ALLOW policy whose rule is empty (`rules: [{}]`) matches every request.

    ALLOW policies are combined with OR, so one allow-all rule makes every other ALLOW policy on
    the same workloads meaningless: any caller, from inside or outside the mesh, may call any
    path. Without a selector it covers the whole namespace, and in the root namespace the whole
    mesh (then high). Fires per ALLOW policy (action unset or ALLOW, not dry-run) with at least
    one rule that has no `from`, `to` or `when`, judged in context: Istio evaluates CUSTOM and
    DENY before ALLOW, so when every workload the policy applies to is still guarded by an
    enforced CUSTOM (ext-authz) policy or a DENY on `notRequestPrincipals` (the oauth2-proxy
    ingress pattern: root deny-all, CUSTOM, DENY without a JWT, ALLOW `[{}]` re-open), the empty
    rule only re-opens what those still check, and it does not fire. The evidence names the
    policies that guard or fail to guard.
    """
    root = ctx.mesh.root_namespace
    for ap in ctx.snapshot.objects(K_AP):
        policy = A.parse_policy(ap.namespace, ap.name, ap.spec, ap.annotations)
        if policy.action != "ALLOW" or not policy.enforced:
            continue
        for i, rule in enumerate(ap.spec.get("rules") or ()):
            if not isinstance(rule, Mapping) or not A.is_empty_rule(rule):
                continue
            covered = applying_to(ctx.index, policy)
            if covered and all(e.posture.identity_guarded for e in covered):
                break
            selector = _selector(ap)
            if selector:
                shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
                scope = f"workloads labelled {shown} in namespace {ap.namespace}"
            elif ap.namespace == root:
                scope = "every workload in the mesh (root namespace, no selector)"
            else:
                scope = f"every workload in namespace {ap.namespace}"
            guards = sorted(
                {
                    p.key
                    for e in covered
                    for p in e.posture.policies
                    if p.enforced and p.action in ("CUSTOM", "DENY")
                }
            )
            yield Result(
                resource=ap.ref,
                path=f"spec.rules[{i}]",
                detail=str(i),
                severity=Severity.HIGH if ap.namespace == root and not selector else None,
                severity_reason="it applies to every workload in the mesh",
                message=(
                    f"AuthorizationPolicy {ap.namespace}/{ap.name} has an empty ALLOW rule "
                    f"(spec.rules[{i}]): any caller may send any request to {scope}"
                ),
                evidence={
                    "rule": {},
                    "selector": dict(selector),
                    "workloads": [e.display for e in covered],
                    "custom_or_deny_policies": guards,
                },
            )
            break


GATEWAY_NAME_LABEL = A.GATEWAY_NAME_LABEL


@check(
    id="AUTHZ005",
    title="Policy selects a Gateway API gateway by label instead of targetRefs",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    needs=(K_AP, K_RA, K_POD, K_DEPLOYMENT),
    remediation=(
        "Attach the policy with `targetRefs: [{kind: Gateway, group: "
        "gateway.networking.k8s.io, name: <gateway>}]` instead of `selector`."
    ),
    references=(
        AP_DOCS,
        "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/",
        IST_DOCS.format(code="ist0166"),
    ),
    ist_codes=("IST0166",),
)
def selector_on_k8s_gateway(ctx: CheckContext) -> Iterator[Result]:
    """An AuthorizationPolicy or RequestAuthentication that selects a Gateway API gateway's pods
    with `selector` reaches them only through istiod's compatibility switch
    ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY (on by default; pilot/pkg/model/policyattachment.go):
    `targetRefs` is the supported attachment and istioctl reports the selector as ineffective
    (IST0166).

    With the switch off (or when Istio drops it) the edge silently stops enforcing the policy (an
    IP allow-list, a JWT requirement) and every request passes unchecked. Fires per policy without
    targetRef(s) whose selector matches a pod or pod template in its namespace that carries the
    `gateway.networking.k8s.io/gateway-name` label (IST0166). The access model counts the policy
    as applying, as istiod does by default.
    """
    for key in (K_AP, K_RA):
        for policy in ctx.snapshot.objects(key):
            spec = policy.spec
            selector = (spec.get("selector") or {}).get("matchLabels") or {}
            if not selector or spec.get("targetRef") or spec.get("targetRefs"):
                continue
            gateways = sorted(
                {
                    str(w.labels[GATEWAY_NAME_LABEL])
                    for w in ctx.index.select_workloads(selector, policy.namespace)
                    if GATEWAY_NAME_LABEL in w.labels
                }
            )
            if not gateways:
                continue
            yield Result(
                resource=policy.ref,
                path="spec.selector",
                message=(
                    f"{policy.kind} {policy.namespace}/{policy.name} selects the pods of Gateway "
                    f"API gateway(s) {', '.join(gateways)} by label; Istio applies it there only "
                    "while istiod's ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on (IST0166: use "
                    "targetRefs)"
                ),
                evidence={"selector": dict(selector), "gateways": gateways},
            )

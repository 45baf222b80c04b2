"""Ambient mode: the policies that need a waypoint (AMB area; the waypoint bindings themselves,
opt-outs and routes are in ambient_waypoints.py).

ztunnel enforces AuthorizationPolicies at L4 only; HTTP rules, routes and `targetRefs` policies
need a waypoint (a Gateway API Gateway of class `istio-waypoint`) that the destination is
enrolled in with `istio.io/use-waypoint`. The binding rules and ztunnel's handling of policy
rules are in auditor/istio/waypoint.py, applied per object by
`waypoint_map(index)` (auditor/mesh/waypoints.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.kinds import ISTIO_NET
from auditor.input.snapshot import KObject
from auditor.istio import authz as A
from auditor.istio import waypoint as WP
from auditor.mesh.authorization import policy_objects
from auditor.mesh.index import (
    K_AP,
    K_DEPLOYMENT,
    K_KGATEWAY,
    K_NAMESPACE,
    K_POD,
    K_SE,
    K_SERVICE,
    Workload,
)
from auditor.mesh.waypoints import waypoint_map
from auditor.mesh.ztunnel import ambient_workloads, ztunnel_policies

WAYPOINT_DOCS = "https://istio.io/latest/docs/ambient/usage/waypoint/"
L4_POLICY_DOCS = "https://istio.io/latest/docs/ambient/usage/l4-policy/"
AMBIENT_AUTHZ_DOCS = "https://istio.io/latest/docs/ambient/usage/authorization-policy/"
L7_DOCS = "https://istio.io/latest/docs/ambient/usage/l7-features/"
ADD_WORKLOADS_DOCS = "https://istio.io/latest/docs/ambient/usage/add-workloads/"
EVIDENCE_LIMIT = 20


def workload_name(w: Workload) -> str:
    return f"{w.obj.kind} {w.namespace}/{w.obj.name}"


def _limited(names: list[str]) -> list[str]:
    if len(names) > EVIDENCE_LIMIT:
        return [*names[:EVIDENCE_LIMIT], f"... and {len(names) - EVIDENCE_LIMIT} more"]
    return names


def _effect(view: WP.ZtunnelView) -> str:
    if view.action == "ALLOW" and view.allows_nothing:
        return (
            "ztunnel drops every rule with HTTP attributes from an ALLOW policy, so this policy "
            "allows nothing and every connection to them is refused"
        )
    if view.action == "ALLOW":
        return (
            "ztunnel drops the rules with HTTP attributes from an ALLOW policy, so the callers "
            "they admit are refused"
        )
    return (
        "ztunnel enforces a DENY rule without its HTTP attributes, so it refuses every "
        "connection the rest of the rule matches"
    )


@check(
    id="AMB001",
    title="HTTP authorization rules on ambient workloads that have no waypoint",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    needs=(K_AP, K_KGATEWAY, K_SERVICE, K_DEPLOYMENT, K_POD, K_NAMESPACE),
    remediation=(
        "Deploy a waypoint (a Gateway of class istio-waypoint), enrol the workloads' Services "
        "or namespace with the istio.io/use-waypoint label, and attach the HTTP rules to it "
        "with targetRefs (kind Service or Gateway); keep only L4 rules (principals, "
        "namespaces, ports, IP blocks) in selector policies."
    ),
    references=(L4_POLICY_DOCS, AMBIENT_AUTHZ_DOCS, WAYPOINT_DOCS),
)
def l7_rules_without_waypoint(ctx: CheckContext) -> Iterator[Result]:
    """Without a waypoint, ztunnel is the only enforcement point, and it cannot read HTTP.

    Istio sends a selector (or namespace-wide) AuthorizationPolicy to ztunnel. A rule with HTTP
    attributes (methods, paths, hosts, request principals, remote IP blocks, or a `when` key
    other than source.ip, source.namespace, source.principal, destination.ip and
    destination.port) is dropped from an ALLOW policy, so it admits nobody, and enforced
    without its HTTP parts in a DENY policy, so it refuses more than written (istiod's
    convertAuthorizationPolicy; the ambient L4 policy guide: "ztunnel proxy will simply drop
    all traffic as a defensive move"). The policy does not do what it says. Fires per such
    ALLOW or DENY policy (not dry-run) that applies to ambient workloads with no waypoint in
    their path; workloads behind a waypoint are AMB004's.
    """
    for zp in ztunnel_policies(ctx.index):
        if not zp.view.l7_rules or not zp.no_waypoint:
            continue
        names = [workload_name(w) for w in zp.no_waypoint]
        yield Result(
            resource=zp.obj.ref,
            path=f"spec.rules[{zp.view.l7_rules[0]}]",
            message=(
                f"AuthorizationPolicy {zp.obj.namespace}/{zp.obj.name} ({zp.policy.action}) has "
                f"HTTP rules ({', '.join(zp.view.attributes[:4])}) and applies to ambient "
                f"workloads with no waypoint ({', '.join(names[:3])}"
                + (", ..." if len(names) > 3 else "")
                + f"): {_effect(zp.view)}"
            ),
            evidence={
                "action": zp.policy.action,
                "http_attributes": list(zp.view.attributes),
                "workloads": _limited(names),
                "allows_nothing": zp.view.allows_nothing,
            },
        )


@check(
    id="AMB004",
    title="Selector AuthorizationPolicy on ambient workloads behind a waypoint",
    category=Category.AUTHORIZATION,
    severity=Severity.MEDIUM,
    needs=(K_AP, K_KGATEWAY, K_SERVICE, K_DEPLOYMENT, K_POD, K_NAMESPACE),
    remediation=(
        "Attach caller and HTTP rules to the waypoint with targetRefs (kind Service, or kind "
        "Gateway for the whole waypoint); in the selector policy that ztunnel enforces, allow "
        "the waypoint's own identity (cluster.local/ns/<namespace>/sa/<waypoint>)."
    ),
    references=(AMBIENT_AUTHZ_DOCS, L7_DOCS, WAYPOINT_DOCS),
)
def selector_policy_behind_waypoint(ctx: CheckContext) -> Iterator[Result]:
    """A selector policy is never applied by the waypoint: ztunnel enforces it, after the
    waypoint, where the caller is the waypoint.

    In ambient mode the waypoint takes only policies attached with targetRefs; a policy with a
    selector (or none) goes to the destination's ztunnel, which sees the waypoint's identity
    on traffic the waypoint relays (Istio's ambient authorization guide). Such a policy was
    meant for the waypoint when it has HTTP rules (ztunnel drops them from ALLOW and widens
    DENY ones) or when it is an ALLOW policy naming callers by identity but not the waypoint's
    own identity, which refuses every request that came through the waypoint (the ambient
    getting-started guide adds the waypoint's principal for this reason). Fires per such
    policy (not dry-run) applying to ambient workloads whose Services or pod IPs use a waypoint.
    """
    td = ctx.mesh.trust_domain
    for zp in ztunnel_policies(ctx.index):
        if not zp.behind_waypoint:
            continue
        names = [workload_name(w) for w, _ in zp.behind_waypoint]
        waypoints = sorted({wp.key for _, path in zp.behind_waypoint for _, wp in path})
        if zp.view.l7_rules:
            why = f"its HTTP rules ({', '.join(zp.view.attributes[:4])}) reach only ztunnel: "
            why += _effect(zp.view)
            path = f"spec.rules[{zp.view.l7_rules[0]}]"
        elif zp.policy.action == "ALLOW" and _names_callers(zp.policy.rules):
            refused = []
            for wp_key in waypoints:
                wp = next(wp for _, p in zp.behind_waypoint for _, wp in p if wp.key == wp_key)
                ns, account = waypoint_map(ctx.index).identity(wp)
                if not WP.admits_identity(zp.policy.rules, zp.obj.namespace, ns, account, td):
                    refused.append(f"{td}/ns/{ns}/sa/{account}")
            if not refused:
                continue
            why = (
                "ztunnel sees the waypoint as the caller, and the policy does not allow "
                f"{', '.join(refused)}: every request relayed by the waypoint is refused"
            )
            path = "spec.rules"
        else:
            continue
        yield Result(
            resource=zp.obj.ref,
            path=path,
            message=(
                f"AuthorizationPolicy {zp.obj.namespace}/{zp.obj.name} selects ambient workloads "
                f"behind waypoint {', '.join(waypoints)} ({', '.join(names[:3])}"
                + (", ..." if len(names) > 3 else "")
                + f"), but the waypoint never applies a selector policy; {why}"
            ),
            evidence={
                "action": zp.policy.action,
                "waypoints": waypoints,
                "workloads": _limited(names),
                "http_attributes": list(zp.view.attributes),
            },
        )


def _names_callers(rules: tuple[Mapping[str, object], ...]) -> bool:
    for rule in rules:
        for entry in rule.get("from") or ():  # type: ignore[attr-defined]
            src = entry.get("source") if isinstance(entry, Mapping) else None
            if isinstance(src, Mapping) and any(
                src.get(k) for k in ("principals", "namespaces", "serviceAccounts")
            ):
                return True
    return False


# ---- targetRefs that no waypoint serves -------------------------------------------------------

CORE_GROUPS = ("", "core")  # how a parentRef or targetRef names the core API group


def _target_state(ctx: CheckContext, namespace: str, ref: Mapping[str, object]) -> str:
    """Why a targetRef of a policy in `namespace` reaches no enforcement point ("" if it does)."""
    group, kind = str(ref.get("group") or ""), str(ref.get("kind") or "")
    name = str(ref.get("name") or "")
    ref_ns = str(ref.get("namespace") or namespace)
    if ref_ns != namespace:
        return f"it names {kind} {ref_ns}/{name} in another namespace, which Istio ignores"
    if kind == "Service" and group in CORE_GROUPS:
        svc = ctx.snapshot.get(K_SERVICE, namespace, name)
        if svc is None:
            return f"no Service {namespace}/{name} is in the input"
        return _no_waypoint(ctx, svc)
    if kind == "ServiceEntry" and group == ISTIO_NET:
        se = ctx.snapshot.get(K_SE, namespace, name)
        if se is None:
            return f"no ServiceEntry {namespace}/{name} is in the input"
        return _no_waypoint(ctx, se)
    if (
        kind == "Gateway"
        and group == A.GATEWAY_API_GROUP
        and ctx.snapshot.get(K_KGATEWAY, namespace, name) is None
    ):
        return f"no Gateway {namespace}/{name} is in the input"
    return ""


def _no_waypoint(ctx: CheckContext, obj: KObject) -> str:
    binding = waypoint_map(ctx.index).service(obj)
    if WP.binding_in_use(binding) is not None:
        return ""
    return f"{obj.kind} {obj.namespace}/{obj.name} has no waypoint ({binding.reason})"


@check(
    id="AMB002",
    title="AuthorizationPolicy attached with targetRefs that no waypoint enforces",
    category=Category.AUTHORIZATION,
    severity=Severity.HIGH,
    needs=(K_AP, K_KGATEWAY, K_SERVICE, K_SE, K_NAMESPACE),
    remediation=(
        "Enrol the Service (or ServiceEntry, or its namespace) in a waypoint with the "
        "istio.io/use-waypoint label naming a Gateway of class istio-waypoint that takes "
        "service traffic, or fix the targetRef's name; until then the policy protects nothing."
    ),
    references=(L7_DOCS, WAYPOINT_DOCS, AMBIENT_AUTHZ_DOCS),
)
def target_refs_without_waypoint(ctx: CheckContext) -> Iterator[Result]:
    """A policy attached with targetRefs is enforced only by the waypoint or gateway it names
    or serves; with none, it is enforced nowhere.

    istiod never sends a targetRefs policy to ztunnel or to sidecars (convertAuthorizationPolicy,
    ShouldAttachPolicy): a `kind: Service` or `kind: ServiceEntry` target takes effect only
    when that Service or ServiceEntry uses a waypoint for service traffic, and a `kind:
    Gateway` target only when the Gateway exists. Otherwise the policy's DENY, CUSTOM or ALLOW
    rules are simply not applied and callers reach the workloads unchecked, while the policy
    reads as protection. Fires per AuthorizationPolicy (not dry-run, not AUDIT) and targetRef
    whose target is missing, in another namespace, or has no waypoint in use (no label, a
    label naming a missing waypoint, `none`, or a waypoint that does not take service traffic).
    """
    for obj in ctx.snapshot.objects(K_AP):
        pol = A.parse_policy(obj.namespace, obj.name, obj.spec, obj.annotations)
        if not pol.target_refs or pol.dry_run or pol.action == "AUDIT":
            continue
        field = "targetRefs" if obj.spec.get("targetRefs") else "targetRef"
        for i, ref in enumerate(pol.target_refs):
            why = _target_state(ctx, obj.namespace, ref)
            if not why:
                continue
            kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
            yield Result(
                resource=obj.ref,
                path=f"spec.{field}[{i}]" if field == "targetRefs" else "spec.targetRef",
                detail=f"{kind}/{name}",
                message=(
                    f"AuthorizationPolicy {obj.namespace}/{obj.name} ({pol.action}) targets "
                    f"{kind} {name}, but {why}: no waypoint or gateway enforces it"
                ),
                evidence={"action": pol.action, "target": f"{kind}/{name}", "reason": why},
            )


@check(
    id="AMB007",
    title="CUSTOM (external authorization) selector policy on ambient workloads",
    category=Category.AUTHORIZATION,
    severity=Severity.HIGH,
    needs=(K_AP, K_DEPLOYMENT, K_POD, K_NAMESPACE),
    remediation=(
        "Attach the CUSTOM policy to a waypoint with targetRefs (kind Service for the protected "
        "Service, or kind Gateway for the waypoint) and enrol the Service in that waypoint; "
        "ztunnel cannot call an external authorizer."
    ),
    references=(
        "https://istio.io/latest/docs/tasks/security/authorization/authz-custom/",
        L7_DOCS,
        AMBIENT_AUTHZ_DOCS,
    ),
)
def custom_policy_on_ambient(ctx: CheckContext) -> Iterator[Result]:
    """An external-authorization (CUSTOM) policy with a selector protects nothing in ambient
    mode.

    istiod hands selector and namespace-wide policies to ztunnel, and ztunnel supports only
    ALLOW and DENY: a CUSTOM policy is rejected there ("ztunnel does not support the CUSTOM
    action", convertAuthorizationPolicy), and a waypoint applies only policies attached with
    targetRefs. So the external authorizer is never asked and every request it was meant to
    vet reaches the workloads. Fires per CUSTOM AuthorizationPolicy (not dry-run) without
    targetRefs that applies to ambient workloads.
    """
    root = ctx.mesh.root_namespace
    ambient = ambient_workloads(ctx.index)
    if not ambient.all:
        return
    for obj, pol in policy_objects(ctx.index):
        if pol.action != "CUSTOM" or pol.target_refs or pol.dry_run:
            continue
        applied = [workload_name(w) for w in ambient.applied(pol, root)]
        if not applied:
            continue
        yield Result(
            resource=obj.ref,
            path="spec.selector" if pol.selector else "spec",
            message=(
                f"AuthorizationPolicy {obj.namespace}/{obj.name} (CUSTOM"
                + (f", provider {pol.provider}" if pol.provider else "")
                + f") applies to ambient workloads ({', '.join(applied[:3])}"
                + (", ..." if len(applied) > 3 else "")
                + "), where ztunnel does not support the CUSTOM action and no waypoint takes a "
                "selector policy: the external authorizer is never called"
            ),
            evidence={"provider": pol.provider, "workloads": _limited(applied)},
        )

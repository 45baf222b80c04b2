"""AuthorizationPolicy semantics: which policies apply to a workload, and what they decide together.

Plain data in, plain answers out; no index, no checks. Sources:

- Attachment: `pilot/pkg/model/authorization.go` (ListAuthorizationPolicies looks in the root
  namespace and the workload's namespace) and `pilot/pkg/model/policyattachment.go`
  (ShouldAttachPolicy): a policy with targetRef(s) never applies to a sidecar; a selector-less
  policy applies to every workload of its namespace, and in the root namespace to every workload
  of the mesh; a root-namespace selector matches workloads in all namespaces. A Gateway API
  gateway (pods labelled `gateway.networking.k8s.io/gateway-name`) takes policy through
  `targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io}]` in its own namespace, and a
  waypoint additionally through Service/ServiceEntry targetRefs and, from the root namespace,
  GatewayClass `istio-waypoint`. A waypoint never takes a selector (or selector-less) policy; a
  Gateway API gateway does while istiod's ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on, its
  default (pilot/pkg/features), which IST0166 warns against relying on.
- Evaluation: https://istio.io/latest/docs/reference/config/security/authorization-policy/ and
  `pilot/pkg/security/authz/builder/builder.go`: CUSTOM, then DENY, then ALLOW; no ALLOW policy
  allows; ALLOW policies that exist but match nothing deny; a policy without rules (`spec: {}`)
  matches nothing (an ALLOW one therefore denies everything); AUDIT never decides; a policy
  annotated `istio.io/dry-run: "true"` is built as shadow rules and enforces nothing.
- Rule matching: within a rule `from`, `to` and `when` are ANDed; entries of `from` (and of `to`)
  are ORed; fields inside one source/operation are ANDed; values of one field are ORed.
- Safer patterns: https://istio.io/latest/docs/ops/best-practices/security/ (ALLOW with positive
  matching, DENY with negative matching; path normalization `BASE` by default, which neither
  merges slashes nor decodes `%2F`, so a DENY on `paths` can be bypassed unless the mesh sets
  `MERGE_SLASHES` or `DECODE_AND_MERGE_SLASHES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
WAYPOINT_CLASS = "istio-waypoint"
DRY_RUN_ANNOTATION = "istio.io/dry-run"

ACTIONS = ("CUSTOM", "DENY", "ALLOW", "AUDIT")

# Source fields that name who the caller is (positive), and their negations.
IDENTITY_FIELDS = ("principals", "requestPrincipals", "namespaces", "ipBlocks", "remoteIpBlocks")
NEGATIVE_SOURCE = (
    "notPrincipals",
    "notRequestPrincipals",
    "notNamespaces",
    "notIpBlocks",
    "notRemoteIpBlocks",
)
POSITIVE_OPERATION = ("paths", "methods", "ports")
NEGATIVE_OPERATION = ("notPaths", "notMethods", "notPorts", "notHosts")
# `when` keys that only a validated credential or the connection can satisfy (not a header the
# client writes): https://istio.io/latest/docs/reference/config/security/conditions/
IDENTITY_CONDITION_PREFIXES = (
    "request.auth.",
    "source.principal",
    "source.namespace",
    "source.ip",
    "remote.ip",
)
# Path normalization options that merge slashes (and so defeat `//admin` against DENY paths).
SAFE_NORMALIZATION = ("MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """One AuthorizationPolicy as its fields matter for attachment and evaluation."""

    namespace: str
    name: str
    action: str  # ALLOW, DENY, CUSTOM or AUDIT (unset means ALLOW)
    selector: Mapping[str, str]
    target_refs: tuple[Mapping[str, Any], ...]
    rules: tuple[Mapping[str, Any], ...]
    dry_run: bool = False
    provider: str = ""
    # set when the only enforcement point cannot apply the action (ztunnel and CUSTOM/AUDIT)
    unsupported: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def enforced(self) -> bool:
        """Whether the policy takes part in the decision (AUDIT and dry-run ones do not)."""
        return (
            not self.dry_run and not self.unsupported and self.action in ("CUSTOM", "DENY", "ALLOW")
        )


def parse_policy(
    namespace: str, name: str, spec: Mapping[str, Any], annotations: Mapping[str, str]
) -> Policy:
    action = str(spec.get("action") or "ALLOW").upper()
    selector = spec.get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, Mapping) else None
    refs = spec.get("targetRefs")
    if not refs and isinstance(spec.get("targetRef"), Mapping):
        refs = [spec["targetRef"]]
    rules = spec.get("rules")
    provider = spec.get("provider")
    return Policy(
        namespace=namespace,
        name=name,
        action=action,
        selector=dict(labels) if isinstance(labels, Mapping) else {},
        target_refs=tuple(r for r in refs or () if isinstance(r, Mapping)),
        # a null rule is skipped by Istio (builder: "skipped nil rule")
        rules=tuple(r for r in rules or () if isinstance(r, Mapping)),
        dry_run=str(annotations.get(DRY_RUN_ANNOTATION, "")).strip().lower() in ("true", "1", "t"),
        provider=str(provider.get("name") or "") if isinstance(provider, Mapping) else "",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What a policy can attach to: a workload's namespace and pod labels; for a waypoint, the
    Services (and ServiceEntries) that use it."""

    namespace: str
    labels: Mapping[str, str]
    waypoint: bool = False
    services: tuple[str, ...] = ()  # names, in `namespace`, of Services bound to the waypoint

    @property
    def gateway_name(self) -> str | None:
        value = self.labels.get(GATEWAY_NAME_LABEL)
        return str(value) if value is not None else None


def _group_kind(ref: Mapping[str, Any]) -> tuple[str, str]:
    return str(ref.get("group") or ""), str(ref.get("kind") or "")


def applies(
    policy: Policy, target: Target, root_namespace: str, selector_on_k8s_gateways: bool = True
) -> bool:
    """ShouldAttachPolicy for AuthorizationPolicy (see the module docstring).

    `selector_on_k8s_gateways` is istiod's ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY (default on).
    """
    if policy.namespace not in (root_namespace, target.namespace):
        return False
    gateway = target.gateway_name
    selected = all(target.labels.get(k) == v for k, v in policy.selector.items())
    if gateway is None and not target.waypoint:
        return not policy.target_refs and selected
    if not policy.target_refs:
        return not target.waypoint and selector_on_k8s_gateways and selected
    for ref in policy.target_refs:
        group, kind = _group_kind(ref)
        name = str(ref.get("name") or "")
        if target.waypoint:
            if (
                kind in ("Service", "ServiceEntry")
                and policy.namespace == target.namespace
                and name in target.services
            ):
                return True
            if (
                policy.namespace == root_namespace
                and kind == "GatewayClass"
                and group == GATEWAY_API_GROUP
                and name == WAYPOINT_CLASS
            ):
                return True
        if policy.namespace != target.namespace:
            continue
        if ref.get("namespace") and ref.get("namespace") != target.namespace:
            continue
        if kind == "Gateway" and group == GATEWAY_API_GROUP and name == gateway:
            return True
    return False


# ---- one rule ---------------------------------------------------------------------------------


def _values(mapping: Mapping[str, Any], key: str) -> list[str]:
    raw = mapping.get(key)
    return [str(v) for v in raw] if isinstance(raw, list) else []


def _sources(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        f.get("source") or {}
        for f in rule.get("from") or ()
        if isinstance(f, Mapping) and isinstance(f.get("source") or {}, Mapping)
    ]


def _operations(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        t.get("operation") or {}
        for t in rule.get("to") or ()
        if isinstance(t, Mapping) and isinstance(t.get("operation") or {}, Mapping)
    ]


def _conditions(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in rule.get("when") or () if isinstance(c, Mapping)]


def is_empty_rule(rule: Mapping[str, Any]) -> bool:
    """`{}`: no from, to or when, so the rule matches every request."""
    return not any(rule.get(k) for k in ("from", "to", "when"))


def _identity_condition(key: str) -> bool:
    return key.startswith(IDENTITY_CONDITION_PREFIXES)


def requires_identity(rule: Mapping[str, Any]) -> bool:
    """Whether every request the rule matches carries an identity the client cannot simply
    claim: each `from` source names principals, request principals, namespaces or IP blocks
    (without `*` alone), or a `when` condition tests a validated credential or source identity."""
    sources = _sources(rule)
    if sources and all(
        any(v != "*" for k in IDENTITY_FIELDS for v in _values(src, k)) for src in sources
    ):
        return True
    return any(
        _identity_condition(str(c.get("key") or "")) and _values(c, "values")
        for c in _conditions(rule)
    )


def requires_request_principal(rule: Mapping[str, Any]) -> bool:
    """Whether every request the rule matches must carry a JWT validated by a
    RequestAuthentication (`requestPrincipals`, or a `request.auth.*` condition)."""
    sources = _sources(rule)
    if sources and all(_values(src, "requestPrincipals") for src in sources):
        return True
    return any(
        str(c.get("key") or "").startswith("request.auth.") and _values(c, "values")
        for c in _conditions(rule)
    )


def negative_fields(rule: Mapping[str, Any]) -> list[str]:
    """Field paths inside the rule that match by exclusion (`notPaths`, `notValues`, ...)."""
    out: list[str] = []
    for i, src in enumerate(_sources(rule)):
        out += [f"from[{i}].source.{k}" for k in NEGATIVE_SOURCE if _values(src, k)]
    for i, op in enumerate(_operations(rule)):
        out += [f"to[{i}].operation.{k}" for k in NEGATIVE_OPERATION if _values(op, k)]
    for i, cond in enumerate(_conditions(rule)):
        if _values(cond, "notValues"):
            out.append(f"when[{i}].notValues")
    return out


def client_controlled_only(rule: Mapping[str, Any]) -> bool:
    """A non-empty rule that names no caller identity and no positive operation (path, method,
    port): whether it matches depends only on what the client writes (headers, Host) or on
    exclusions (`notPaths`, `notValues`), so any caller can satisfy it for any path."""
    if is_empty_rule(rule) or requires_identity(rule):
        return False
    for src in _sources(rule):
        if any(_values(src, k) for k in IDENTITY_FIELDS):
            return False  # names a caller (possibly with `*`), judged as identity elsewhere
    for op in _operations(rule):
        if any(_values(op, k) for k in POSITIVE_OPERATION):
            return False
    for cond in _conditions(rule):
        key = str(cond.get("key") or "")
        if _identity_condition(key) or key.startswith(("destination.", "connection.")):
            return False
    return True


def describe_callers(rule: Mapping[str, Any]) -> list[dict[str, list[str]]]:
    """The callers a rule admits: one mapping per `from` entry (fields ANDed), or `anyone`."""
    sources = _sources(rule)
    if not sources:
        return [{"anyone": []}]
    out: list[dict[str, list[str]]] = []
    for src in sources:
        entry = {
            k: _values(src, k) for k in (*IDENTITY_FIELDS, *NEGATIVE_SOURCE) if _values(src, k)
        }
        out.append(entry or {"anyone": []})
    return out


def denies_without_request_principal(rule: Mapping[str, Any]) -> bool:
    """A DENY rule that rejects requests carrying no validated JWT: a source with
    `notRequestPrincipals` (the documented pattern is `["*"]`)."""
    return any(_values(src, "notRequestPrincipals") for src in _sources(rule))


def denies_unknown_callers(rule: Mapping[str, Any]) -> bool:
    """A DENY rule that rejects every caller outside named principals or namespaces."""
    return any(
        _values(src, "notPrincipals") or _values(src, "notNamespaces") for src in _sources(rule)
    )


def deny_paths_unnormalized(rule: Mapping[str, Any]) -> list[str]:
    """Field paths of positive `paths` in a rule (weak in a DENY without slash merging)."""
    return [f"to[{i}].operation.paths" for i, op in enumerate(_operations(rule)) if op.get("paths")]


# ---- the posture of one workload ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Weakness:
    policy: str  # namespace/name
    path: str  # spec.rules[i]...
    kind: str  # client-controlled | negative-match | deny-paths-unnormalized | allow-any
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"policy": self.policy, "path": self.path, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    policy: str
    rule: int
    sources: tuple[Mapping[str, Sequence[str]], ...]
    operations: bool  # the rule also limits operations (to) or conditions (when)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "sources": [{k: list(v) for k, v in s.items()} for s in self.sources],
            "limited_to_operations": self.operations,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Posture:
    """What the applying policies decide for one workload, in Istio's order."""

    policies: tuple[Policy, ...]
    default: str  # allow-all | deny-all | restricted
    callers: tuple[Caller, ...]  # from enforced ALLOW rules; empty with allow-all/deny-all
    anyone: bool  # some request from any caller is allowed by policy (before app checks)
    custom: tuple[str, ...]  # keys of enforced CUSTOM policies (delegated decisions)
    token_required: bool  # a request without a validated JWT is refused
    identity_guarded: bool  # CUSTOM or DENY still demand a credential whatever ALLOW says
    weaknesses: tuple[Weakness, ...] = field(default_factory=tuple)

    def by_action(self, action: str, enforced_only: bool = True) -> list[Policy]:
        return [
            p for p in self.policies if p.action == action and (p.enforced or not enforced_only)
        ]

    @property
    def has_policy(self) -> bool:
        return any(p.enforced for p in self.policies)


def evaluate(policies: Iterable[Policy], path_normalization: str = "BASE") -> Posture:
    """Combine the policies that apply to one workload (see `applies`)."""
    applying = tuple(
        sorted(
            policies, key=lambda p: (ACTIONS.index(p.action) if p.action in ACTIONS else 9, p.key)
        )
    )
    enforced = [p for p in applying if p.enforced]
    custom = [p for p in enforced if p.action == "CUSTOM"]
    deny = [p for p in enforced if p.action == "DENY"]
    allow = [p for p in enforced if p.action == "ALLOW"]

    deny_all = any(is_empty_rule(r) for p in deny for r in p.rules)
    allow_rules = [(p, i, r) for p in allow for i, r in enumerate(p.rules)]
    if deny_all:
        default = "deny-all"
    elif not allow:
        default = "allow-all"
    elif not allow_rules:
        default = "deny-all"  # ALLOW policies that match nothing (`spec: {}`)
    else:
        default = "restricted"

    callers: list[Caller] = []
    if default == "restricted":
        for p, i, r in allow_rules:
            callers.append(
                Caller(
                    policy=p.key,
                    rule=i,
                    sources=tuple(describe_callers(r)),
                    operations=bool(r.get("to") or r.get("when")),
                )
            )
    token_deny = any(denies_without_request_principal(r) for p in deny for r in p.rules)
    token_allow = bool(allow_rules) and all(
        requires_request_principal(r) for _, _, r in allow_rules
    )
    token_required = default == "deny-all" or token_deny or token_allow
    identity_guarded = bool(custom) or token_deny
    anyone = default == "allow-all" or (
        default == "restricted" and any(not requires_identity(r) for _, _, r in allow_rules)
    )

    weak: list[Weakness] = []
    for p, i, r in allow_rules:
        if is_empty_rule(r):
            weak.append(
                Weakness(
                    policy=p.key,
                    path=f"spec.rules[{i}]",
                    kind="allow-any",
                    reason="empty rule: any caller, any request",
                )
            )
            continue
        if client_controlled_only(r):
            weak.append(
                Weakness(
                    policy=p.key,
                    path=f"spec.rules[{i}]",
                    kind="client-controlled",
                    reason="matches on attributes the client chooses (headers, host, exclusions) "
                    "and names no caller identity",
                )
            )
        for neg in negative_fields(r):
            weak.append(
                Weakness(
                    policy=p.key,
                    path=f"spec.rules[{i}].{neg}",
                    kind="negative-match",
                    reason="ALLOW with a negative match admits everything not listed",
                )
            )
    if path_normalization.upper() not in SAFE_NORMALIZATION:
        for p in deny:
            for i, r in enumerate(p.rules):
                for where in deny_paths_unnormalized(r):
                    weak.append(
                        Weakness(
                            policy=p.key,
                            path=f"spec.rules[{i}].{where}",
                            kind="deny-paths-unnormalized",
                            reason=f"DENY on paths with pathNormalization {path_normalization}: "
                            "`//path` or `%2F` spellings are not merged and pass the deny",
                        )
                    )
    return Posture(
        policies=applying,
        default=default,
        callers=tuple(callers),
        anyone=anyone,
        custom=tuple(p.key for p in custom),
        token_required=token_required,
        identity_guarded=identity_guarded,
        weaknesses=tuple(weak),
    )


def restricts_callers(posture: Posture) -> bool:
    """Whether the policies limit which callers may use the workload at all: deny-all, every
    ALLOW rule names a caller identity, or a DENY rejects everyone outside named principals or
    namespaces."""
    if posture.default == "deny-all":
        return True
    if posture.default == "restricted" and not posture.anyone:
        return True
    return any(denies_unknown_callers(r) for p in posture.by_action("DENY") for r in p.rules)

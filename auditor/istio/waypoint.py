"""Ambient waypoints: which waypoint (if any) serves a Service, ServiceEntry or pod, and what
ztunnel does with an AuthorizationPolicy it enforces itself.

Plain data in, plain answers out; no index, no checks. Sources (istio/istio):

- Waypoint binding: `pilot/pkg/serviceregistry/kube/controller/ambient/waypoints.go`
  (fetchWaypointForTarget, fetchWaypointForService, fetchWaypointForWorkload, getUseWaypoint,
  WaypointsCollection, makeAllowedRoutes). The `istio.io/use-waypoint` label on the object
  itself wins; `none` opts the object out (no namespace fallback); a name resolves in the
  object's namespace unless `istio.io/use-waypoint-namespace` on the same object names another.
  Only without a label on the object does the namespace's label apply. A named waypoint that
  does not exist leaves the object without a waypoint (status WaypointIsNotReady; it does not
  fall back to the namespace's). A waypoint in another namespace is used only when its HBONE
  listener (port 15008) admits routes from that namespace (`allowedRoutes.namespaces.from`,
  default `Same`). The waypoint's traffic type is the Gateway's `istio.io/waypoint-for` label,
  else its GatewayClass's, else `service`; service traffic needs `service` or `all`, workload
  (pod IP) traffic `workload` or `all`. A waypoint's own Service never has a waypoint.
- Documentation: istio/istio.io content/en/docs/ambient/usage/waypoint/index.md (a namespace
  label enrols the namespace's services; a pod label its pod IPs; traffic type is the original
  addressing).
- ztunnel and AuthorizationPolicy: `pilot/pkg/serviceregistry/kube/controller/ambient/
  authorization.go` (convertAuthorizationPolicy, handleRule). A policy with targetRefs is never
  sent to ztunnel (waypoints and gateways only). A selector or namespace-wide policy is: ALLOW
  and DENY only (CUSTOM and AUDIT are not supported there). A rule with HTTP attributes
  (operation hosts, methods, paths and their negations; source requestPrincipals,
  remoteIpBlocks and their negations; a `when` key other than source.ip, source.namespace,
  source.principal, destination.ip, destination.port) is dropped from an ALLOW policy, so it
  matches nothing, and enforced without its HTTP parts in a DENY policy, so it denies more.
  Docs: content/en/docs/ambient/usage/l4-policy/index.md ("ztunnel proxy will simply drop all
  traffic as a defensive move") and .../authorization-policy/index.md (a selector policy is
  enforced by the destination ztunnel, which sees the waypoint's identity when a waypoint is in
  the path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
WAYPOINT_FOR = "istio.io/waypoint-for"
WAYPOINT_CLASS = "istio-waypoint"
MESH_CONTROLLER = "istio.io/mesh-controller"
MANAGED_LABEL = "gateway.istio.io/managed"
MANAGED_BY_MESH = "istio.io-mesh-controller"
TRAFFIC_TYPES = ("service", "workload", "all", "none")
HBONE_PORT = 15008

# ztunnel's L4 `when` keys (authorization.go l4WhenAttributes)
L4_CONDITIONS = frozenset(
    {"source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"}
)
_HTTP_OPERATION = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")
_HTTP_SOURCE = ("remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals")


@dataclass(frozen=True, slots=True, kw_only=True)
class Waypoint:
    """A Gateway that ztunnel can send traffic to, as its binding rules need it."""

    namespace: str
    name: str
    traffic_type: str  # service | workload | all | none (or an unknown value, which covers nothing)
    from_namespaces: str  # Same | All | Selector
    namespace_selector: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def covers(self, traffic: str) -> bool:
        return self.traffic_type in (traffic, "all")

    def admits(self, namespace: str, namespace_labels: Mapping[str, str]) -> bool:
        """AllowsAttachmentFromNamespace: may objects of `namespace` use this waypoint?"""
        if self.from_namespaces == "All":
            return True
        if self.from_namespaces == "Selector":
            return _selector_matches(self.namespace_selector, namespace_labels)
        return namespace == self.namespace


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist)."""
    match = selector.get("matchLabels") or {}
    if not isinstance(match, Mapping) or any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or ():
        if not isinstance(expr, Mapping):
            return False
        key, op = str(expr.get("key") or ""), str(expr.get("operator") or "")
        values = [str(v) for v in expr.get("values") or ()]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def is_waypoint_class(class_name: str, controller: str) -> bool:
    """A GatewayClass whose Gateways are waypoints: Istio's `istio-waypoint`, or any class
    served by Istio's mesh controller."""
    return class_name == WAYPOINT_CLASS or controller == MESH_CONTROLLER


def waypoint_from_gateway(
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    class_labels: Mapping[str, str] | None = None,
) -> Waypoint:
    """The binding-relevant facts of a waypoint Gateway (WaypointsCollection, makeAllowedRoutes
    without an inbound-binding annotation: the HBONE listener on 15008 decides)."""
    traffic = str((class_labels or {}).get(WAYPOINT_FOR) or "service")
    if WAYPOINT_FOR in labels:
        traffic = str(labels[WAYPOINT_FOR])
    from_ns, selector = "Same", {}
    for listener in spec.get("listeners") or ():
        if not isinstance(listener, Mapping):
            continue
        if listener.get("protocol") == "HBONE" and listener.get("port") == HBONE_PORT:
            allowed = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
            if isinstance(allowed, Mapping):
                from_ns = str(allowed.get("from") or "Same")
                raw = allowed.get("selector")
                selector = dict(raw) if isinstance(raw, Mapping) else {}
            break
    return Waypoint(
        namespace=namespace,
        name=name,
        traffic_type=traffic,
        from_namespaces=from_ns,
        namespace_selector=selector,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UseWaypoint:
    """An `istio.io/use-waypoint` label as Istio parses it (getUseWaypoint)."""

    namespace: str
    name: str
    none: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def use_waypoint(labels: Mapping[str, str], default_namespace: str) -> UseWaypoint | None:
    value = labels.get(USE_WAYPOINT)
    if value is None:
        return None
    if value == "none":
        return UseWaypoint(namespace="", name="", none=True)
    namespace = labels.get(USE_WAYPOINT_NAMESPACE) or default_namespace
    return UseWaypoint(namespace=str(namespace), name=str(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """Which waypoint serves one kind of traffic to an object, and why.

    `waypoint` is set when one is used. `label_on` names where the deciding label sits
    (`Service`, `ServiceEntry`, `Pod`, `Namespace`, or "" when no label applies). `problem` is
    "" or why a requested waypoint is not used: `missing` (no such waypoint Gateway in the
    input), `traffic-type` (its waypoint-for does not cover this traffic), `not-admitted` (its
    HBONE listener does not admit this namespace)."""

    traffic: str  # service | workload
    waypoint: Waypoint | None = None
    requested: UseWaypoint | None = None
    label_on: str = ""
    problem: str = ""
    opted_out: bool = False

    @property
    def reason(self) -> str:
        if self.opted_out:
            return f"{USE_WAYPOINT}=none on the {self.label_on}"
        if self.requested is None:
            return f"no {USE_WAYPOINT} label on the object or its namespace"
        where = f"{USE_WAYPOINT}={self.requested.name} on the {self.label_on}"
        if self.problem == "missing":
            return f"{where}, but no waypoint Gateway {self.requested.key} is in the input"
        if self.problem == "traffic-type" and self.waypoint is not None:
            return (
                f"{where}, but waypoint {self.waypoint.key} is for "
                f"{self.waypoint.traffic_type!r} traffic ({WAYPOINT_FOR}), not {self.traffic}"
            )
        if self.problem == "not-admitted" and self.waypoint is not None:
            return (
                f"{where}, but waypoint {self.waypoint.key} admits only namespaces "
                f"{self.waypoint.from_namespaces!r} on its HBONE listener"
            )
        return where


# The binding of an object no waypoint label reaches: most objects, so one value each (bindings
# are frozen), not one per object.
_UNBOUND = {t: Binding(traffic=t) for t in ("service", "workload")}


def _unbound(traffic: str) -> Binding:
    return _UNBOUND.get(traffic) or Binding(traffic=traffic)


def bind(
    traffic: str,
    kind: str,
    namespace: str,
    labels: Mapping[str, str],
    namespace_labels: Mapping[str, str],
    waypoints: Mapping[tuple[str, str], Waypoint],
) -> Binding:
    """fetchWaypointForService (traffic `service`: a Service or ServiceEntry) or
    fetchWaypointForWorkload (traffic `workload`: a pod), for an object of `kind` in
    `namespace` with `labels`."""
    if traffic == "service" and labels.get(MANAGED_LABEL) == MANAGED_BY_MESH:
        return _unbound(traffic)  # a waypoint's own Service
    requested = use_waypoint(labels, namespace)
    label_on = kind
    if requested is not None and requested.none:
        return Binding(traffic=traffic, requested=requested, label_on=kind, opted_out=True)
    if requested is None:
        requested = use_waypoint(namespace_labels, namespace)
        label_on = "Namespace"
        if requested is None or requested.none:
            return _unbound(traffic)
    found = waypoints.get((requested.namespace, requested.name))
    if found is None:
        return Binding(traffic=traffic, requested=requested, label_on=label_on, problem="missing")
    if not found.admits(namespace, namespace_labels):
        return Binding(
            traffic=traffic,
            waypoint=found,
            requested=requested,
            label_on=label_on,
            problem="not-admitted",
        )
    if not found.covers(traffic):
        return Binding(
            traffic=traffic,
            waypoint=found,
            requested=requested,
            label_on=label_on,
            problem="traffic-type",
        )
    return Binding(traffic=traffic, waypoint=found, requested=requested, label_on=label_on)


def binding_in_use(binding: Binding) -> Waypoint | None:
    """The waypoint traffic actually goes through (None when a problem keeps it out)."""
    return binding.waypoint if not binding.problem and not binding.opted_out else None


# ---- what ztunnel makes of an AuthorizationPolicy ----------------------------------------------


def _entries(rule: Mapping[str, Any], key: str, inner: str) -> list[Mapping[str, Any]]:
    out = []
    for item in rule.get(key) or ():
        value = item.get(inner) if isinstance(item, Mapping) else None
        if isinstance(value, Mapping):
            out.append(value)
    return out


def http_attributes(rule: Mapping[str, Any]) -> list[str]:
    """The HTTP (L7) attributes of one rule, as field paths, that ztunnel cannot evaluate
    (authorization.go httpOperations, httpSources, l4WhenAttributes)."""
    out: list[str] = []
    for i, op in enumerate(_entries(rule, "to", "operation")):
        out += [f"to[{i}].operation.{k}" for k in _HTTP_OPERATION if op.get(k)]
    for i, src in enumerate(_entries(rule, "from", "source")):
        out += [f"from[{i}].source.{k}" for k in _HTTP_SOURCE if src.get(k)]
    for i, cond in enumerate(rule.get("when") or ()):
        if isinstance(cond, Mapping) and str(cond.get("key") or "") not in L4_CONDITIONS:
            out.append(f"when[{i}] {cond.get('key')}")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ZtunnelView:
    """An AuthorizationPolicy as ztunnel enforces it. `l7_rules` are rule indexes with HTTP
    attributes (`attributes` lists them as `rules[i].<path>`); for ALLOW those rules are
    dropped, for DENY they are enforced without their HTTP parts. `allows_nothing`: an ALLOW
    policy all of whose rules were dropped (it still exists, so it denies every connection)."""

    action: str
    l7_rules: tuple[int, ...]
    attributes: tuple[str, ...]
    allows_nothing: bool


def ztunnel_view(action: str, rules: tuple[Mapping[str, Any], ...]) -> ZtunnelView:
    """convertAuthorizationPolicy for a selector or namespace-wide policy."""
    l7: list[int] = []
    attributes: list[str] = []
    for i, rule in enumerate(rules):
        found = http_attributes(rule)
        if found:
            l7.append(i)
            attributes += [f"rules[{i}].{p}" for p in found]
    return ZtunnelView(
        action=action,
        l7_rules=tuple(l7),
        attributes=tuple(attributes),
        allows_nothing=action == "ALLOW" and bool(rules) and len(l7) == len(rules),
    )


def _string_match(pattern: str, value: str) -> bool:
    """stringToMatch: `*` presence, `*x` suffix, `x*` prefix, else exact."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def admits_identity(
    rules: tuple[Mapping[str, Any], ...],
    policy_namespace: str,
    namespace: str,
    service_account: str,
    trust_domain: str,
) -> bool:
    """Whether some L4 ALLOW rule's `from` admits a caller with this identity (principal
    `<trust domain>/ns/<namespace>/sa/<service account>`). Ports and IP blocks are not judged
    (taken as matching); rules with HTTP attributes match nothing at ztunnel; a bare
    `serviceAccounts` entry names one in the policy's namespace."""
    principal = f"{trust_domain}/ns/{namespace}/sa/{service_account}"
    for rule in rules:
        if http_attributes(rule):
            continue
        sources = _entries(rule, "from", "source")
        if not rule.get("from"):
            return True
        for src in sources:
            if _source_admits(src, policy_namespace, principal, namespace, service_account):
                return True
    return False


def _values(src: Mapping[str, Any], key: str) -> list[str]:
    raw = src.get(key)
    return [str(v) for v in raw] if isinstance(raw, list) else []


def _source_admits(
    src: Mapping[str, Any], policy_namespace: str, principal: str, namespace: str, sa: str
) -> bool:
    principals, namespaces = _values(src, "principals"), _values(src, "namespaces")
    accounts = _values(src, "serviceAccounts")
    if principals and not any(_string_match(p, principal) for p in principals):
        return False
    if namespaces and not any(_string_match(n, namespace) for n in namespaces):
        return False
    if accounts and not any(
        (a if "/" in a else f"{policy_namespace}/{a}") == f"{namespace}/{sa}" for a in accounts
    ):
        return False
    if any(_string_match(p, principal) for p in _values(src, "notPrincipals")):
        return False
    return not any(_string_match(n, namespace) for n in _values(src, "notNamespaces"))


def _strip_http(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A DENY rule as ztunnel enforces it: HTTP fields removed, emptied entries dropped (an
    entry left with nothing to match matches everything, as in handleRule)."""
    out: dict[str, Any] = {}
    to = []
    for item in rule.get("to") or ():
        op = item.get("operation") if isinstance(item, Mapping) else None
        if isinstance(op, Mapping):
            kept = {k: v for k, v in op.items() if k not in _HTTP_OPERATION and v}
            if kept:
                to.append({"operation": kept})
    sources = []
    for item in rule.get("from") or ():
        src = item.get("source") if isinstance(item, Mapping) else None
        if isinstance(src, Mapping):
            kept = {k: v for k, v in src.items() if k not in _HTTP_SOURCE and v}
            if kept:
                sources.append({"source": kept})
    when = [
        c
        for c in rule.get("when") or ()
        if isinstance(c, Mapping) and str(c.get("key") or "") in L4_CONDITIONS
    ]
    if to:
        out["to"] = to
    if sources:
        out["from"] = sources
    if when:
        out["when"] = when
    return out


def ztunnel_rules(
    action: str, rules: tuple[Mapping[str, Any], ...]
) -> tuple[Mapping[str, Any], ...]:
    """The rules ztunnel enforces for a selector or namespace-wide policy: ALLOW keeps only
    rules without HTTP attributes, DENY keeps every rule with its HTTP fields removed
    (convertAuthorizationPolicy / handleRule)."""
    if action == "ALLOW":
        return tuple(r for r in rules if not http_attributes(r))
    if action == "DENY":
        return tuple(_strip_http(r) if http_attributes(r) else r for r in rules)
    return rules


ZTUNNEL_ACTIONS = ("ALLOW", "DENY")  # CUSTOM and AUDIT: "ztunnel does not support the ... action"

"""AuthorizationPolicy rules that need a peer identity (mutual TLS) to match, and whom they name.

Plain data in, plain answers out. Sources:

- The AuthorizationPolicy reference (istio.io content/en/docs/reference/config/security/
  authorization-policy): Source `principals` and `namespaces` "require mTLS enabled"; the `not*`
  fields carry no such note. Sources in `from` are ORed, fields inside one source ANDed; `to`
  entries ORed; `when` conditions ANDed. Strings match exactly, by prefix `abc*`, suffix `*abc`,
  or presence `*` ("matches when value is not empty").
- The conditions page (content/en/docs/reference/config/security/conditions, current version):
  `source.principal`, `source.namespace` and `connection.sni` "require mutual TLS enabled".
- `serviceAccounts` (Istio 1.25+): istiod matches it as a regex on the peer principal
  (pilot/pkg/security/authz/model generator), and ztunnel's `ServiceAccountMatch` is false
  without an identity (istio/ztunnel src/rbac.rs).
- How a plaintext request is judged: the sidecar's Envoy RBAC `authenticated` principal never
  matches a connection without a peer certificate, and ztunnel gives it the empty identity
  (src/rbac.rs `Authorization::matches`): a positive identity field never matches plaintext, its
  negation always does. Istio's own test (tests/integration/security/testdata/authz/
  plaintext.yaml.tmpl) relies on this: a DENY on `notPrincipals: ["*"]` refuses plaintext.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Positive Source fields derived from the peer certificate, and their negations.
MTLS_SOURCE_FIELDS = ("principals", "namespaces", "serviceAccounts")
MTLS_NEGATIVE_FIELDS = ("notPrincipals", "notNamespaces", "notServiceAccounts")
# `when` keys documented as requiring mutual TLS.
MTLS_CONDITION_KEYS = ("source.principal", "source.namespace", "connection.sni")
_PORT_FIELDS = frozenset({"ports", "notPorts"})


def _values(mapping: Mapping[str, Any], key: str) -> list[str]:
    raw = mapping.get(key)
    return [str(v) for v in raw] if isinstance(raw, list) else []


def _sources(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for entry in rule.get("from") or ():
        src = entry.get("source") if isinstance(entry, Mapping) else None
        out.append(src if isinstance(src, Mapping) else {})
    return out


def _operations(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for entry in rule.get("to") or ():
        op = entry.get("operation") if isinstance(entry, Mapping) else None
        out.append(op if isinstance(op, Mapping) else {})
    return out


def _conditions(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in rule.get("when") or () if isinstance(c, Mapping)]


def string_match(pattern: str, value: str) -> bool:
    """Istio's string match: exact, prefix `abc*`, suffix `*abc`, presence `*` (non-empty)."""
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return pattern == value


def identity_paths(rule: Mapping[str, Any]) -> list[str]:
    """Paths (inside the rule) of the positive fields and conditions that need a peer identity."""
    out: list[str] = []
    for i, src in enumerate(_sources(rule)):
        out += [f"from[{i}].source.{k}" for k in MTLS_SOURCE_FIELDS if _values(src, k)]
    for i, cond in enumerate(_conditions(rule)):
        if str(cond.get("key") or "") in MTLS_CONDITION_KEYS and _values(cond, "values"):
            out.append(f"when[{i}]")
    return out


def requires_peer_identity(rule: Mapping[str, Any]) -> bool:
    """Whether the rule can only match a request that carries a peer identity (mutual TLS):
    every `from` source names positive `principals`, `namespaces` or `serviceAccounts`, or a
    `when` condition tests `source.principal`, `source.namespace` or `connection.sni` values."""
    sources = _sources(rule)
    if sources and all(any(_values(s, k) for k in MTLS_SOURCE_FIELDS) for s in sources):
        return True
    return any(
        str(c.get("key") or "") in MTLS_CONDITION_KEYS and _values(c, "values")
        for c in _conditions(rule)
    )


def _port_in(values: list[str], port: int) -> bool:
    return any(v.strip() == str(port) for v in values)


def covers_port(rule: Mapping[str, Any], port: int | None) -> bool:
    """Whether the rule can match a request to `port` (None: some port, any will do): `to`
    entries are ORed, each limited by `ports` / `notPorts`; a `destination.port` condition
    limits the whole rule."""
    if port is None:
        return True
    ops = _operations(rule)
    if ops and not any(
        (not _values(op, "ports") or _port_in(_values(op, "ports"), port))
        and not _port_in(_values(op, "notPorts"), port)
        for op in ops
    ):
        return False
    for cond in _conditions(rule):
        if str(cond.get("key") or "") != "destination.port":
            continue
        if _values(cond, "values") and not _port_in(_values(cond, "values"), port):
            return False
        if _port_in(_values(cond, "notValues"), port):
            return False
    return True


def catches_all_plaintext(rule: Mapping[str, Any], port: int | None) -> bool:
    """Whether the rule matches every plaintext request to `port`: an empty rule, or sources
    that only exclude identities (`notPrincipals: ["*"]`: an empty identity is never listed),
    operations limited by port alone, and conditions that only exclude identities."""
    sources = _sources(rule)
    if sources and not any(set(s) <= set(MTLS_NEGATIVE_FIELDS) for s in sources):
        return False
    ops = _operations(rule)
    if ops and not any(set(op) <= _PORT_FIELDS for op in ops):
        return False
    for cond in _conditions(rule):
        key = str(cond.get("key") or "")
        if key == "destination.port":
            continue
        if key not in MTLS_CONDITION_KEYS or _values(cond, "values"):
            return False
    if ops:
        port_only = [op for op in ops if set(op) <= _PORT_FIELDS]
        return any(covers_port({"to": [{"operation": op}]}, port) for op in port_only) and (
            covers_port({"when": list(_conditions(rule))}, port)
        )
    return covers_port(rule, port)


def _principal_candidates(namespace: str, service_account: str, trust_domain: str) -> list[str]:
    tail = f"/ns/{namespace}/sa/{service_account}"
    return [f"{td}{tail}" for td in dict.fromkeys((trust_domain, "cluster.local"))]


def _source_names(
    src: Mapping[str, Any],
    namespace: str,
    service_account: str,
    trust_domain: str,
    policy_namespace: str,
) -> bool:
    principals = _values(src, "principals")
    if principals and not any(
        string_match(p, c)
        for p in principals
        for c in _principal_candidates(namespace, service_account, trust_domain)
    ):
        return False
    namespaces = _values(src, "namespaces")
    if namespaces and not any(string_match(p, namespace) for p in namespaces):
        return False
    accounts = _values(src, "serviceAccounts")
    if accounts:
        named = {a if "/" in a else f"{policy_namespace}/{a}" for a in accounts}
        if f"{namespace}/{service_account}" not in named:
            return False
    return True


def names_caller(
    rule: Mapping[str, Any],
    namespace: str,
    service_account: str,
    *,
    trust_domain: str = "cluster.local",
    policy_namespace: str = "",
) -> bool:
    """Whether the rule's identity fields name a caller of this namespace and service account
    (the identity it has, or would have, in the mesh): some source's positive identity fields
    all match it, and every identity condition does. Other fields (IP blocks, JWT principals,
    operations) are not judged: the caller may satisfy them. A rule that names no caller
    (only `connection.sni`) names nobody."""
    sources = [s for s in _sources(rule) if any(_values(s, k) for k in MTLS_SOURCE_FIELDS)]
    named_by_condition = any(
        str(c.get("key") or "") in ("source.namespace", "source.principal") and _values(c, "values")
        for c in _conditions(rule)
    )
    if not sources and not named_by_condition:
        return False  # `connection.sni` alone names no caller
    if sources and not any(
        _source_names(s, namespace, service_account, trust_domain, policy_namespace)
        for s in sources
    ):
        return False
    principals = _principal_candidates(namespace, service_account, trust_domain)
    for cond in _conditions(rule):
        key = str(cond.get("key") or "")
        values = _values(cond, "values")
        if not values:
            continue
        if key == "source.namespace" and not any(string_match(v, namespace) for v in values):
            return False
        if key == "source.principal" and not any(
            string_match(v, c) for v in values for c in principals
        ):
            return False
    return True


def _principal_in_namespace(pattern: str, namespace: str, trust_domain: str) -> bool:
    """Whether a principal pattern can match some service account of `namespace`."""
    if pattern == "*":
        return True
    marker = f"/ns/{namespace}/sa/"
    if pattern.endswith("*") and not pattern.startswith("*"):
        head = pattern[:-1]
        return any(
            f"{td}{marker}".startswith(head) or head.startswith(f"{td}{marker}")
            for td in dict.fromkeys((trust_domain, "cluster.local"))
        )
    if "/ns/" not in pattern:
        return pattern.startswith("*")  # a suffix like "*sleep" may fit any namespace
    return marker in pattern or pattern.endswith(f"/ns/{namespace}/sa")


def names_namespace(
    rule: Mapping[str, Any],
    namespace: str,
    *,
    trust_domain: str = "cluster.local",
    policy_namespace: str = "",
) -> bool:
    """Whether the rule's identity fields name some caller of `namespace` (any service
    account): `names_caller` for a sender known only by its namespace."""

    def source_fits(src: Mapping[str, Any]) -> bool:
        principals = _values(src, "principals")
        if principals and not any(
            _principal_in_namespace(p, namespace, trust_domain) for p in principals
        ):
            return False
        namespaces = _values(src, "namespaces")
        if namespaces and not any(string_match(p, namespace) for p in namespaces):
            return False
        accounts = _values(src, "serviceAccounts")
        return not accounts or any(
            (a.split("/", 1)[0] if "/" in a else policy_namespace) == namespace for a in accounts
        )

    sources = [s for s in _sources(rule) if any(_values(s, k) for k in MTLS_SOURCE_FIELDS)]
    if sources and not any(source_fits(s) for s in sources):
        return False
    for cond in _conditions(rule):
        key = str(cond.get("key") or "")
        values = _values(cond, "values")
        if (
            key == "source.namespace"
            and values
            and not any(string_match(v, namespace) for v in values)
        ):
            return False
        if (
            key == "source.principal"
            and values
            and not any(_principal_in_namespace(v, namespace, trust_domain) for v in values)
        ):
            return False
    return True

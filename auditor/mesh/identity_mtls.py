"""Identity rules judged together with mTLS: per workload and plaintext-accepting port, which
AuthorizationPolicy rules on peer identity a plaintext request walks past, and who sends one.

Joins the mTLS map (auditor/mesh/mtls.py: the ports that accept plaintext and the setting that
allows it) with the access model (auditor/mesh/authorization.py: the policies that apply, for an
ambient workload as ztunnel enforces them) under the rule semantics of
auditor/istio/authz_identity.py. Istio evaluates CUSTOM, then DENY, then ALLOW: a DENY rule on
peer identity never matches plaintext, which matters only when the plaintext request is then
allowed (no ALLOW policy, or an ALLOW rule that needs no identity); when every ALLOW rule needs
an identity, plaintext callers are denied instead (safe, and why mTLS migrations break).

Plaintext senders ("from whom") are auditor/mesh/plaintext_senders.py's. A sender from a pod
counts as reaching the workload only when the workload's ingress NetworkPolicies let it connect
(auditor/istio/netpol_ingress.py); it is listed either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.istio import authz as A
from auditor.istio import authz_identity as I
from auditor.istio.mtls import port_level
from auditor.istio.netpol_ingress import ingress_allows
from auditor.mesh.authorization import WorkloadAuthz, build_authorization
from auditor.mesh.index import MeshIndex, Workload
from auditor.mesh.mtls import (
    ALL_PORTS,
    DisableRule,
    PlaintextPort,
    disable_rules,
    mtls_entry,
)
from auditor.mesh.plaintext_senders import (
    APISERVER,
    MESH_CLIENTS,
    Caller,
    Senders,
    dial_ports,
    external_callers,
    ingress_policies,
    mesh_callers,
    named_ports,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortView:
    """One port (or every port, `*`) of a workload that accepts plaintext."""

    port: int | str
    mode: str
    why: str
    mesh_clients: tuple[Caller, ...] = ()  # every mesh client sends plaintext (why)
    # shared between the ports of every workload (a mesh of thousands holds one copy each)
    outside: tuple[Caller, ...] = ()
    capture: tuple[Caller, ...] = ()
    others: tuple[Caller, ...] = ()  # clients outside the cluster, the API server
    # the NetworkPolicies that isolate the workload for ingress: (namespace/name, spec)
    ingress: tuple[tuple[str, Mapping[str, Any]], ...] = field(default=(), compare=False)
    strict_ports: frozenset[int] = frozenset()  # `*`: ports a portLevelMtls keeps STRICT

    @property
    def ingress_policies(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.ingress)

    @property
    def groups(self) -> tuple[tuple[Caller, ...], ...]:
        return (self.mesh_clients, self.outside, self.capture, self.others)

    @property
    def callers(self) -> tuple[Caller, ...]:
        return self.mesh_clients + self.outside + self.capture + self.others

    @property
    def shown(self) -> str:
        return "every port" if self.port == ALL_PORTS else f"port {self.port}"

    def covers(self, rule: Mapping[str, Any]) -> bool:
        if isinstance(self.port, int):
            return I.covers_port(rule, self.port)
        ops = [
            (t.get("operation") or {}) if isinstance(t, Mapping) else {}
            for t in rule.get("to") or ()
        ]
        if not ops or not self.strict_ports:
            return True
        for op in ops:
            ports = op.get("ports") if isinstance(op, Mapping) else None
            if not isinstance(ports, list) or not ports:
                return True
            if any(str(p).strip() not in {str(s) for s in self.strict_ports} for p in ports):
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "mode": self.mode,
            "why": self.why,
            "from": [c.to_json() for c in self.callers],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedRule:
    """A DENY rule on peer identity that plaintext to `port` walks past."""

    policy: str  # namespace/name
    rule: int
    paths: tuple[str, ...]  # identity fields inside the rule
    port: PortView
    # plaintext senders the rule was written to stop, in groups shared between workloads
    reached_groups: tuple[tuple[Caller, ...], ...]

    @property
    def reached_by(self) -> tuple[Caller, ...]:
        return tuple(c for group in self.reached_groups for c in group)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityView:
    entry: WorkloadAuthz
    ports: tuple[PortView, ...]
    skipped: tuple[SkippedRule, ...]
    denied_ports: tuple[PortView, ...]  # every plaintext caller denied by ALLOW on identity
    allow_policies: tuple[str, ...]  # the ALLOW policies that deny them
    has_identity_rules: bool

    @property
    def status(self) -> str:
        if self.skipped:
            return "bypassable"
        if self.denied_ports:
            return "plaintext-denied"
        return "enforced" if self.has_identity_rules else "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "plaintext_ports": [str(p.port) for p in self.ports],
            "skipped_rules": sorted(
                {f"{s.policy} spec.rules[{s.rule}] ({s.port.shown})" for s in self.skipped}
            ),
            "denying_allow_policies": list(self.allow_policies),
        }


def _port_views(
    index: MeshIndex,
    w: Workload,
    ports: tuple[PlaintextPort, ...],
    senders: Senders,
    rules: dict[tuple[str, str], list[DisableRule]],
    *,
    judged: bool = True,
) -> tuple[PortView, ...]:
    """The plaintext ports of `w` with their senders (`judged=False`: without them, for a
    workload with no rule on identity)."""
    status = index.mesh_status(w)
    ingress = ingress_policies(index, w)
    external = external_callers(index, w)
    webhooks = index.webhook_callers(w)
    drs = [r for svc in index.services_for(w) for r in rules.get((svc.namespace, svc.name), ())]
    pa = index.peer_authentication.workload_policy(w.namespace, w.labels)
    strict = frozenset(
        p for p, m in (port_level(pa.spec).items() if pa is not None else ()) if m == "STRICT"
    )
    out: list[PortView] = []
    for pp in ports:
        if not judged:
            out.append(PortView(port=pp.port, mode=pp.mode, why=pp.why))
            continue
        dial = dial_ports(index, w, pp.port)
        mesh: list[Caller] = []
        if status.mode == "sidecar" and pp.mode == "DISABLE":
            mesh.append(
                Caller(
                    kind=MESH_CLIENTS,
                    who=f"every mesh client (auto mTLS sends plaintext to a {pp.mode} port)",
                )
            )
        for r in drs:
            if r.port is None or dial is None or r.port in dial:
                mesh.append(Caller(kind=MESH_CLIENTS, who=r.who, scope=r.clients))
        others = list(external)
        for port, hooks in webhooks.items():
            if pp.port in (ALL_PORTS, port):
                others += [
                    Caller(kind=APISERVER, who=f"the Kubernetes API server ({h})") for h in hooks
                ]
        out.append(
            PortView(
                port=pp.port,
                mode=pp.mode,
                why=pp.why,
                mesh_clients=tuple(mesh),
                outside=senders.outside,
                capture=senders.capture_for(dial),
                others=tuple(others),
                ingress=ingress,
                strict_ports=strict if pp.port == ALL_PORTS else frozenset(),
            )
        )
    return tuple(out)


class _Namer:
    """Which plaintext senders a rule names, memoised per rule and per shared group of senders
    (a namespace-wide DENY is judged once for all of its workloads, not once per workload)."""

    def __init__(
        self, trust_domain: str, namespace_labels: Mapping[str, Mapping[str, str]]
    ) -> None:
        self.trust_domain = trust_domain
        self.namespace_labels = namespace_labels
        self._groups: dict[tuple[str, int, int], tuple[tuple[Caller, ...], tuple[Caller, ...]]] = {}
        self._admitted: dict[tuple[Any, ...], tuple[Caller, ...]] = {}

    def named(self, policy: A.Policy, index: int, group: tuple[Caller, ...]) -> tuple[Caller, ...]:
        key = (policy.key, index, id(group))
        hit = self._groups.get(key)
        if hit is not None and hit[0] is group:
            return hit[1]
        rule = policy.rules[index]
        verdicts: dict[tuple[str, str], bool] = {}
        out = []
        for c in group:
            who = (c.namespace, c.service_account)
            if who not in verdicts:
                verdicts[who] = I.names_caller(
                    rule,
                    c.namespace,
                    c.service_account,
                    trust_domain=self.trust_domain,
                    policy_namespace=policy.namespace,
                )
            if verdicts[who]:
                out.append(c)
        self._groups[key] = (group, tuple(out))
        return tuple(out)

    def reached_by(
        self, policy: A.Policy, index: int, view: PortView, server: Workload | None
    ) -> tuple[tuple[Caller, ...], ...]:
        named = (
            self.named(policy, index, view.outside),
            self.named(policy, index, view.capture),
        )
        mesh = tuple(
            c
            for c in view.mesh_clients
            if c.scope is None
            or any(
                I.names_namespace(
                    policy.rules[index],
                    ns,
                    trust_domain=self.trust_domain,
                    policy_namespace=policy.namespace,
                )
                for ns in c.scope
            )
        )
        if not view.ingress_policies or server is None:
            return (mesh, *named)
        # the server is isolated for ingress: only senders its NetworkPolicies admit reach it;
        # the answer depends on those policies, the port and the sender, not on the workload
        policies = [(server.namespace, spec) for _, spec in view.ingress]
        port = view.port if isinstance(view.port, int) else None
        ports = named_ports(server)
        key = (policy.key, index, view.ingress_policies, port, tuple(sorted(ports.items())))
        hit = self._admitted.get(key)
        if hit is not None:
            return (mesh, hit)
        admitted = self._admitted[key] = tuple(
            c
            for group in named
            for c in group
            if ingress_allows(
                policies,
                server.labels,
                ports,
                port,
                caller_namespace=c.namespace,
                namespace_labels=self.namespace_labels.get(c.namespace) or {},
                caller_labels=dict(c.labels),
            )
        )
        return (mesh, admitted)


def _judge(entry: WorkloadAuthz, views: tuple[PortView, ...], namer: _Namer) -> IdentityView:
    enforced = [p for p in entry.posture.policies if p.enforced]
    deny = [p for p in enforced if p.action == "DENY"]
    allow = [p for p in enforced if p.action == "ALLOW"]
    identity = any(I.requires_peer_identity(r) for p in deny + allow for r in p.rules)
    skipped: list[SkippedRule] = []
    denied: list[PortView] = []
    denying: set[str] = set()
    for view in views:
        number = view.port if isinstance(view.port, int) else None
        if any(I.catches_all_plaintext(r, number) for p in deny for r in p.rules):
            continue  # a DENY refuses plaintext here whatever the identity rules say
        if allow and not any(
            not I.requires_peer_identity(r) and view.covers(r) for p in allow for r in p.rules
        ):
            by = {
                p.key
                for p in allow
                if any(I.requires_peer_identity(r) and view.covers(r) for r in p.rules)
            }
            if by:
                denied.append(view)
                denying.update(by)
            continue  # no ALLOW rule admits plaintext: a skipped DENY grants nothing
        for p in deny:
            for i, rule in enumerate(p.rules):
                if I.requires_peer_identity(rule) and view.covers(rule):
                    skipped.append(
                        SkippedRule(
                            policy=p.key,
                            rule=i,
                            paths=tuple(I.identity_paths(rule)),
                            port=view,
                            reached_groups=namer.reached_by(p, i, view, entry.workload),
                        )
                    )
    return IdentityView(
        entry=entry,
        ports=views,
        skipped=tuple(skipped),
        denied_ports=tuple(denied),
        allow_policies=tuple(sorted(denying)),
        has_identity_rules=identity,
    )


def _build(index: MeshIndex) -> dict[str, IdentityView]:
    rules = disable_rules(index)
    senders = mesh_callers(index)
    namer = _Namer(index.mesh.trust_domain, index.namespace_labels)
    out: dict[str, IdentityView] = {}
    for entry in build_authorization(index):
        w = entry.workload
        if w is None or entry.role != "workload":
            continue
        mtls = mtls_entry(index, w)
        judged = any(
            I.requires_peer_identity(r)
            for p in entry.posture.policies
            if p.enforced and p.action in ("ALLOW", "DENY")
            for r in p.rules
        )
        views = _port_views(index, w, mtls.plaintext_ports, senders, rules, judged=judged)
        out[entry.ref.key] = _judge(entry, views, namer)
    return out


def identity_model(index: MeshIndex) -> dict[str, IdentityView]:
    """Per in-mesh application workload (by resource key): its plaintext ports, the DENY rules
    they skip and the ALLOW policies that deny plaintext callers. Built once per index."""
    return index.cached(_build)


NOT_JUDGED = {
    "status": "not-judged",
    "plaintext_ports": [],
    "skipped_rules": [],
    "denying_allow_policies": [],
}


def access_json(index: MeshIndex) -> list[dict[str, Any]]:
    """report.json `authorization[]`: the access model with, per workload, whether its identity
    rules hold (`identity_rules`; gateways and waypoints are `not-judged`: their callers are the
    exposure map's)."""
    model = identity_model(index)
    out = []
    for entry in build_authorization(index):
        view = model.get(entry.ref.key)
        out.append(
            {**entry.to_json(), "identity_rules": view.to_json() if view else dict(NOT_JUDGED)}
        )
    return out

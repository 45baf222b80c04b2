"""Identity rules judged together with mTLS: per workload and plaintext-accepting port, which
AuthorizationPolicy rules on peer identity a plaintext request walks past, and who sends one.

Joins the mTLS map (auditor/mesh/mtls.py: the ports that accept plaintext and the setting that
allows it) with the access model (auditor/mesh/authorization.py: the policies that apply, for an
ambient workload as ztunnel enforces them) under the rule semantics of
auditor/istio/authz_identity.py. Istio evaluates CUSTOM, then DENY, then ALLOW: a DENY rule on
peer identity never matches plaintext, which matters only when the plaintext request is then
allowed (no ALLOW policy, or an ALLOW rule that needs no identity); when every ALLOW rule needs
an identity, plaintext callers are denied instead (safe, and why mTLS migrations break).

Plaintext senders ("from whom"):
- every mesh client, when the server's mode for the port is DISABLE (auto mTLS sends no TLS to a
  DISABLE port: istio/istio pilot/pkg/networking/core cluster TLS, `MTLSDisable`) or a
  DestinationRule sets `tls.mode: DISABLE` toward the workload's Service;
- application workloads outside the mesh in the input (no proxy, no ztunnel);
- in-mesh sidecar workloads whose outbound capture excludes the port they dial
  (`traffic.sidecar.istio.io/excludeOutboundPorts`, matched in the caller's own network
  namespace against the Service port or the pod port) or every address;
- clients outside the cluster through a LoadBalancer or NodePort Service (or externalIPs);
- the Kubernetes API server on an admission-webhook port.
Ingress NetworkPolicies are not evaluated: when one selects the workload, callers from pods are
still listed but not counted as reaching it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.istio import annotations as ann
from auditor.istio import authz as A
from auditor.istio import authz_identity as I
from auditor.istio.injection import SYSTEM_NAMESPACES
from auditor.istio.mtls import port_level
from auditor.istio.netpol import policy_types
from auditor.istio.selectors import label_selector_matches
from auditor.mesh.authorization import WorkloadAuthz, build_authorization
from auditor.mesh.index import MeshIndex, Workload
from auditor.mesh.mtls import ALL_PORTS, PlaintextPort, disable_clients, entry_for

MESH_CLIENTS = "mesh-clients"
OUTSIDE = "outside"
CAPTURE = "capture-excluded"
EXTERNAL = "external"
APISERVER = "apiserver"


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    kind: str
    who: str
    namespace: str = ""
    service_account: str = ""
    dial_ports: frozenset[int] | None = None  # capture-excluded: the ports it sends around

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "who": self.who}


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
    ingress_policies: tuple[str, ...] = ()  # NetworkPolicies that may limit who reaches it
    strict_ports: frozenset[int] = frozenset()  # `*`: ports a portLevelMtls keeps STRICT

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


def _service_account(w: Workload) -> str:
    return str(
        w.pod_spec.get("serviceAccountName") or w.pod_spec.get("serviceAccount") or "default"
    )


def _display(w: Workload) -> str:
    return f"{w.obj.kind} {w.namespace}/{w.obj.name}"


def _excluded_ports(w: Workload) -> frozenset[int] | None:
    """Ports the workload's sidecar does not capture outbound (None: every port)."""
    ranges = ann.cidr_list(w.annotations.get(ann.EXCLUDE_OUTBOUND_IPS), star=True).value
    if w.annotations.get(ann.EXCLUDE_OUTBOUND_IPS) is not None and ann.covers_everything(ranges):
        return None
    return ann.port_list(w.annotations.get(ann.EXCLUDE_OUTBOUND_PORTS)).value


@dataclass(slots=True, kw_only=True)
class Senders:
    """The workloads of the input that send plaintext, grouped so every port shares them."""

    outside: tuple[Caller, ...]
    capture_all: tuple[Caller, ...]  # capture excluded for every address or port
    capture_by_port: Mapping[int, tuple[Caller, ...]]
    # one tuple per set of dialled ports, so ports that see the same senders share it
    _memo: dict[frozenset[int] | None, tuple[Caller, ...]] = field(default_factory=dict)

    def capture_for(self, dial: set[int] | None) -> tuple[Caller, ...]:
        key = frozenset(dial) if dial is not None else None
        found = self._memo.get(key)
        if found is None:
            wanted = self.capture_by_port.keys() if dial is None else sorted(dial)
            seen = dict.fromkeys(self.capture_all)
            for d in wanted:
                seen.update(dict.fromkeys(self.capture_by_port.get(d, ())))
            found = self._memo[key] = tuple(seen)
        return found


def mesh_callers(index: MeshIndex) -> Senders:
    """Workloads of the input that send plaintext: outside the mesh, or capture-excluded."""
    outside: list[Caller] = []
    every: list[Caller] = []
    by_port: dict[int, list[Caller]] = {}
    for w in index.workloads:
        if w.owned or w.namespace in SYSTEM_NAMESPACES:
            continue
        status = index.mesh_status(w)
        if status.role != "workload":
            continue
        if not status.in_mesh:
            outside.append(
                Caller(
                    kind=OUTSIDE,
                    who=f"{_display(w)} (outside the mesh)",
                    namespace=w.namespace,
                    service_account=_service_account(w),
                )
            )
        elif status.mode == "sidecar":
            ports = _excluded_ports(w)
            if ports is None or ports:
                shown = "every address" if ports is None else ", ".join(map(str, sorted(ports)))
                caller = Caller(
                    kind=CAPTURE,
                    who=f"{_display(w)} (outbound capture excludes {shown})",
                    namespace=w.namespace,
                    service_account=_service_account(w),
                    dial_ports=ports,
                )
                if ports is None:
                    every.append(caller)
                for port in ports or ():
                    by_port.setdefault(port, []).append(caller)
    return Senders(
        outside=tuple(outside),
        capture_all=tuple(every),
        capture_by_port={k: tuple(v) for k, v in by_port.items()},
    )


def _dial_ports(index: MeshIndex, w: Workload, port: int | str) -> set[int] | None:
    """The ports a client dials to reach `port` of the workload: the port itself and the
    Service ports that target it (None: every port)."""
    if not isinstance(port, int):
        return None
    named = {
        str(p.get("name")): p.get("containerPort")
        for c in w.pod_spec.get("containers") or ()
        if isinstance(c, Mapping)
        for p in c.get("ports") or ()
        if isinstance(p, Mapping) and p.get("name")
    }
    out = {port}
    for svc in index.services_for(w):
        for sp in svc.spec.get("ports") or ():
            if not isinstance(sp, Mapping) or not isinstance(sp.get("port"), int):
                continue
            target = sp.get("targetPort", sp["port"])
            if isinstance(target, str):
                target = named.get(target)
            if target == port:
                out.add(sp["port"])
    return out


def _ingress_policies(index: MeshIndex, w: Workload) -> tuple[str, ...]:
    return tuple(
        f"{p.namespace}/{p.name}"
        for p in index.network_policies.get(w.namespace, [])
        if "Ingress" in policy_types(p.spec)
        and label_selector_matches(p.spec.get("podSelector") or {}, w.labels)
    )


def _external(index: MeshIndex, w: Workload) -> list[Caller]:
    out = []
    for svc in index.services_for(w):
        kind = str(svc.spec.get("type") or "ClusterIP")
        if kind in ("LoadBalancer", "NodePort") or svc.spec.get("externalIPs"):
            how = kind if kind in ("LoadBalancer", "NodePort") else "externalIPs"
            out.append(
                Caller(
                    kind=EXTERNAL,
                    who=f"clients outside the cluster through Service {svc.namespace}/"
                    f"{svc.name} ({how})",
                )
            )
    return out


def _port_views(
    index: MeshIndex,
    w: Workload,
    ports: tuple[PlaintextPort, ...],
    senders: Senders,
    disabled: dict[tuple[str, str], list[tuple[int | None, str]]],
    *,
    judged: bool = True,
) -> tuple[PortView, ...]:
    """The plaintext ports of `w` with their senders (`judged=False`: without them, for a
    workload with no rule on identity)."""
    status = index.mesh_status(w)
    ingress = _ingress_policies(index, w)
    external = _external(index, w)
    webhooks = index.webhook_callers(w)
    drs = [
        (p, who)
        for svc in index.services_for(w)
        for p, who in disabled.get((svc.namespace, svc.name), ())
    ]
    pa = index.peer_authentication.workload_policy(w.namespace, w.labels)
    strict = frozenset(
        p for p, m in (port_level(pa.spec).items() if pa is not None else ()) if m == "STRICT"
    )
    out: list[PortView] = []
    for pp in ports:
        if not judged:
            out.append(PortView(port=pp.port, mode=pp.mode, why=pp.why))
            continue
        dial = _dial_ports(index, w, pp.port)
        mesh: list[Caller] = []
        if status.mode == "sidecar" and pp.mode == "DISABLE":
            mesh.append(
                Caller(
                    kind=MESH_CLIENTS,
                    who=f"every mesh client (auto mTLS sends plaintext to a {pp.mode} port)",
                )
            )
        for port, who in drs:
            if port is None or dial is None or port in dial:
                mesh.append(Caller(kind=MESH_CLIENTS, who=who))
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
                ingress_policies=ingress,
                strict_ports=strict if pp.port == ALL_PORTS else frozenset(),
            )
        )
    return tuple(out)


class _Namer:
    """Which plaintext senders a rule names, memoised per rule and per shared group of senders
    (a namespace-wide DENY is judged once for all of its workloads, not once per workload)."""

    def __init__(self, trust_domain: str) -> None:
        self.trust_domain = trust_domain
        self._groups: dict[tuple[str, int, int], tuple[tuple[Caller, ...], tuple[Caller, ...]]] = {}

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
        self, policy: A.Policy, index: int, view: PortView
    ) -> tuple[tuple[Caller, ...], ...]:
        if view.ingress_policies:
            return (view.mesh_clients,)
        return (
            view.mesh_clients,
            self.named(policy, index, view.outside),
            self.named(policy, index, view.capture),
        )


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
                            reached_groups=namer.reached_by(p, i, view),
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
    disabled = disable_clients(index)
    senders = mesh_callers(index)
    namer = _Namer(index.mesh.trust_domain)
    out: dict[str, IdentityView] = {}
    for entry in build_authorization(index):
        w = entry.workload
        if w is None or entry.role != "workload":
            continue
        mtls = entry_for(index, w, disabled)
        judged = any(
            I.requires_peer_identity(r)
            for p in entry.posture.policies
            if p.enforced and p.action in ("ALLOW", "DENY")
            for r in p.rules
        )
        views = _port_views(index, w, mtls.plaintext_ports, senders, disabled, judged=judged)
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

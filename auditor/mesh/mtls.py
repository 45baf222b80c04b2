"""The mTLS map: per workload, its mesh membership and the ports that accept plaintext, and why.

One entry per application workload (Deployment, StatefulSet, DaemonSet, or a Pod no controller
owns; gateways, waypoints and Istio's own components are left out: their listeners are the
exposure map's). For each: membership with its evidence (MeshIndex.mesh_status), the effective
PeerAuthentication mode and the policy that decided it (auditor/istio/mtls.py precedence), and
`plaintext_ports`: each port that accepts a connection without mesh identity, with who can send
it (any client outside the mesh; mesh clients too where a DestinationRule sets DISABLE; the
Kubernetes API server for an admission-webhook port).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.base.model import ResourceRef
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.istio.injection import SYSTEM_NAMESPACES
from auditor.istio.mtls import Effective, accepts_plaintext, client_tls_modes, port_level
from auditor.istio.refs import exported_to
from auditor.mesh.index import K_DR, MeshIndex, Workload

ALL_PORTS = "*"
OUTSIDE = "any client: no proxy or ztunnel checks identity"
NO_IDENTITY = "clients without a mesh identity (pods outside the mesh, nodes, the API server)"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaintextPort:
    port: int | str  # a workload port, or "*" for every port
    mode: str
    why: str
    source: ResourceRef | None
    callers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "mode": self.mode,
            "why": self.why,
            "policy": _ref(self.source),
            "from": list(self.callers),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MtlsEntry:
    workload: ResourceRef
    membership: dict[str, Any]
    mode: str | None
    policy: ResourceRef | None
    ports: tuple[int, ...]
    plaintext_ports: tuple[PlaintextPort, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": _ref(self.workload),
            **self.membership,
            "mode": self.mode,
            "policy": _ref(self.policy),
            "ports": list(self.ports),
            "accepts_plaintext": (
                "all"
                if any(p.port == ALL_PORTS for p in self.plaintext_ports)
                else ("some" if self.plaintext_ports else "none")
            ),
            "plaintext_ports": [p.to_json() for p in self.plaintext_ports],
        }


def _ref(ref: ResourceRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"kind": ref.kind, "namespace": ref.namespace or None, "name": ref.name}


def _source(effective: Effective) -> ResourceRef | None:
    src = effective.source
    return src.ref if isinstance(src, KObject) else None


def _policy_text(effective: Effective) -> str:
    src = effective.source
    if isinstance(src, KObject):
        return f"PeerAuthentication {src.namespace}/{src.name} sets {effective.mode}"
    return f"no PeerAuthentication applies: Istio's default {effective.mode}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableRule:
    """A DestinationRule setting that makes mesh clients send plaintext to a Service."""

    port: int | None  # the Service port, or None for every port
    who: str
    clients: frozenset[str] | None  # namespaces whose clients use it (None: every namespace)


def _client_namespaces(index: MeshIndex, dr: KObject, svc: KObject) -> frozenset[str] | None:
    """Where a DestinationRule applies to clients of `svc`: its own namespace, and, from the
    Service's namespace or the root namespace, every namespace it is exported to (Istio looks a
    rule up in the client's namespace, then the Service's, then the root namespace)."""
    own = frozenset({dr.namespace})
    if dr.namespace not in (svc.namespace, index.mesh.root_namespace):
        return own
    raw = dr.spec.get("exportTo")
    values = exported_to(
        [str(v) for v in raw] if isinstance(raw, list) else None,
        dr.namespace,
        index.mesh.default_destination_rule_export_to,
    )
    if "*" in values:
        return None
    return own | frozenset(v for v in values if v != "~")


def disable_rules(index: MeshIndex) -> dict[tuple[str, str], list[DisableRule]]:
    """DestinationRules that make mesh clients send plaintext (tls.mode DISABLE) to a Service:
    {(namespace, Service): [DisableRule]}; built once per index (read-only).

    A wildcard host (`*.shop.svc.cluster.local`) covers the Services it matches, except those a
    DestinationRule names exactly: Istio applies the most specific host's rule."""
    return index.cached(_disable_rules)


def _disable_rules(index: MeshIndex) -> dict[tuple[str, str], list[DisableRule]]:
    out: dict[tuple[str, str], list[DisableRule]] = {}
    rules: list[tuple[KObject, list[KObject]]] = []
    exact: set[tuple[str, str]] = set()
    for dr in index.snapshot.objects(K_DR):
        host = str(dr.spec.get("host") or "")
        if not host:
            continue
        if H.is_wildcard(host):
            pattern = H.fqdn(host, dr.namespace, index.domain)
            svcs = [s for h, s in index.services_by_host.items() if H.matches(pattern, h)]
            rules.append((dr, svcs))
            continue
        svc = index.service(host, dr.namespace)
        if svc is not None:
            exact.add((svc.namespace, svc.name))
            rules.append((dr, [svc]))
    for dr, svcs in rules:
        wildcard = H.is_wildcard(str(dr.spec.get("host") or ""))
        for _path, mode, port in client_tls_modes(dr.spec):
            if mode != "DISABLE":
                continue
            for svc in svcs:
                if wildcard and (svc.namespace, svc.name) in exact:
                    continue
                clients = _client_namespaces(index, dr, svc)
                where = "" if clients is None else f" for clients in {', '.join(sorted(clients))}"
                out.setdefault((svc.namespace, svc.name), []).append(
                    DisableRule(
                        port=port,
                        who=f"mesh clients, as DestinationRule {dr.namespace}/{dr.name} sets "
                        f"DISABLE{where}",
                        clients=clients,
                    )
                )
    return out


def disable_clients(index: MeshIndex) -> dict[tuple[str, str], list[tuple[int | None, str]]]:
    """`disable_rules` as {(namespace, Service): [(port or None, who)]} for the mTLS map; built
    once per index (read-only)."""
    return index.cached(_disable_clients)


def _disable_clients(index: MeshIndex) -> dict[tuple[str, str], list[tuple[int | None, str]]]:
    return {k: [(r.port, r.who) for r in v] for k, v in disable_rules(index).items()}


def entry_for(
    index: MeshIndex,
    w: Workload,
    disabled: dict[tuple[str, str], list[tuple[int | None, str]]],
) -> MtlsEntry:
    status = index.mesh_status(w)
    ports = index.workload_ports(w)
    webhooks = index.webhook_callers(w)
    membership = status.to_json()
    if not status.in_mesh:
        callers = [
            OUTSIDE,
            *(f"the Kubernetes API server ({h})" for hs in webhooks.values() for h in hs),
        ]
        return MtlsEntry(
            workload=w.obj.ref,
            membership=membership,
            mode=None,
            policy=None,
            ports=tuple(sorted(ports)),
            plaintext_ports=(
                PlaintextPort(
                    port=ALL_PORTS,
                    mode="NONE",
                    why=f"outside the mesh ({status.reason})",
                    source=None,
                    callers=tuple(callers),
                ),
            ),
        )
    pa_index = index.peer_authentication
    effective = pa_index.effective(w.namespace, w.labels)
    mode = effective.mode
    if status.membership == "ambient" and mode == "DISABLE":
        mode = "PERMISSIVE"  # ztunnel does not support DISABLE
    mesh_plaintext: dict[int | None, list[str]] = {}
    for svc in index.services_for(w):
        for port, who in disabled.get((svc.namespace, svc.name), ()):
            mesh_plaintext.setdefault(port, []).append(who)
    out: list[PlaintextPort] = []
    if accepts_plaintext(mode, status.membership):
        callers = [NO_IDENTITY, *mesh_plaintext.get(None, ())]
        out.append(
            PlaintextPort(
                port=ALL_PORTS,
                mode=mode,
                why=_policy_text(effective),
                source=_source(effective),
                callers=tuple(callers),
            )
        )
    pa = pa_index.workload_policy(w.namespace, w.labels)
    overrides = port_level(pa.spec) if pa is not None else {}
    for port in sorted(set(overrides) | set(webhooks)):
        port_effective = pa_index.port_mode(w.namespace, w.labels, port)
        pmode = port_effective.mode
        if status.membership == "ambient" and pmode == "DISABLE":
            pmode = "PERMISSIVE"
        if not accepts_plaintext(pmode, status.membership) or (
            out and port_effective.source is effective.source and pmode == mode
        ):
            continue
        callers = [NO_IDENTITY]
        callers += [f"the Kubernetes API server ({h})" for h in webhooks.get(port, ())]
        callers += mesh_plaintext.get(None, [])
        out.append(
            PlaintextPort(
                port=port,
                mode=pmode,
                why=(
                    f"PeerAuthentication {pa.namespace}/{pa.name} portLevelMtls sets {pmode}"
                    if pa is not None and port in overrides
                    else _policy_text(port_effective)
                ),
                source=_source(port_effective),
                callers=tuple(callers),
            )
        )
    return MtlsEntry(
        workload=w.obj.ref,
        membership=membership,
        mode=mode,
        policy=_source(effective),
        ports=tuple(sorted(ports)),
        plaintext_ports=tuple(out),
    )


def app_workloads(index: MeshIndex) -> list[Workload]:
    """Application workloads, sorted: no controller-owned Pods, no gateways, waypoints or Istio
    components, nothing in the Kubernetes system namespaces."""
    out = [
        w
        for w in index.workloads
        if not w.owned
        and w.namespace not in SYSTEM_NAMESPACES
        and index.mesh_status(w).role == "workload"
    ]
    return sorted(out, key=lambda w: (w.namespace, w.obj.kind, w.obj.name))


def build_mtls(index: MeshIndex) -> list[MtlsEntry]:
    """The mTLS view of every application workload; built once per index (read-only)."""
    return index.cached(_mtls)


def _mtls(index: MeshIndex) -> list[MtlsEntry]:
    return [mtls_entry(index, w) for w in app_workloads(index)]


def mtls_entry(index: MeshIndex, w: Workload) -> MtlsEntry:
    """`entry_for` with the index's DISABLE rules, made once per workload: the mTLS map and the
    identity model (auditor/mesh/identity_mtls.py) both read it (read-only)."""
    made = index.cached(_entries)
    found = made.get(w.key)
    if found is None:
        found = made[w.key] = entry_for(index, w, disable_clients(index))
    return found


def _entries(index: MeshIndex) -> dict[tuple[str, str, str], MtlsEntry]:
    return {}

"""Who sends plaintext to a workload: the senders the identity/mTLS join names ("from whom").

- every mesh client, when the server's mode for the port is DISABLE (auto mTLS sends no TLS to a
  DISABLE port: istio/istio pilot/pkg/networking/core cluster TLS, `MTLSDisable`) or a
  DestinationRule sets `tls.mode: DISABLE` toward the workload's Service;
- application workloads outside the mesh in the input (no proxy, no ztunnel);
- in-mesh sidecar workloads whose outbound capture excludes the port they dial
  (`traffic.sidecar.istio.io/excludeOutboundPorts`, matched in the caller's own network
  namespace against the Service port or the pod port) or every address;
- clients outside the cluster through a LoadBalancer or NodePort Service (or externalIPs);
- the Kubernetes API server on an admission-webhook port.
Workloads are grouped once per index and the groups shared between ports, so a mesh of thousands
of workloads holds one copy of each group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.istio import annotations as ann
from auditor.istio.injection import SYSTEM_NAMESPACES
from auditor.istio.netpol_ingress import selects_for_ingress
from auditor.mesh.index import MeshIndex, Workload

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
    labels: tuple[tuple[str, str], ...] = ()  # its pods' labels (ingress NetworkPolicies)
    # mesh clients: the namespaces whose clients send plaintext (None: every namespace)
    scope: frozenset[str] | None = None

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "who": self.who}


def service_account(w: Workload) -> str:
    return str(
        w.pod_spec.get("serviceAccountName") or w.pod_spec.get("serviceAccount") or "default"
    )


def display(w: Workload) -> str:
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
                    who=f"{display(w)} (outside the mesh)",
                    namespace=w.namespace,
                    service_account=service_account(w),
                    labels=tuple(sorted(w.labels.items())),
                )
            )
        elif status.mode == "sidecar":
            ports = _excluded_ports(w)
            if ports is None or ports:
                shown = "every address" if ports is None else ", ".join(map(str, sorted(ports)))
                caller = Caller(
                    kind=CAPTURE,
                    who=f"{display(w)} (outbound capture excludes {shown})",
                    namespace=w.namespace,
                    service_account=service_account(w),
                    dial_ports=ports,
                    labels=tuple(sorted(w.labels.items())),
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


def dial_ports(index: MeshIndex, w: Workload, port: int | str) -> set[int] | None:
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


def ingress_policies(index: MeshIndex, w: Workload) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """(namespace/name, spec) of the NetworkPolicies that isolate the workload for ingress."""
    return tuple(
        (f"{p.namespace}/{p.name}", p.spec)
        for p in index.network_policies.get(w.namespace, [])
        if selects_for_ingress(p.spec, w.labels)
    )


def named_ports(w: Workload) -> dict[str, int]:
    return {
        str(p["name"]): p["containerPort"]
        for c in w.pod_spec.get("containers") or ()
        if isinstance(c, Mapping)
        for p in c.get("ports") or ()
        if isinstance(p, Mapping) and p.get("name") and isinstance(p.get("containerPort"), int)
    }


def external_callers(index: MeshIndex, w: Workload) -> list[Caller]:
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

"""How a gateway is reached: the Services in front of it, their addresses and reachability, and
the Service ports that carry each server's or listener's port; with the protocol and reachability
classes the exposure map (auditor/mesh/exposure.py, auditor/mesh/exposure_gatewayapi.py) and the
checks share.

Istio Gateways: the Services in front of the workloads the selector picks (external when
LoadBalancer, NodePort or externalIPs; a ClusterIP-only gateway is internal). Gateway API Gateways
of Istio's class: the Service Istio deploys for it (`<name>-<class>`, or one selecting the
`gateway.networking.k8s.io/gateway-name` label, or named by a Hostname address),
`spec.addresses` and `status.addresses`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.base.model import LoadBalancerTls, ServicePort
from auditor.input.snapshot import KObject
from auditor.istio import gatewayapi as GA
from auditor.istio import lb_tls as L
from auditor.istio import reachability as R
from auditor.mesh.index import MeshIndex, Workload

TLS_PROTOCOLS = {"HTTPS", "TLS"}
PLAINTEXT_HTTP = {"HTTP", "HTTP2", "GRPC"}
EXTERNAL_TYPES = ("LoadBalancer", "NodePort")
# Reachability classes checks treat as exposed (severity as for the internet); internal and
# source-restricted load balancers are reachable from outside the cluster, but not exposed.
EXPOSED = (R.INTERNET, R.NODE_LOCAL)


def service_is_external(svc: KObject) -> bool:
    spec = svc.spec
    return spec.get("type") in EXTERNAL_TYPES or bool(spec.get("externalIPs"))


def service_addresses(svc: KObject) -> list[str]:
    """LoadBalancer IPs/hostnames, external IPs, and node ports (as `node:<port>`)."""
    out: list[str] = []
    status = svc.raw.get("status") or {}
    for ingress in ((status.get("loadBalancer") or {}).get("ingress")) or ():
        for key in ("ip", "hostname"):
            if ingress.get(key):
                out.append(str(ingress[key]))
    out.extend(str(ip) for ip in svc.spec.get("externalIPs") or ())
    if svc.spec.get("type") in EXTERNAL_TYPES:
        for port in svc.spec.get("ports") or ():
            if port.get("nodePort"):
                out.append(f"node:{port['nodePort']}")
    return out


@dataclass(frozen=True, slots=True)
class Frontend:
    """How clients reach a gateway: its Services, whether from outside, and at which addresses."""

    services: tuple[KObject, ...]
    external: bool
    addresses: tuple[str, ...]
    notes: tuple[str, ...] = ()
    # when no Service is in the input (Gateway API auto-deployment): the assumed reach
    assumed: R.Reach | None = None

    @property
    def reach(self) -> R.Reach:
        """The widest reachability class of the gateway's Services."""
        if not self.services:
            return self.assumed or R.Reach(R.CLUSTER, "no Service")
        return R.widest([R.service_reach(s.raw) for s in self.services])

    @property
    def exposed(self) -> bool:
        """Reachable from the internet or at the nodes' addresses (not only from inside the
        cluster, an internal load balancer or the allowed source ranges)."""
        return self.reach.cls in EXPOSED


def istio_gateway_frontend(index: MeshIndex, gw: KObject) -> Frontend:
    services = tuple(index.gateway_services(gw))
    addresses = sorted(
        {a for s in services if service_is_external(s) for a in service_addresses(s)}
    )
    return Frontend(
        services=services,
        external=any(service_is_external(s) for s in services),
        addresses=tuple(addresses),
    )


def k8s_gateway_frontend(index: MeshIndex, gw: KObject) -> Frontend:
    services = tuple(index.k8s_gateway_services(gw))
    addresses: set[str] = set()
    for source in (gw.spec.get("addresses"), (gw.raw.get("status") or {}).get("addresses")):
        for addr in source or ():
            if (addr.get("type") or "IPAddress") != "Hostname" and addr.get("value"):
                addresses.add(str(addr["value"]))
    addresses.update(a for s in services if service_is_external(s) for a in service_addresses(s))
    notes: tuple[str, ...] = ()
    if services:
        external = any(service_is_external(s) for s in services)
    else:
        # Istio deploys a Service for the Gateway; its type is LoadBalancer unless annotated.
        svc_type = gw.annotations.get(GA.SERVICE_TYPE_ANNOTATION) or "LoadBalancer"
        external = svc_type in EXTERNAL_TYPES
        if index.is_istio_k8s_gateway(gw):
            notes = (
                f"no Service for this Gateway in the input; Istio deploys `{gw.name}-"
                f"{gw.spec.get('gatewayClassName') or 'istio'}` of type {svc_type}",
            )
        else:
            notes = (
                f"no Service for this Gateway in the input; class "
                f"{gw.spec.get('gatewayClassName')!r} is not Istio's: taken as a load balancer",
            )
        assumed = R.service_reach(
            {
                "metadata": {"annotations": gw.annotations},
                "spec": {"type": svc_type},
                "status": {"loadBalancer": {"ingress": [{"ip": a} for a in sorted(addresses)]}},
            }
        )
        return Frontend(
            services=services,
            external=external,
            addresses=tuple(sorted(addresses)),
            notes=notes,
            assumed=assumed,
        )
    return Frontend(services=services, external=external, addresses=tuple(sorted(addresses)))


def listener_external(front: Frontend, ports: Sequence[ServicePort]) -> bool:
    """A listener is reachable from outside when an external Service carries its port; a port no
    Service carries (GW002) is not reachable at all, whatever the Service's type."""
    if not front.services:
        return front.external
    carrying = {(p.namespace, p.name) for p in ports}
    return any(service_is_external(s) for s in front.services if (s.namespace, s.name) in carrying)


def listener_reach(front: Frontend, ports: Sequence[ServicePort]) -> R.Reach:
    """The widest reachability class among the Services that carry a listener's port (cluster
    when none does)."""
    if not front.services:
        return front.assumed or R.Reach(R.CLUSTER, "no Service")
    carrying = {(p.namespace, p.name) for p in ports}
    return R.widest(
        [R.service_reach(s.raw) for s in front.services if (s.namespace, s.name) in carrying]
    )


def listener_lb_tls(front: Frontend, ports: Sequence[ServicePort]) -> LoadBalancerTls | None:
    """The TLS cloud load balancers terminate for a listener (auditor/istio/lb_tls.py): when
    every Service port that carries it from outside the cluster is a LoadBalancer port whose load
    balancer terminates TLS. None when one passes the bytes through as they come (or a NodePort
    or externalIPs Service carries it, or none does)."""
    by_key = {(s.namespace, s.name): s for s in front.services}
    found: list[LoadBalancerTls] = []
    for p in ports:
        svc = by_key.get((p.namespace, p.name))
        if svc is None or not service_is_external(svc):
            continue
        if svc.spec.get("type") != "LoadBalancer" or svc.spec.get("externalIPs"):
            return None
        spec_port = next(
            (
                sp
                for sp in svc.spec.get("ports") or ()
                if isinstance(sp, Mapping) and sp.get("port") == p.port
            ),
            None,
        )
        tls = L.port_tls(svc.raw, spec_port) if spec_port is not None else None
        if tls is None:
            return None
        found.append(tls)
    return found[0] if found else None


LB_TERMINATED = "LB_TERMINATED"


def lb_terminated(
    tls: bool, mode: str, lb_tls: LoadBalancerTls | None, target: str = "the gateway"
) -> tuple[bool, str, tuple[str, ...]]:
    """(internet hop encrypted, tls_mode, notes) of a listener whose load balancer may
    terminate TLS: a plaintext listener behind one is TLS on the internet hop
    (`LB_TERMINATED`), plaintext from the load balancer on."""
    if lb_tls is None:
        return tls, mode, ()
    where = f"TLS is terminated at the load balancer ({lb_tls.provider}, {lb_tls.annotation})"
    if tls:
        hop = (
            f"it re-encrypts to {target}"
            if lb_tls.backend_tls
            else ("it sends plaintext to this TLS listener, which cannot complete a handshake")
        )
        return tls, mode, (f"{where}; {hop}",)
    if lb_tls.backend_tls:
        return (
            True,
            LB_TERMINATED,
            (
                f"{where}; it re-encrypts to {target}, whose listener here is plaintext: those "
                "connections fail",
            ),
        )
    return (
        True,
        LB_TERMINATED,
        (f"{where}; the hop from the load balancer to {target} is plaintext inside the network",),
    )


def _container_port(workloads: Iterable[Workload], name: str) -> int | None:
    for w in workloads:
        for c in w.pod_spec.get("containers") or ():
            for p in c.get("ports") or ():
                if p.get("name") == name and isinstance(p.get("containerPort"), int):
                    return int(p["containerPort"])
    return None


def _service_port(svc: KObject, port: dict[str, Any]) -> ServicePort:
    target = port.get("targetPort")
    node = port.get("nodePort")
    return ServicePort(
        namespace=svc.namespace,
        name=svc.name,
        type=str(svc.spec.get("type") or "ClusterIP"),
        port=int(port["port"]),
        target_port=target if isinstance(target, int | str) else None,
        node_port=node if isinstance(node, int) else None,
    )


def istio_service_ports(
    services: Sequence[KObject], number: int, workloads: Sequence[Workload]
) -> tuple[ServicePort, ...]:
    """Service ports that deliver to a Gateway server port: its targetPort is the server's port
    (a named targetPort resolved through the gateway pods' container ports), or the Service port
    equals it (Istio translates a Service port to its targetPort)."""
    out: list[ServicePort] = []
    for svc in services:
        for port in svc.spec.get("ports") or ():
            if not isinstance(port.get("port"), int) or (port.get("protocol") or "TCP") != "TCP":
                continue
            target = port.get("targetPort")
            if isinstance(target, str):
                target = _container_port(workloads, target)
            if target is None:
                target = port["port"]
            if target == number or port["port"] == number:
                out.append(_service_port(svc, port))
    return tuple(sorted(out))


def k8s_service_ports(services: Sequence[KObject], number: int) -> tuple[ServicePort, ...]:
    """The auto-deployed Service exposes each listener port as a Service port of that number."""
    out = [
        _service_port(svc, port)
        for svc in services
        for port in svc.spec.get("ports") or ()
        if port.get("port") == number
    ]
    return tuple(sorted(out))

"""Entry points into the cluster that are not Istio gateways: the rest of the exposure map.

- Services of type LoadBalancer or NodePort, or with `externalIPs`, in front of applications
  (not gateway workloads): one entry per Service port, reaching the application directly,
  around any Istio gateway and its policies.
- Kubernetes Ingress objects (networking.k8s.io/v1): one entry per rule host, on 443 when a
  `tls` entry names the host (or names no hosts), else on 80; through an Istio gateway only when
  the class is Istio's (`istio`).
- Pods with `hostPort` (one entry per host port) or `hostNetwork` (one per container port): the
  node's own address.
- Gateway API Gateways of classes other than Istio's: their listeners, through a gateway that
  is not Istio's.

Each entry carries its reachability class (auditor.istio.reachability), the workloads behind it
and whether it passes an Istio gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from auditor.base.model import ExposureEntry, RouteRule, ServicePort
from auditor.input.snapshot import KObject
from auditor.istio import lb_tls as L
from auditor.istio import protocols as P
from auditor.istio import reachability as R
from auditor.mesh.exposure_frontend import lb_terminated, service_addresses, service_is_external
from auditor.mesh.exposure_gatewayapi import k8s_gateway_exposure
from auditor.mesh.index import K_INGRESS, K_KGATEWAY, K_SERVICE, MeshIndex, Workload

ISTIO_INGRESS_CLASS = "istio"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def workload_names(workloads: Iterable[Workload]) -> tuple[str, ...]:
    return tuple(sorted({f"{w.namespace}/{w.obj.name}" for w in workloads if not w.owned}))


def service_workloads(index: MeshIndex, svc: KObject) -> list[Workload]:
    selector = svc.spec.get("selector") or {}
    if not selector:
        return []
    return index.select_workloads(selector, svc.namespace)


def gateway_service_keys(index: MeshIndex) -> set[tuple[str, str]]:
    """Services in front of gateway workloads (Istio gateways, Gateway API deployments):
    those entries are the gateways' own, listed per listener by auditor.mesh.exposure. Built
    once per index (read-only)."""
    return index.cached(_gateway_service_keys)


def _gateway_service_keys(index: MeshIndex) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for gw in index.gateways.values():
        keys.update((s.namespace, s.name) for s in index.gateway_services(gw))
    for kgw in index.snapshot.objects(K_KGATEWAY):
        keys.update((s.namespace, s.name) for s in index.k8s_gateway_services(kgw))
    for svc in index.snapshot.objects(K_SERVICE):
        workloads = service_workloads(index, svc)
        if workloads and any(index.is_gateway(w) for w in workloads):
            keys.add((svc.namespace, svc.name))
    return keys


def _tls_mode(protocol: str) -> str:
    if P.encrypted(protocol):
        return "APPLICATION"
    if P.plaintext(protocol):
        return "NONE"
    return "UNKNOWN"


def service_entries(index: MeshIndex, skip: set[tuple[str, str]]) -> Iterator[ExposureEntry]:
    """One entry per port of each LoadBalancer/NodePort/externalIPs Service in front of an
    application."""
    for svc in index.snapshot.objects(K_SERVICE):
        if (svc.namespace, svc.name) in skip or not service_is_external(svc):
            continue
        reach = R.service_reach(svc.raw)
        workloads = service_workloads(index, svc)
        addresses = tuple(service_addresses(svc))
        host = next((a for a in addresses if not a.startswith("node:")), "*")
        notes: list[str] = []
        if not workloads:
            notes.append("no workload in the input matches the Service's selector")
        for i, port in enumerate(svc.spec.get("ports") or ()):
            if not isinstance(port, Mapping) or not isinstance(port.get("port"), int):
                continue
            protocol = P.port_protocol(port)
            target = port.get("targetPort")
            node = port.get("nodePort")
            sp = ServicePort(
                namespace=svc.namespace,
                name=svc.name,
                type=str(svc.spec.get("type") or "ClusterIP"),
                port=int(port["port"]),
                target_port=target if isinstance(target, int | str) else None,
                node_port=node if isinstance(node, int) else None,
            )
            port_notes = list(notes)
            if protocol == P.UNKNOWN:
                port_notes.append(
                    "protocol unknown: the port has no appProtocol and no protocol name prefix"
                )
            # a cloud load balancer may terminate TLS on this port (auditor/istio/lb_tls.py)
            lb_tls = None if svc.spec.get("externalIPs") else L.port_tls(svc.raw, port)
            # behind a terminating load balancer the pods speak what it sends them (TLS only
            # when it re-encrypts), whatever the port's name suggests
            edge = (
                lb_terminated(
                    lb_tls.backend_tls,
                    "APPLICATION" if lb_tls.backend_tls else "NONE",
                    lb_tls,
                    "the pods",
                )
                if lb_tls
                else (P.encrypted(protocol), _tls_mode(protocol), ())
            )
            label = f"ports[{i}]" + (f" ({port['name']})" if port.get("name") else "")
            yield ExposureEntry(
                host=host,
                port=int(port["port"]),
                protocol=protocol,
                tls=edge[0],
                tls_mode=edge[1],
                gateway=svc.ref,
                listener=label,
                external=reach.outside,
                addresses=addresses,
                routes=(),
                backends=(f"{svc.name}.{svc.namespace}.svc.{index.domain}:{port['port']}",),
                service_ports=(sp,),
                notes=tuple(port_notes) + edge[2],
                lb_tls=lb_tls,
                entry="service",
                reachability=reach.cls,
                reach_reason=reach.reason,
                source_ranges=reach.source_ranges,
                via_istio_gateway=False,
                workloads=workload_names(workloads),
            )


def ingress_class(ing: KObject) -> str:
    """spec.ingressClassName, else the older kubernetes.io/ingress.class annotation."""
    cls = ing.spec.get("ingressClassName")
    if isinstance(cls, str) and cls:
        return cls
    return str(ing.annotations.get(INGRESS_CLASS_ANNOTATION) or "")


def _ingress_backend(index: MeshIndex, ns: str, backend: Mapping[str, Any]) -> str | None:
    svc = backend.get("service")
    if isinstance(svc, Mapping) and svc.get("name"):
        port = svc.get("port") or {}
        number = port.get("number") if isinstance(port, Mapping) else None
        name = port.get("name") if isinstance(port, Mapping) else None
        suffix = f":{number}" if isinstance(number, int) else (f":{name}" if name else "")
        return f"{svc['name']}.{ns}.svc.{index.domain}{suffix}"
    res = backend.get("resource")
    if isinstance(res, Mapping) and res.get("name"):
        return f"{res.get('kind') or 'Resource'}/{ns}/{res['name']}"
    return None


def _tls_hosts(ing: KObject) -> tuple[set[str], bool]:
    """(hosts a tls entry names, whether some tls entry names no host: all hosts)."""
    hosts: set[str] = set()
    all_hosts = False
    for t in ing.spec.get("tls") or ():
        if not isinstance(t, Mapping):
            continue
        named = [str(h) for h in t.get("hosts") or ()]
        hosts.update(named)
        all_hosts = all_hosts or not named
    return hosts, all_hosts


def ingress_entries(index: MeshIndex) -> Iterator[ExposureEntry]:
    for ing in index.snapshot.objects(K_INGRESS):
        cls = ingress_class(ing)
        through_istio = cls == ISTIO_INGRESS_CLASS
        status = ing.raw.get("status") or {}
        reach = R.service_reach({"spec": {"type": "LoadBalancer"}, "status": status})
        addresses = tuple(
            str(x.get(k))
            for x in ((status.get("loadBalancer") or {}).get("ingress") or ())
            if isinstance(x, Mapping)
            for k in ("ip", "hostname")
            if x.get(k)
        )
        notes = (
            f"ingress class {cls or '(none: the cluster default)'}; reachability as the "
            "Ingress status addresses show it (the controller's Service decides)",
        )
        tls_hosts, tls_all = _tls_hosts(ing)
        rules: list[tuple[str, str, list[RouteRule]]] = []
        default = ing.spec.get("defaultBackend")
        if isinstance(default, Mapping):
            target = _ingress_backend(index, ing.namespace, default)
            rules.append(
                (
                    "*",
                    "defaultBackend",
                    [
                        RouteRule(
                            route=ing.ref, match="any request", backends=(target,) if target else ()
                        )
                    ],
                )
            )
        for i, rule in enumerate(ing.spec.get("rules") or ()):
            if not isinstance(rule, Mapping):
                continue
            host = str(rule.get("host") or "*")
            found: list[RouteRule] = []
            for path in ((rule.get("http") or {}).get("paths")) or ():
                if not isinstance(path, Mapping):
                    continue
                target = _ingress_backend(index, ing.namespace, path.get("backend") or {})
                match = f"path {path.get('pathType') or 'ImplementationSpecific'} " + str(
                    path.get("path") or "/"
                )
                found.append(
                    RouteRule(route=ing.ref, match=match, backends=(target,) if target else ())
                )
            rules.append((host, f"rules[{i}]", found))
        for host, listener, found in rules:
            tls = tls_all or host in tls_hosts
            backends = tuple(sorted({b for r in found for b in r.backends}))
            workloads: list[Workload] = []
            for b in backends:
                svc = index.services_by_host.get(b.rsplit(":", 1)[0])
                if svc is not None:
                    workloads.extend(service_workloads(index, svc))
            yield ExposureEntry(
                host=host,
                port=443 if tls else 80,
                protocol="HTTPS" if tls else "HTTP",
                tls=tls,
                tls_mode="SIMPLE" if tls else "NONE",
                gateway=ing.ref,
                listener=listener,
                external=reach.outside,
                addresses=addresses,
                routes=(ing.ref,),
                backends=backends,
                notes=notes,
                rules=tuple(found),
                entry="ingress",
                reachability=reach.cls,
                reach_reason=reach.reason,
                via_istio_gateway=through_istio,
                workloads=workload_names(workloads),
            )


def host_entries(index: MeshIndex) -> Iterator[ExposureEntry]:
    """Pods on the node's network: each hostPort, and each container port of a hostNetwork pod."""
    for w in index.workloads:
        if w.owned or index.is_gateway(w):
            continue
        host_network = bool(w.pod_spec.get("hostNetwork"))
        for c in w.pod_spec.get("containers") or ():
            for p in c.get("ports") or ():
                if not isinstance(p, Mapping) or not isinstance(p.get("containerPort"), int):
                    continue
                host_port = p.get("hostPort")
                if not host_network and not isinstance(host_port, int):
                    continue
                number = int(host_port if isinstance(host_port, int) else p["containerPort"])
                protocol = P.port_protocol({"name": p.get("name"), "protocol": p.get("protocol")})
                kind = "host-network" if host_network else "host-port"
                yield ExposureEntry(
                    host="*",
                    port=number,
                    protocol=protocol,
                    tls=P.encrypted(protocol),
                    tls_mode=_tls_mode(protocol),
                    gateway=w.obj.ref,
                    listener=f"{c.get('name')}:{p['containerPort']}",
                    external=True,
                    addresses=(f"node:{number}",),
                    routes=(),
                    backends=(),
                    entry=kind,
                    reachability=R.NODE_LOCAL,
                    reach_reason="hostNetwork: the pod listens on the node's address"
                    if host_network
                    else f"hostPort {number} on the node's address",
                    via_istio_gateway=False,
                    workloads=(f"{w.namespace}/{w.obj.name}",),
                )


def other_gateway_entries(index: MeshIndex) -> Iterator[ExposureEntry]:
    """Gateway API Gateways of classes other than Istio's: their listeners, not through Istio."""
    for kgw in index.snapshot.objects(K_KGATEWAY):
        if index.is_istio_k8s_gateway(kgw):
            continue
        for entry in k8s_gateway_exposure(index, kgw):
            yield replace(entry, via_istio_gateway=False)


def build_entry_points(index: MeshIndex) -> list[ExposureEntry]:
    """The entry points around the Istio gateways (load balancers, node ports, Ingresses, host
    ports, other gateways); built once per index (read-only)."""
    return index.cached(_entry_points)


def _entry_points(index: MeshIndex) -> list[ExposureEntry]:
    skip = gateway_service_keys(index)
    entries: list[ExposureEntry] = []
    entries.extend(service_entries(index, skip))
    entries.extend(ingress_entries(index))
    entries.extend(host_entries(index))
    entries.extend(other_gateway_entries(index))
    return entries

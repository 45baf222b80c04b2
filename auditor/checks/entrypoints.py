"""Entry points around the Istio ingress gateway: applications reachable from outside the cluster
without passing an Istio gateway (its TLS, its AuthorizationPolicies, its routes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from auditor.base.model import Category, ExposureEntry, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.istio import injection as inj
from auditor.istio import reachability as R
from auditor.mesh.entrypoints import (
    gateway_service_keys,
    host_entries,
    ingress_class,
    ingress_entries,
    service_entries,
)
from auditor.mesh.index import (
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_INGRESS,
    K_POD,
    K_SERVICE,
    K_STATEFULSET,
)

WORKLOAD_NEEDS = (K_POD, K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET)
SERVICE_DOCS = "https://kubernetes.io/docs/concepts/services-networking/service/"
INGRESS_DOCS = "https://kubernetes.io/docs/concepts/services-networking/ingress/"
ISTIO_INGRESS = "https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/"
FIREWALL_DOCS = (
    "https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/"
)


def around_severity(reach: str, plaintext: bool) -> Severity:
    """Internet: high in plaintext, else medium; node addresses: one step lower; internal or
    source-restricted load balancers: low (not internet-facing)."""
    if reach == R.INTERNET:
        return Severity.HIGH if plaintext else Severity.MEDIUM
    if reach == R.NODE_LOCAL:
        return Severity.MEDIUM if plaintext else Severity.LOW
    return Severity.LOW


def _why(reach: str, plaintext: bool) -> str:
    """Why around_severity gave what it gave, in words that follow the severity."""
    return f"reachable from {R.describe(reach)}" + (", in plaintext" if plaintext else "")


def _worst(entries: Sequence[ExposureEntry]) -> tuple[Severity, str, bool]:
    """(severity, reachability class, any plaintext) over one resource's entries."""
    best = (Severity.INFO, R.CLUSTER, False)
    for e in entries:
        plain = not e.tls and e.tls_mode == "NONE"
        sev = around_severity(e.reachability, plain)
        if (sev, R.ORDER[::-1].index(e.reachability)) > (best[0], R.ORDER[::-1].index(best[1])):
            best = (sev, e.reachability, plain)
    return best[0], best[1], any(not e.tls and e.tls_mode == "NONE" for e in entries)


def _ports_text(entries: Sequence[ExposureEntry]) -> str:
    parts = []
    for e in entries:
        node = next((sp.node_port for sp in e.service_ports if sp.node_port), None)
        shown = f"{e.port}/{e.protocol}" + (f" (node port {node})" if node else "")
        parts.append(shown)
    return ", ".join(parts)


def _workloads_text(entries: Sequence[ExposureEntry]) -> str:
    names = sorted({w for e in entries for w in e.workloads})
    return ", ".join(names) if names else "no workload in the input"


@check(
    id="GW006",
    title="Application Service reachable from outside around the Istio ingress gateway",
    category=Category.EXPOSURE,
    severity=Severity.HIGH,
    severity_range=(Severity.LOW, Severity.HIGH),
    needs=(K_SERVICE, *WORKLOAD_NEEDS),
    remediation=(
        "Make the Service ClusterIP and publish the application through the Istio ingress "
        "gateway (a Gateway server with TLS and a VirtualService), where its TLS, "
        "AuthorizationPolicies and routes apply; if it must stay a load balancer, make it "
        "internal for your cloud or limit spec.loadBalancerSourceRanges, and serve TLS."
    ),
    references=(SERVICE_DOCS, ISTIO_INGRESS, FIREWALL_DOCS),
)
def service_around_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A LoadBalancer, NodePort or externalIPs Service in front of an application (not a gateway
    workload) lets clients outside the cluster reach the application directly.

    Nothing of the mesh's edge applies on that path: no gateway TLS, no gateway
    AuthorizationPolicy or rate limit, no route restricting which paths are public; with the
    application's sidecar in PERMISSIVE mode it also accepts plaintext. Fires once per Service,
    naming its ports, their protocol (Istio's protocol selection: appProtocol or port-name
    prefix) and the workloads behind it. Severity by reachability class and protocol: internet
    and HTTP in plaintext high, internet otherwise medium; NodePort (every node's address)
    medium in plaintext, else low; internal or source-restricted load balancers low.
    """
    skip = gateway_service_keys(ctx.index)
    by_service: dict[str, list[ExposureEntry]] = {}
    for e in service_entries(ctx.index, skip):
        by_service.setdefault(e.gateway.key, []).append(e)
    for entries in by_service.values():
        first = entries[0]
        severity, reach, plain = _worst(entries)
        svc_type = first.service_ports[0].type if first.service_ports else "Service"
        yield Result(
            resource=first.gateway,
            path="spec.type",
            severity=severity,
            severity_reason=_why(reach, plain),
            message=(
                f"{svc_type} Service {first.gateway.namespace}/{first.gateway.name} exposes "
                f"{_workloads_text(entries)} on port(s) {_ports_text(entries)} to "
                f"{R.describe(reach)}, around the Istio ingress gateway"
                + (
                    "; plaintext HTTP on "
                    + ", ".join(str(e.port) for e in entries if not e.tls and e.tls_mode == "NONE")
                    if plain
                    else ""
                )
                + (f" ({first.reach_reason})" if reach in (R.RESTRICTED, R.INTERNAL) else "")
            ),
            evidence={
                "type": svc_type,
                "ports": [f"{e.port}/{e.protocol}" for e in entries],
                "reachability": reach,
                "source_ranges": list(first.source_ranges),
                "addresses": list(first.addresses),
                "workloads": sorted({w for e in entries for w in e.workloads}),
            },
        )


@check(
    id="GW007",
    title="Ingress routes to applications through a controller other than Istio's gateway",
    category=Category.EXPOSURE,
    severity=Severity.HIGH,
    severity_range=(Severity.LOW, Severity.HIGH),
    needs=(K_INGRESS, K_SERVICE, *WORKLOAD_NEEDS),
    remediation=(
        "Publish the hosts through the Istio ingress gateway (a Gateway and VirtualService, or "
        "ingressClassName: istio), or make sure the other controller terminates TLS for every "
        "host (spec.tls) and is itself in the mesh."
    ),
    references=(
        INGRESS_DOCS,
        "https://istio.io/latest/docs/tasks/traffic-management/ingress/kubernetes-ingress/",
    ),
)
def ingress_around_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A Kubernetes Ingress of a class other than `istio` sends outside traffic to mesh
    applications through another ingress controller, around the Istio gateway's TLS and policies.

    Fires once per Ingress whose class is not Istio's, listing its hosts, which of them have no
    TLS entry (plaintext), and the backends. Severity by the reachability its status addresses
    show (internet when none is recorded, as a controller's public load balancer would be) and
    TLS: high when a host is served in plaintext to the internet, medium otherwise; low when the
    addresses are private.
    """
    by_ingress: dict[str, list[ExposureEntry]] = {}
    for e in ingress_entries(ctx.index):
        if not e.via_istio_gateway:
            by_ingress.setdefault(e.gateway.key, []).append(e)
    for entries in by_ingress.values():
        first = entries[0]
        ing = ctx.snapshot.get(K_INGRESS, first.gateway.namespace, first.gateway.name)
        cls = ingress_class(ing) if ing is not None else ""
        severity, reach, plain = _worst(entries)
        plain_hosts = sorted({e.host for e in entries if not e.tls})
        backends = sorted({b for e in entries for b in e.backends})
        yield Result(
            resource=first.gateway,
            path="spec.ingressClassName"
            if ing is not None and ing.spec.get("ingressClassName")
            else "spec",
            severity=severity,
            severity_reason=_why(reach, plain),
            message=(
                f"Ingress {first.gateway.namespace}/{first.gateway.name} (class "
                f"{cls or 'default'}) sends {', '.join(sorted({e.host for e in entries}))} from "
                f"{R.describe(reach)} to {', '.join(backends) or 'no backend'} around the Istio "
                "ingress gateway"
                + (f"; without TLS: {', '.join(plain_hosts)}" if plain_hosts else "")
            ),
            evidence={
                "class": cls,
                "hosts": sorted({e.host for e in entries}),
                "plaintext_hosts": plain_hosts,
                "backends": backends,
                "reachability": reach,
            },
        )


@check(
    id="GW008",
    title="Workload listens on the node's address (hostPort or hostNetwork)",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    severity_range=(Severity.LOW, Severity.MEDIUM),
    needs=WORKLOAD_NEEDS,
    remediation=(
        "Remove hostPort (or hostNetwork) and expose the workload through a ClusterIP Service "
        "published by the Istio ingress gateway; if it must listen on the node, restrict who "
        "reaches the node's ports with the node's firewall or the cloud's security groups."
    ),
    references=(
        "https://kubernetes.io/docs/concepts/configuration/overview/#services",
        "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#ports",
        ISTIO_INGRESS,
    ),
)
def host_port_around_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A container `hostPort` opens a port on the node's own address, and a pod on the host
    network listens there on every container port it declares (Kubernetes: on the host network
    a container's hostPort must equal its containerPort): anyone who reaches the node reaches
    the application, around the ingress gateway and the Service abstraction.

    Fires once per workload (not gateway pods; for the host network, not in the Kubernetes
    system namespaces, whose node agents use it by design) with a hostPort or, on the host
    network, a declared container port: medium for an HTTP-family port (plaintext), low
    otherwise. Its egress on the host network is BYP007's.
    """
    by_workload: dict[str, list[ExposureEntry]] = {}
    for e in host_entries(ctx.index):
        if e.entry == "host-network" and e.gateway.namespace in inj.SYSTEM_NAMESPACES:
            continue
        by_workload.setdefault(e.gateway.key, []).append(e)
    for entries in by_workload.values():
        first = entries[0]
        ref = first.gateway
        severity, reach, plain = _worst(entries)
        network = first.entry == "host-network"
        spec = "spec" if ref.kind == "Pod" else _spec_path(ctx, ref.kind, ref.namespace, ref.name)
        yield Result(
            resource=ref,
            path=f"{spec}.hostNetwork" if network else f"{spec}.containers",
            severity=severity,
            severity_reason=_why(reach, plain),
            message=(
                f"{ref.kind} {ref.namespace}/{ref.name} listens on the node's address "
                + ("(hostNetwork) on port(s) " if network else "on host port(s) ")
                + f"{', '.join(f'{e.port}/{e.protocol}' for e in entries)}, around the Istio "
                "ingress gateway"
                + (
                    "; plaintext HTTP on "
                    + ", ".join(str(e.port) for e in entries if not e.tls and e.tls_mode == "NONE")
                    if plain
                    else ""
                )
            ),
            evidence={
                "host_ports": [f"{e.port}/{e.protocol}" for e in entries],
                "host_network": network,
            },
        )


def _spec_path(ctx: CheckContext, kind: str, namespace: str, name: str) -> str:
    """The pod spec's field path in the workload's own object (`spec.template.spec`, ...)."""
    for w in ctx.index.workloads_by_namespace.get(namespace, ()):
        if (w.obj.kind, w.obj.name) == (kind, name):
            return w.spec_path
    return "spec.template.spec"

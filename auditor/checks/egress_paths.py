"""Checks on the egress model's destinations: cloud metadata endpoints opened to workloads, and
bytes that cross the internet in clear text (auditor.mesh.egress, auditor.istio.destinations)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio.destinations import DestinationClass
from auditor.mesh.egress import EgressEntry, PortEntry, egress_model, registrations
from auditor.mesh.index import K_DEPLOYMENT, K_DR, K_GATEWAY, K_NETPOL, K_POD, K_SE, K_VS

SE_DOCS = "https://istio.io/latest/docs/reference/config/networking/service-entry/"
TLS_ORIGINATION_DOCS = (
    "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-tls-origination/"
)
GATEWAY_TLS_DOCS = (
    "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway-tls-origination/"
)
GKE_METADATA_DOCS = (
    "https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#metadata_server"
)
AWS_IMDS_DOCS = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html"
)
NETPOL_DOCS = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
PLAINTEXT_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "TCP", "MONGO", "REDIS", "MYSQL"})
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC"})


def _entries(ctx: CheckContext) -> Iterator[tuple[KObject, str, EgressEntry]]:
    """(registering object, field path, egress entry) for every registered external host."""
    return registrations(ctx.index)


def _port_index(se: KObject, number: int) -> int | None:
    for i, p in enumerate(se.spec.get("ports") or ()):
        if p.get("number") == number:
            return i
    return None


def _callers(port: PortEntry) -> list[str]:
    return [f"{g.namespace}: {g.why} ({g.enforcement()})" for g in port.direct if g.reachable]


@check(
    id="EGR010",
    title="ServiceEntry opens a cloud metadata endpoint to workloads",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.HIGH,
    severity_range=(Severity.INFO, Severity.HIGH),
    needs=(K_SE, K_VS, K_GATEWAY, K_NETPOL, K_DEPLOYMENT, K_POD),
    remediation=(
        "Remove the ServiceEntry unless the workloads need node or instance credentials; give "
        "them their own identity instead (GKE Workload Identity, EKS IAM roles for service "
        "accounts, Azure workload identity) and, on AWS, require IMDSv2 with a hop limit of 1. "
        "Block the endpoint for every other pod with a NetworkPolicy egress `ipBlock` whose "
        "`except` lists it (169.254.169.254/32). Do not route it through an egress gateway: "
        "the metadata server identifies its caller by source address."
    ),
    references=(SE_DOCS, GKE_METADATA_DOCS, AWS_IMDS_DOCS, NETPOL_DOCS),
)
def metadata_endpoint_registered(ctx: CheckContext) -> Iterator[Result]:
    """The node's cloud metadata server hands out credentials of whoever it takes the caller
    to be: the node's service account or instance role, unless the platform's per-pod identity
    intercepts it. A ServiceEntry for it (169.254.169.254, fd00:ec2::254,
    metadata.google.internal, ...) tells the mesh that workloads are meant to call it.

    Fires per ServiceEntry host whose destination class is `metadata`, when some workload can
    reach it: straight from its proxy or outside the mesh with no NetworkPolicy blocking it, or
    through an egress gateway (every caller then gets the gateway pod's identity). A host no
    workload can reach (NetworkPolicy blocks every one) does not fire; one reachable only
    because a NetworkPolicy names the metadata address itself is informational (a deliberate
    allowance, as GKE Workload Identity set-ups make: the finding still names who can call
    it).
    """
    for se, hpath, entry in _entries(ctx):
        if entry.destination_class is not DestinationClass.METADATA:
            continue
        callers = [c for p in entry.ports for c in _callers(p)]
        careless = [g for p in entry.ports for g in p.direct if g.reachable and not g.deliberate]
        via = [p for p in entry.ports if p.path == "egress-gateway" and p.gateway is not None]
        if not callers and not via and egress_model(ctx.index).reachers.groups:
            continue
        how = []
        if via:
            gw = via[0].gateway
            assert gw is not None
            how.append(
                f"routed through egress gateway {gw.namespace}/{gw.name}, which calls it with "
                "its own identity for every caller"
            )
        if callers:
            how.append("reachable from " + "; ".join(dict.fromkeys(callers)))
        if not how:
            how.append("any workload the entry is exported to may call it")
        yield Result(
            resource=se.ref,
            path=hpath,
            detail=entry.host,
            message=(
                f"{se.kind} {se.namespace}/{se.name} registers cloud metadata endpoint "
                f"{entry.host} ({', '.join(entry.addresses) or 'address unknown'}): "
                + "; ".join(how)
            ),
            evidence={
                "host": entry.host,
                "addresses": list(entry.addresses),
                "callers": list(dict.fromkeys(callers)),
            },
            severity=None if via or careless or not callers else Severity.INFO,
            severity_reason="only the callers its registration names reach it, directly",
        )


@check(
    id="TLS012",
    title="Plaintext egress to the internet",
    category=Category.TLS,
    severity=Severity.MEDIUM,
    severity_range=(Severity.INFO, Severity.MEDIUM),
    needs=(K_SE, K_VS, K_GATEWAY, K_DR, K_DEPLOYMENT, K_POD),
    remediation=(
        "Have the application call the https:// endpoint, or originate TLS in the mesh: a "
        "DestinationRule for the host with `tls.mode: SIMPLE` (and `credentialName` or "
        "`caCertificates` to verify the server) on the port that leaves the mesh, at the "
        "egress gateway or the sidecar, as Istio's TLS origination tasks show."
    ),
    references=(TLS_ORIGINATION_DOCS, GATEWAY_TLS_DOCS),
)
def plaintext_internet_egress(ctx: CheckContext) -> Iterator[Result]:
    """A request that leaves the cluster for the internet unencrypted can be read and changed
    by every network between the node and the destination; mTLS inside the mesh ends at the
    sidecar or the egress gateway.

    Fires per ServiceEntry port of an internet host (destination class `public`, or `unknown`
    one level lower) whose protocol is plaintext (HTTP, HTTP2, GRPC, TCP and the like) and on
    whose path out nothing originates TLS (no DestinationRule with `tls.mode` SIMPLE or MUTUAL
    for the hop that leaves the mesh), when some workload's traffic actually takes that port
    out. HTTP is medium; TCP is low because the application may run its own TLS inside it; one
    level lower when the only way out is a NetworkPolicy naming specific addresses.
    """
    for se, hpath, entry in _entries(ctx):
        if entry.destination_class not in (DestinationClass.PUBLIC, DestinationClass.UNKNOWN):
            continue
        if entry.host == "*":
            continue  # EGR006 judges a ServiceEntry for every host
        for port in entry.ports:
            if port.protocol not in PLAINTEXT_PROTOCOLS or port.tls_origination != "none":
                continue
            if not port.used and egress_model(ctx.index).reachers.groups:
                continue
            i = _port_index(se, port.number) if se.kind == "ServiceEntry" else None
            http = port.protocol in HTTP_PROTOCOLS
            severity = Severity.MEDIUM if http else Severity.LOW
            reasons = [] if http else [f"{port.protocol}: the application may run TLS inside"]
            reach = [g for g in port.direct if g.reachable]
            limited = port.path == "direct" and bool(reach) and all(g.deliberate for g in reach)
            if entry.destination_class is DestinationClass.UNKNOWN or limited:
                severity = Severity.LOW if http else Severity.INFO
                reasons.append(
                    "the destination may not be on the internet"
                    if entry.destination_class is DestinationClass.UNKNOWN
                    else "only a NetworkPolicy naming the destination lets it out"
                )
            if port.path == "egress-gateway" and port.gateway is not None:
                where = f"the egress gateway {port.gateway.namespace}/{port.gateway.name} sends it"
            elif port.path == "egress-waypoint" and port.gateway is not None:
                where = f"the waypoint {port.gateway.namespace}/{port.gateway.name} sends it"
            else:
                where = "workloads send it"
            yield Result(
                resource=se.ref,
                path=f"spec.ports[{i}]" if i is not None else hpath,
                detail=f"{entry.host}:{port.number}",
                message=(
                    f"{entry.host} port {port.number} ({port.protocol}, {se.kind} "
                    f"{se.namespace}/{se.name}): {where} to the internet in clear text; no "
                    "TLS is originated on the way out"
                ),
                evidence={
                    "host": entry.host,
                    "port": port.number,
                    "protocol": port.protocol,
                    "path": port.path,
                    "destination_class": str(entry.destination_class),
                },
                severity=severity,
                severity_reason="; ".join(reasons),
            )

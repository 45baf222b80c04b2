"""Checks on observed egress (`scan --prometheus`): traffic Istio's metrics recorded in the window
that the configuration says should not happen, and registrations nothing used
(auditor/mesh/observed.py joins the metrics to the egress model).

They run only when Prometheus answered; without `--prometheus` they have no input and say so in
`check_runs[]`.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, ResourceRef, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.mesh.egress import PROXY_SENDS, registrations
from auditor.mesh.index import K_DEPLOYMENT, K_GATEWAY, K_POD, K_SE, K_SIDECAR, K_VS
from auditor.mesh.observed import DID_BYPASS, NOT_OBSERVED, ObservedEgress, Source, Traffic

METRICS_DOCS = "https://istio.io/latest/docs/reference/config/metrics/"
MONITORING_BLOG = "https://istio.io/latest/blog/2019/monitoring-external-service-traffic/"
EGRESS_GW_DOCS = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/"
EGRESS_DOCS = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/"


def _observed(ctx: CheckContext) -> ObservedEgress:
    observed = ctx.observed
    assert observed is not None  # the runner runs these checks only with observed traffic
    return observed


def _sources(traffic: Traffic) -> list[str]:
    shown = [f"{s.name} ({_counts(s)})" for s in traffic.sources]
    more = traffic.sources_total - len(traffic.sources)
    return shown + ([f"and {more} more"] if more > 0 else [])


def _counts(s: Source) -> str:
    return Traffic(requests=s.requests, connections=s.connections, bytes=s.bytes).describe()


def _workload_ref(ctx: CheckContext, source: Source) -> ResourceRef:
    for wl in ctx.index.workloads:
        if not wl.owned and wl.namespace == source.namespace and wl.obj.name == source.workload:
            return wl.obj.ref
    # not in the input (deleted since, or a Pod's generated name): named as the metric names it
    return ResourceRef(group="", kind="Workload", namespace=source.namespace, name=source.workload)


@check(
    id="BYP011",
    title="Traffic observed leaving directly where the configuration allows no direct path",
    category=Category.EGRESS_BYPASS,
    severity=Severity.HIGH,
    needs=(K_SE, K_VS, K_GATEWAY, K_DEPLOYMENT, K_POD),
    remediation=(
        "Find out how the named workloads reached the host without the egress gateway: the "
        "mesh leg of the VirtualService added during the window, a Sidecar or exportTo that "
        "hides it from them, or the workloads calling an address rather than the name. Then "
        "keep them from it with a NetworkPolicy that allows egress only to the egress gateway "
        "and DNS, as Istio's egress gateway task advises."
    ),
    references=(EGRESS_GW_DOCS, METRICS_DOCS),
    telemetry=True,
)
def observed_direct_despite_gateway(ctx: CheckContext) -> Iterator[Result]:
    """The configuration says a host leaves through the egress gateway (or that no workload's
    proxy sends it straight out), but Istio's metrics recorded workloads' own proxies sending it
    to the host in the window: the border control the configuration promises did not hold.

    Fires per registration of an external host for which Istio's standard metrics
    (`reporter="source"`, `destination_service` the host, a source workload that is not an
    egress gateway) show direct traffic in the window while no port of the host is one that
    some workload's proxy sends straight out in the egress model. Traffic from workloads the
    model already says send it directly is BYP001's evidence, not this contradiction.
    """
    observed = _observed(ctx)
    for obj, path, entry in registrations(ctx.index):
        seen = observed.hosts.get(entry.host)
        if seen is None or seen.verdict != DID_BYPASS:
            continue
        if any(g.why.startswith(PROXY_SENDS) for p in entry.ports for g in p.direct):
            continue
        how = (
            "routes it through an egress gateway"
            if seen.routed
            else "lets no workload's proxy send it straight out"
        )
        yield Result(
            resource=obj.ref,
            path=path,
            detail=entry.host,
            message=(
                f"{entry.host} ({obj.kind} {obj.namespace}/{obj.name}): the configuration {how}, "
                f"but in the last {observed.telemetry.since} workloads sent it directly: "
                f"{seen.direct.describe()} from {'; '.join(_sources(seen.direct))}"
            ),
            evidence={
                "host": entry.host,
                "routed": seen.routed,
                "direct": seen.direct.to_json(),
                "via_gateway": seen.via_gateway.to_json(),
                "window": observed.telemetry.since,
            },
        )


@check(
    id="EGR011",
    title="Workload sent traffic to unregistered destinations (PassthroughCluster)",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.MEDIUM,
    needs=(K_DEPLOYMENT, K_POD),
    remediation=(
        "Register the destinations the workload needs with ServiceEntries (the Host names in "
        "the evidence, or the addresses from its proxy's access log for TCP), then set "
        "`outboundTrafficPolicy.mode: REGISTRY_ONLY` so that nothing else passes."
    ),
    references=(MONITORING_BLOG, EGRESS_DOCS, METRICS_DOCS),
    telemetry=True,
)
def observed_passthrough(ctx: CheckContext) -> Iterator[Result]:
    """Under ALLOW_ANY a proxy passes traffic for any destination nothing registers through its
    PassthroughCluster: no policy, no inventory. Istio's metrics name it
    (`destination_service_name="PassthroughCluster"`), with the source workload.

    Fires per source workload with PassthroughCluster traffic in the window (the unregistered
    use EGR001 and EGR002 say is possible, observed). The evidence lists the Host names HTTP
    requests carried; TCP connections carry none.
    """
    observed = _observed(ctx)
    for source, hosts in _per_source(observed, "passthrough"):
        yield Result(
            resource=_workload_ref(ctx, source),
            detail=f"passthrough {source.name}",
            message=(
                f"{source.name} sent {_counts(source)} to destinations no ServiceEntry "
                f"registers (PassthroughCluster) in the last {observed.telemetry.since}"
                + (f": {', '.join(hosts)}" if hosts else "")
                + f" (mesh outboundTrafficPolicy {ctx.mesh.outbound_mode})"
            ),
            evidence={
                "source": source.to_json(),
                "destinations": hosts,
                "window": observed.telemetry.since,
            },
        )


@check(
    id="EGR012",
    title="Workload attempted egress the mesh blocks (BlackHoleCluster)",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.LOW,
    needs=(K_DEPLOYMENT, K_POD, K_SIDECAR),
    remediation=(
        "Find out why the workload calls a destination nothing registers: a missing "
        "ServiceEntry for a dependency it needs, or a call it should not make. Register the "
        "former; investigate the latter."
    ),
    references=(MONITORING_BLOG, METRICS_DOCS),
    telemetry=True,
)
def observed_blackhole(ctx: CheckContext) -> Iterator[Result]:
    """Under REGISTRY_ONLY (mesh-wide or a Sidecar's) the proxy refuses unregistered
    destinations through its BlackHoleCluster. The refusal worked, but who tried is worth
    knowing: a missing registration breaking a feature, or a workload calling out where it
    should not.

    Fires per source workload with BlackHoleCluster requests or connections in the window.
    """
    observed = _observed(ctx)
    for source, hosts in _per_source(observed, "blackhole"):
        yield Result(
            resource=_workload_ref(ctx, source),
            detail=f"blackhole {source.name}",
            message=(
                f"{source.name} tried {_counts(source)} to unregistered destinations the mesh "
                f"refused (BlackHoleCluster) in the last {observed.telemetry.since}"
                + (f": {', '.join(hosts)}" if hosts else "")
            ),
            evidence={
                "source": source.to_json(),
                "destinations": hosts,
                "window": observed.telemetry.since,
            },
        )


@check(
    id="EGR013",
    title="Registered external host saw no traffic in the window",
    category=Category.EGRESS_REGISTRATION,
    severity=Severity.INFO,
    needs=(K_SE,),
    remediation=(
        "If nothing needs the host any more, remove its registration: every registered host is "
        "a way out. Check a longer window first for jobs that run rarely."
    ),
    references=(METRICS_DOCS,),
    telemetry=True,
)
def observed_unused(ctx: CheckContext) -> Iterator[Result]:
    """A registration nobody uses still opens a way out. Candidates to remove.

    Fires per registration of an external host with no traffic at all in the window (neither
    from sidecars nor from an egress gateway), only when Prometheus covers the whole window.
    """
    observed = _observed(ctx)
    if not observed.full_window:
        return
    unused = set(observed.unused)
    for obj, path, entry in registrations(ctx.index):
        seen = observed.hosts.get(entry.host)
        if entry.host not in unused or seen is None or seen.verdict != NOT_OBSERVED:
            continue
        yield Result(
            resource=obj.ref,
            path=path,
            detail=entry.host,
            message=(
                f"{entry.host} ({obj.kind} {obj.namespace}/{obj.name}) saw no traffic in the "
                f"last {observed.telemetry.since}"
            ),
            evidence={"host": entry.host, "window": observed.telemetry.since},
        )


def _per_source(observed: ObservedEgress, which: str) -> Iterator[tuple[Source, list[str]]]:
    rows = observed.telemetry.external
    name = "PassthroughCluster" if which == "passthrough" else "BlackHoleCluster"
    traffic = observed.passthrough if which == "passthrough" else observed.blackhole
    for source in traffic.everyone:
        hosts = sorted(
            {
                r.destination_service
                for r in rows
                if r.destination_service_name == name
                and (r.source_namespace, r.source_workload) == (source.namespace, source.workload)
            }
            - {"unknown"}
        )
        yield source, hosts

"""Istio Gateway checks: what a Gateway resource opens, and whether it lands on a workload."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.checks.registry import CheckContext, check
from auditor.index import K_DEPLOYMENT, K_GATEWAY, K_POD, K_SERVICE
from auditor.model import Category, Result, Severity

IST_DOCS = "https://istio.io/latest/docs/reference/config/analysis/{code}/"
GATEWAY_DOCS = "https://istio.io/latest/docs/reference/config/networking/gateway/"


@check(
    id="GW001",
    title="Gateway selector matches no gateway workload",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT, "apps/StatefulSet", "apps/DaemonSet"),
    remediation=(
        "Set spec.selector to the labels of the gateway Deployment's pod template "
        "(for example `istio: ingressgateway`), or delete the unused Gateway."
    ),
    references=(GATEWAY_DOCS, IST_DOCS.format(code="ist0101")),
    ist_codes=("IST0101",),
)
def gateway_selector_matches_nothing(ctx: CheckContext) -> Iterator[Result]:
    """A Gateway whose `selector` matches no pod or pod template configures nothing today.

    Its servers are not served, so the hosts it was written for are not reachable as intended,
    and it lies in wait: the first workload that later carries those labels (in any namespace,
    since Istio matches Gateway selectors across namespaces) starts serving its ports and hosts.
    Fires for each Gateway with a non-empty selector that no Deployment, StatefulSet, DaemonSet or
    Pod matches (istioctl analyze reports the same as IST0101).
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        selector = gw.spec.get("selector") or {}
        if not selector or ctx.index.gateway_workloads(gw):
            continue
        shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        yield Result(
            resource=gw.ref,
            path="spec.selector",
            message=(
                f"Gateway {gw.namespace}/{gw.name} selects workloads labelled {shown}, "
                "but no gateway Deployment or pod in any namespace has those labels"
            ),
            evidence={"selector": dict(selector)},
        )


@check(
    id="GW002",
    title="Gateway server port is not exposed by the gateway's Service",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT, K_SERVICE),
    remediation=(
        "Add the port to the gateway workload's Service (port and targetPort), or change the "
        "server's port.number to one the Service exposes."
    ),
    references=(GATEWAY_DOCS, IST_DOCS.format(code="ist0162")),
    ist_codes=("IST0162",),
)
def gateway_port_not_on_service(ctx: CheckContext) -> Iterator[Result]:
    """A Gateway server on a port that no Service of its workload exposes receives no traffic.

    Clients reach the gateway pods through the gateway's Service, so a server's port must be one
    of the Service's ports: either its `targetPort` (the port the pods listen on) or its `port`,
    which Istio translates to the targetPort, as istioctl analyze reads it (IST0162). Otherwise
    the hosts on that server are unreachable, and the exposure the team believes in differs from
    the real one.
    Fires once per server port, only when the selected workloads have at least one Service.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        if not gw.spec.get("selector"):
            continue
        services = ctx.index.gateway_services(gw)
        if not services:
            continue
        exposed: set[int] = set()
        for svc in services:
            for port in svc.spec.get("ports") or ():
                if (port.get("protocol") or "TCP") != "TCP":
                    continue
                for key in ("port", "targetPort"):
                    if isinstance(port.get(key), int):
                        exposed.add(port[key])
        for i, server in enumerate(gw.spec.get("servers") or ()):
            number = (server.get("port") or {}).get("number")
            if not isinstance(number, int) or number in exposed:
                continue
            names = ", ".join(f"{s.namespace}/{s.name}" for s in services)
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}].port.number",
                detail=str(number),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} listens on port {number}, but its gateway "
                    f"Service ({names}) has only ports {sorted(exposed)} (port or targetPort)"
                ),
                evidence={
                    "port": number,
                    "service_ports": sorted(exposed),
                    "services": names,
                },
            )

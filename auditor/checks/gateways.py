"""Istio Gateway checks: what a Gateway resource opens, and whether it lands on a workload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.checks.registry import CheckContext, check
from auditor.exposure import istio_servers, server_key, server_tls_mode
from auditor.index import K_DEPLOYMENT, K_GATEWAY, K_POD, K_SERVICE
from auditor.istio import hosts as H
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


def _server_hosts(server: dict[str, Any]) -> list[str]:
    return [h.strip() for h in server.get("hosts") or () if isinstance(h, str)]


@check(
    id="GW003",
    title="Gateways conflict on the same workload, port and host",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT),
    remediation=(
        "Keep one server per host and port on a gateway workload: merge the servers into one "
        "Gateway, or change the host or port of one of them."
    ),
    references=(GATEWAY_DOCS, IST_DOCS.format(code="ist0145")),
    ist_codes=("IST0145",),
)
def conflicting_gateways(ctx: CheckContext) -> Iterator[Result]:
    """Two Gateways on the same gateway workload that declare the same port and host conflict.

    Istio merges every Gateway that selects a gateway workload into one listener per port and
    keeps only one server per host there, so which team's server (its TLS settings, its
    certificate, the VirtualServices bound to it) takes effect depends on creation order, and
    can change silently. Fires per server of each Gateway whose port, `bind` and exact host
    (as written, like Istio's CheckDuplicates) are also declared by another Gateway with the
    same selector or selecting a common workload (istioctl analyze: IST0145).
    """
    # (scope, port, bind, host) -> gateways; a scope is the selector itself or one workload
    buckets: dict[tuple[Any, int, str, str], set[tuple[str, str]]] = {}
    scopes: dict[tuple[str, str], list[Any]] = {}
    for gw in ctx.snapshot.objects(K_GATEWAY):
        selector = gw.spec.get("selector") or {}
        own: list[Any] = [("selector", tuple(sorted(selector.items())))]
        own.extend(("workload", w.obj.ref.key) for w in ctx.index.gateway_workloads(gw))
        scopes[(gw.namespace, gw.name)] = own
        for server in gw.spec.get("servers") or ():
            number = (server.get("port") or {}).get("number") or 0
            bind = str(server.get("bind") or "")
            for host in _server_hosts(server):
                for scope in own:
                    buckets.setdefault((scope, number, bind, host), set()).add(
                        (gw.namespace, gw.name)
                    )
    for gw in ctx.snapshot.objects(K_GATEWAY):
        me = (gw.namespace, gw.name)
        for i, server in enumerate(gw.spec.get("servers") or ()):
            number = (server.get("port") or {}).get("number") or 0
            bind = str(server.get("bind") or "")
            others: set[tuple[str, str]] = set()
            hosts: set[str] = set()
            for host in _server_hosts(server):
                for scope in scopes[me]:
                    found = buckets.get((scope, number, bind, host), set()) - {me}
                    if found:
                        others |= found
                        hosts.add(host)
            if not others:
                continue
            names = ", ".join(f"{ns}/{name}" for ns, name in sorted(others))
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}]",
                detail=server_key(server),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} declares host(s) "
                    f"{', '.join(sorted(hosts))} on port {number}, as Gateway(s) {names} do on "
                    "the same gateway workload: only one of these servers takes effect"
                ),
                evidence={"port": number, "hosts": sorted(hosts), "conflicts_with": names},
            )


@check(
    id="GW004",
    title="Wildcard host on an externally reachable Gateway server",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT, K_SERVICE),
    remediation=(
        "List the exact hostnames the server is meant to serve in spec.servers[].hosts "
        "(`shop.example.com`, or `ns/shop.example.com` to also limit which namespaces may bind)."
    ),
    references=(GATEWAY_DOCS,),
)
def wildcard_external_server(ctx: CheckContext) -> Iterator[Result]:
    """A server with host `*` (or `*/*`) on a gateway reachable from outside accepts any Host.

    Every VirtualService bound to the Gateway, for any host it names, is then published on the
    internet; and with `*/*`, any namespace may bind one. A request with an arbitrary Host or SNI
    header reaches the catch-all routes, which helps scanners and host-header attacks and makes
    the published surface impossible to read off the Gateway. Fires per server whose port a
    LoadBalancer, NodePort or externalIPs Service of the gateway workloads carries, unless the
    server only redirects to HTTPS.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        for i, server, external in istio_servers(ctx.index, gw):
            if not external or server_tls_mode(server)[1]:
                continue
            for j, raw in enumerate(_server_hosts(server)):
                if H.parse_gateway_host(raw, gw.namespace).host != "*":
                    continue
                number = (server.get("port") or {}).get("number")
                yield Result(
                    resource=gw.ref,
                    path=f"spec.servers[{i}].hosts[{j}]",
                    detail=f"{number}/{raw}",
                    message=(
                        f"Gateway {gw.namespace}/{gw.name} serves any host ({raw!r}) on port "
                        f"{number} of an externally reachable gateway"
                    ),
                    evidence={"host": raw, "port": number},
                )


@check(
    id="GW005",
    title="Gateway in another namespace binds the shared gateway workload",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT),
    remediation=(
        "Define edge Gateways in the gateway workload's namespace (owned by the platform team) "
        "and let application namespaces bind VirtualServices to them; or set "
        "PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true on istiod so a Gateway only selects workloads in "
        "its own namespace."
    ),
    references=(
        GATEWAY_DOCS,
        "https://istio.io/latest/docs/setup/additional-setup/gateway/#gateway-selectors",
    ),
)
def cross_namespace_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A Gateway in an application namespace that selects a gateway workload in another namespace.

    Istio matches Gateway selectors across namespaces by default, so anyone who may create a
    Gateway in their own namespace can open ports and publish hosts on the shared ingress
    gateway, including hosts that belong to other teams, outside the platform team's review.
    Fires for each Gateway (outside the mesh root namespace) whose selected workloads live in
    another namespace.
    """
    for gw in ctx.snapshot.objects(K_GATEWAY):
        if gw.namespace == ctx.mesh.root_namespace:
            continue
        workloads = ctx.index.gateway_workloads(gw)
        elsewhere = sorted({w.namespace for w in workloads if w.namespace != gw.namespace})
        if not elsewhere:
            continue
        names = sorted({f"{w.namespace}/{w.obj.name}" for w in workloads if not w.owned})
        yield Result(
            resource=gw.ref,
            path="spec.selector",
            message=(
                f"Gateway {gw.namespace}/{gw.name} selects gateway workload(s) "
                f"{', '.join(names)} in namespace(s) {', '.join(elsewhere)}: namespace "
                f"{gw.namespace} publishes ports and hosts on a gateway it does not own"
            ),
            evidence={"workloads": names, "selector": dict(gw.spec.get("selector") or {})},
        )

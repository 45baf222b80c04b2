"""Istio Gateway checks: what a Gateway resource opens, and whether it lands on a workload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.istio import gateway_merge as GM
from auditor.istio import hosts as H
from auditor.istio.gateway_merge import MergeServer
from auditor.mesh.egress_routing import egress_routing
from auditor.mesh.exposure import (
    dropped_servers,
    internet_servers,
    istio_servers,
    server_key,
    server_tls_mode,
)
from auditor.mesh.index import K_DEPLOYMENT, K_GATEWAY, K_POD, K_SERVICE

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


REASONS = {
    "duplicate-host": "both carry TLS settings for host(s) {hosts} on port {port}",
    "protocol": "{mine} and {theirs} servers cannot share port {port}",
    "opaque": "a {opaque} server shares port {port} with another server, and only HTTP "
    "servers merge",
}


@check(
    id="GW003",
    title="Gateway servers conflict on the same gateway workload and port",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT),
    remediation=(
        "Give each TLS host one server per port on a gateway workload (merge the servers into "
        "one Gateway, or change the host or port of one), and keep plaintext HTTP, TLS and TCP "
        "servers on different ports (or different `bind` addresses)."
    ),
    references=(
        GATEWAY_DOCS,
        "https://github.com/istio/istio/blob/master/pilot/pkg/model/gateway.go",
        IST_DOCS.format(code="ist0145"),
    ),
    ist_codes=("IST0145",),
)
def conflicting_gateways(ctx: CheckContext) -> Iterator[Result]:
    """Servers on one gateway workload and port that istiod cannot merge: one of them is dropped.

    istiod merges every Gateway that selects a gateway workload, port by port (pilot's
    mergeGateways). Plain HTTP servers on one port merge into one route configuration whatever
    their hosts, and TLS servers share a port by SNI; those are not conflicts. The real ones:
    two servers with TLS settings listing the same host on one port; an HTTP server and a TLS
    server on one port; a TCP (or other non-HTTP, non-TLS) server sharing a port with any
    other server. istiod keeps the server it reads first (the oldest Gateway; equal times by
    name, then namespace) and silently drops the other whole, so which team's server,
    certificate and routes take effect depends on creation order: the message says which one is
    kept, and the exposure map lists only that one. Fires per server in such a pair, on
    servers of one workload (or of one selector when no workload matches), port and `bind`.
    istioctl analyze's IST0145 flags any two Gateways with the same selector, port and
    overlapping hosts, HTTP servers that merge included; mesh-audit reports only what istiod
    rejects, and agrees with IST0145 on its test corpus.
    """
    scopes: dict[Any, list[MergeServer]] = {}
    for gw in ctx.snapshot.objects(K_GATEWAY):
        selector = gw.spec.get("selector") or {}
        own: list[Any] = [("selector", tuple(sorted(selector.items())))]
        own.extend(("workload", w.obj.ref.key) for w in ctx.index.gateway_workloads(gw))
        for i, server in enumerate(gw.spec.get("servers") or ()):
            ms = GM.merge_server(gw.namespace, gw.name, i, server)
            for scope in own:
                scopes.setdefault(scope, []).append(ms)
    found: dict[tuple[tuple[str, str], int], dict[tuple[str, str, int], GM.Conflict]] = {}
    dropped = dropped_servers(ctx.index)
    for servers in scopes.values():
        for c in GM.conflicts(servers):
            mine = found.setdefault((c.server.gateway, c.server.index), {})
            mine.setdefault((*c.other.gateway, c.other.index), c)
    for gw in ctx.snapshot.objects(K_GATEWAY):
        for i, server in enumerate(gw.spec.get("servers") or ()):
            partners = found.get(((gw.namespace, gw.name), i))
            if not partners:
                continue
            conflicts = sorted(partners.values(), key=lambda c: (c.other.gateway, c.other.index))
            number = conflicts[0].server.port
            reasons = []
            for c in conflicts:
                other = f"{c.other.gateway[0]}/{c.other.gateway[1]} servers[{c.other.index}]"
                why = REASONS[c.reason].format(
                    hosts=", ".join(c.hosts),
                    port=number,
                    mine=c.server.protocol or "?",
                    theirs=c.other.protocol or "?",
                    opaque=next(
                        (
                            s.protocol or "?"
                            for s in (c.server, c.other)
                            if GM.server_class(s) == GM.OPAQUE
                        ),
                        "?",
                    ),
                )
                reasons.append(f"{other}: {why}")
            names = sorted({f"{c.other.gateway[0]}/{c.other.gateway[1]}" for c in conflicts})
            dropped_here = (gw.namespace, gw.name, i) in dropped
            partners_gw = [
                ctx.snapshot.get(K_GATEWAY, c.other.gateway[0], c.other.gateway[1])
                for c in conflicts
            ]
            dated = all(
                g is not None and g.metadata.get("creationTimestamp") for g in [gw, *partners_gw]
            )
            yield Result(
                resource=gw.ref,
                path=f"spec.servers[{i}]",
                detail=server_key(server),
                message=(
                    f"Gateway {gw.namespace}/{gw.name} servers[{i}] ({conflicts[0].server.protocol}"
                    f" on port {number}) cannot be merged on the same gateway workload with "
                    + "; ".join(reasons)
                    + (
                        ": istiod reads this Gateway later and drops this server, every host of it"
                        if dropped_here
                        else ": istiod reads this Gateway first and keeps this server, dropping "
                        "the other"
                    )
                    + (
                        ""
                        if dated
                        else " (no creationTimestamp: order by name, as for equal times)"
                    )
                ),
                evidence={
                    "port": number,
                    "hosts": _server_hosts(server),
                    "conflicts_with": ", ".join(names),
                    "reasons": sorted({c.reason for c in conflicts}),
                    "served": not dropped_here,
                },
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
    title="Gateway in another namespace publishes on the shared internet-facing ingress gateway",
    category=Category.EXPOSURE,
    severity=Severity.LOW,
    needs=(K_GATEWAY, K_POD, K_DEPLOYMENT, K_SERVICE),
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
    """A Gateway in an application namespace that opens ports on an internet-facing ingress
    gateway workload in another namespace (governance).

    Istio matches Gateway selectors across namespaces by default, so anyone who may create a
    Gateway in their own namespace can open ports and publish hosts on the shared ingress
    gateway, outside the platform team's review. That is a governance question, not a weakness
    in itself (Istio's own samples put Gateways in application namespaces), hence low. Fires for
    each Gateway (outside the mesh root namespace) whose selected workloads live in another
    namespace, when at least one of its servers is reachable from the internet (a LoadBalancer,
    NodePort or externalIPs Service carries its port and is not an internal or source-restricted
    load balancer). Never on egress gateways (workloads labelled `istio: egressgateway`, or
    Gateways that carry external traffic), nor on gateways reachable only inside the cluster or
    the private network.
    """
    egress = {(g.namespace, g.name) for g in egress_routing(ctx.index).egress_gateways()}
    for gw in ctx.snapshot.objects(K_GATEWAY):
        if gw.namespace == ctx.mesh.root_namespace or (gw.namespace, gw.name) in egress:
            continue
        workloads = ctx.index.gateway_workloads(gw)
        elsewhere = sorted({w.namespace for w in workloads if w.namespace != gw.namespace})
        if not elsewhere or any(w.labels.get("istio") == "egressgateway" for w in workloads):
            continue
        if not any(internet for _, _, internet in internet_servers(ctx.index, gw)):
            continue
        names = sorted({f"{w.namespace}/{w.obj.name}" for w in workloads if not w.owned})
        yield Result(
            resource=gw.ref,
            path="spec.selector",
            message=(
                f"Gateway {gw.namespace}/{gw.name} selects gateway workload(s) "
                f"{', '.join(names)} in namespace(s) {', '.join(elsewhere)}: namespace "
                f"{gw.namespace} publishes ports and hosts on an internet-facing gateway it "
                "does not own"
            ),
            evidence={"workloads": names, "selector": dict(gw.spec.get("selector") or {})},
        )

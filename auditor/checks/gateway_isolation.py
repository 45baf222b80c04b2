"""Gateway isolation: sensitive hosts sharing a gateway with others.

Istio's security best practices (#isolate-sensitive-services and
#explicitly-disable-all-the-sensitive-http-host-under-relaxed-sni-host-matching):
- Envoy does not require the HTTP Host (or :authority) to agree with the TLS SNI
  (envoyproxy/envoy#6767), so a client that completes the handshake of a SIMPLE-TLS server for
  `*.example.com` can send `Host: admin.example.com` on that connection: the client certificate
  the MUTUAL server for admin.example.com demands is never asked for. The page's remedy is a
  VirtualService bound to the wildcard side that answers 421 for the sensitive host.
- Sensitive hosts may deserve their own gateway deployment; mesh-audit cannot know which hosts
  are sensitive, so the user says so with the label `mesh-audit.dev/sensitive: "true"` on the
  VirtualService (or Istio Gateway) that serves them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.snapshot import KObject
from auditor.istio import hosts as H
from auditor.mesh.index import K_DEPLOYMENT, K_GATEWAY, K_POD, K_VS

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/"
SENSITIVE_LABEL = "mesh-audit.dev/sensitive"
CLIENT_CERT_MODES = ("MUTUAL", "ISTIO_MUTUAL")


def _https_servers(gw: KObject) -> Iterator[tuple[int, int, str, list[str]]]:
    """(server index, port number, TLS mode, hosts) of a Gateway's TLS-terminating servers."""
    for i, server in enumerate(gw.spec.get("servers") or ()):
        port = (server.get("port") or {}).get("number")
        mode = str((server.get("tls") or {}).get("mode") or "")
        proto = str((server.get("port") or {}).get("protocol") or "").upper()
        if isinstance(port, int) and proto == "HTTPS" and mode:
            hosts = [H.parse_gateway_host(h, gw.namespace).host for h in server.get("hosts") or ()]
            yield i, port, mode, hosts


def _aborts_421(vs: KObject) -> bool:
    """Every HTTP route of the VirtualService aborts with 421 for all requests (the page's
    `disable-sensitive` example: fault.abort.httpStatus 421 at 100 percent)."""
    routes = vs.spec.get("http") or []
    if not routes:
        return False
    for route in routes:
        abort = ((route.get("fault") or {}) if isinstance(route, Mapping) else {}).get("abort")
        if not isinstance(abort, Mapping) or abort.get("httpStatus") != 421:
            return False
        pct = (abort.get("percentage") or {}).get("value", 100)
        if not isinstance(pct, int | float) or pct < 100:
            return False
    return True


def _workload_keys(ctx: CheckContext, gw: KObject) -> set[tuple[str, str, str]]:
    return {w.key for w in ctx.index.gateway_workloads(gw) if not w.owned}


@check(
    id="ISO001",
    title="Client-certificate host shares a gateway port with a wildcard SIMPLE TLS host",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    severity_range=(Severity.MEDIUM, Severity.HIGH),
    needs=(K_GATEWAY, K_VS, K_DEPLOYMENT, K_POD),
    remediation=(
        "Bind a VirtualService to the wildcard SIMPLE Gateway with the sensitive host that "
        "answers 421 (fault.abort.httpStatus: 421, percentage 100), as Istio's best practices "
        "show, or serve the sensitive host on its own gateway workload or port."
    ),
    references=(
        PAGE + "#explicitly-disable-all-the-sensitive-http-host-under-relaxed-sni-host-matching",
        "https://github.com/envoyproxy/envoy/issues/6767",
    ),
)
def relaxed_sni(ctx: CheckContext) -> Iterator[Result]:
    """Envoy routes by the Host header, not the SNI: a client that completes a SIMPLE TLS
    handshake for a wildcard host on the same gateway port can ask for the host a MUTUAL
    server protects, without a client certificate.

    Fires per host of a MUTUAL (or ISTIO_MUTUAL) HTTPS server when another HTTPS server with
    SIMPLE TLS on the same gateway workload and port number serves a wider host that covers
    it, and no VirtualService bound to that SIMPLE Gateway answers 421 for the host. High when
    a VirtualService bound to the SIMPLE Gateway routes a host covering the sensitive one (the
    request is served without a client certificate today); medium otherwise.
    """
    gateways = list(ctx.snapshot.objects(K_GATEWAY))
    for admin in gateways:
        workloads = _workload_keys(ctx, admin)
        if not workloads:
            continue
        for i, port, mode, hosts in _https_servers(admin):
            if mode not in CLIENT_CERT_MODES:
                continue
            for j, host in enumerate(hosts):
                if host == "*":
                    continue
                guests = [
                    (guest, g_host)
                    for guest in gateways
                    if _workload_keys(ctx, guest) & workloads
                    for _, g_port, g_mode, g_hosts in _https_servers(guest)
                    if g_port == port and g_mode == "SIMPLE"
                    for g_host in g_hosts
                    if g_host != host and H.matches(g_host, host)
                ]
                if not guests:
                    continue
                exposed: list[str] = []
                unguarded: list[str] = []
                for guest, g_host in guests:
                    bound = ctx.index.bound_virtual_services(guest)
                    if any(
                        _aborts_421(vs) and host in (vs.spec.get("hosts") or ()) for vs in bound
                    ):
                        continue
                    unguarded.append(f"{guest.namespace}/{guest.name} ({g_host})")
                    exposed.extend(
                        f"{vs.namespace}/{vs.name}"
                        for vs in bound
                        if any(H.matches(str(h), host) for h in vs.spec.get("hosts") or ())
                    )
                if not unguarded:
                    continue
                yield Result(
                    resource=admin.ref,
                    path=f"spec.servers[{i}].hosts[{j}]",
                    message=(
                        f"Host {host} requires a client certificate ({mode}) on port {port}, "
                        f"but SIMPLE TLS for {', '.join(unguarded)} on the same gateway port "
                        f"lets a client send Host: {host} without one"
                        + (f"; routed there by {', '.join(sorted(exposed))}" if exposed else "")
                    ),
                    evidence={"host": host, "simple": unguarded, "routes": sorted(exposed)},
                    severity=Severity.HIGH if exposed else None,
                    severity_reason=(
                        "a route on the SIMPLE side serves the host without a client certificate"
                        if exposed
                        else ""
                    ),
                )


def _served_hosts(ctx: CheckContext, gw: KObject) -> set[str]:
    out: set[str] = set()
    for server in gw.spec.get("servers") or ():
        for h in server.get("hosts") or ():
            out.add(H.parse_gateway_host(str(h), gw.namespace).host)
    return out


def _sensitive(obj: KObject) -> bool:
    return str(obj.labels.get(SENSITIVE_LABEL, "")).lower() == "true"


def _nothing_marked(ctx: CheckContext) -> str:
    if any(_sensitive(o) for o in ctx.snapshot.objects(K_VS)) or any(
        _sensitive(o) for o in ctx.snapshot.objects(K_GATEWAY)
    ):
        return ""
    return f"no VirtualService or Gateway is labelled {SENSITIVE_LABEL}=true"


@check(
    id="ISO002",
    title="Host marked sensitive is served by a gateway shared with other hosts",
    category=Category.EXPOSURE,
    severity=Severity.MEDIUM,
    needs=(K_GATEWAY, K_VS, K_DEPLOYMENT, K_POD),
    remediation=(
        "Run a dedicated gateway deployment for the sensitive host (its own labels, Service "
        "and Gateway), so a flaw or overload in a shared gateway does not reach it."
    ),
    references=(
        PAGE + "#isolate-sensitive-services",
        "https://istio.io/latest/docs/setup/install/istioctl/#configure-gateways",
    ),
    unjudged=_nothing_marked,
)
def shared_sensitive_gateway(ctx: CheckContext) -> Iterator[Result]:
    """A gateway deployment serving a sensitive host together with others shares its process,
    memory, certificates and failure modes with them: a flaw reached through a less sensitive
    host (or an overload of it) reaches the sensitive one too.

    mesh-audit cannot know which hosts are sensitive: label the VirtualService or Istio Gateway
    that serves them `mesh-audit.dev/sensitive: "true"`. Fires per labelled object whose hosts
    are served by a gateway workload that also serves hosts of Gateways not labelled sensitive
    and not covered by the sensitive hosts. With nothing labelled the check is not judged (its
    control is not assessed), never passed.
    """
    gateways = list(ctx.snapshot.objects(K_GATEWAY))
    marked: list[tuple[KObject, set[str], list[KObject]]] = []
    for vs in ctx.snapshot.objects(K_VS):
        if _sensitive(vs):
            bound = [
                gw for gw in gateways if any(b is vs for b in ctx.index.bound_virtual_services(gw))
            ]
            marked.append((vs, {str(h) for h in vs.spec.get("hosts") or ()}, bound))
    for gw in gateways:
        if _sensitive(gw):
            marked.append((gw, _served_hosts(ctx, gw), [gw]))
    for obj, hosts, bound in marked:
        shared: dict[str, set[str]] = {}
        for gw in bound:
            workloads = _workload_keys(ctx, gw)
            for other in gateways:
                if other is gw or _sensitive(other) or not (_workload_keys(ctx, other) & workloads):
                    continue
                others = {
                    h for h in _served_hosts(ctx, other) if not any(H.matches(s, h) for s in hosts)
                }
                if others:
                    shared.setdefault(f"{other.namespace}/{other.name}", set()).update(others)
        if not shared:
            continue
        shown = [f"{g} ({', '.join(sorted(h))})" for g, h in sorted(shared.items())]
        yield Result(
            resource=obj.ref,
            path=f"metadata.labels.{SENSITIVE_LABEL}",
            message=(
                f"{obj.kind} {obj.namespace}/{obj.name} is marked sensitive "
                f"({', '.join(sorted(hosts))}) but its gateway workload also serves "
                + "; ".join(shown)
            ),
            evidence={"hosts": sorted(hosts), "shared_with": shown},
        )

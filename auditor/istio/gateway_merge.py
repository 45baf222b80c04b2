"""How istiod merges the servers of every Gateway that selects one gateway workload.

Follows pilot's `mergeGateways` (pilot/pkg/model/gateway.go, istio/istio) server by server, on
one workload, one port and one `bind`:

- HTTP-family servers (HTTP, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY) merge into one route
  configuration (`http.<port>`), whatever their hosts: two Gateways serving the same host over
  plain HTTP on one port is how Istio is meant to be used, not a conflict.
- TLS servers (HTTPS or TLS with `tls` settings, terminating or passing through) share a port by
  SNI, each its own filter chain; PASSTHROUGH and SIMPLE servers for different hosts coexist.
- Conflicts, where istiod keeps the server it reads first and drops the other
  (`pilot_total_rejected_configs`):
  - `duplicate-host`: two servers with `tls` settings (TLS servers, and HTTP servers with
    `tls.httpsRedirect`) list the same host (Istio's CheckDuplicates: the host string after
    `./h` becomes `<ns>/h`, `*/h` becomes `h` and `*/*` becomes `*`);
  - `protocol`: an HTTP-family server and a TLS server on one port (canMergeProtocols, and
    "TLS server without TLS options");
  - `opaque`: a server of any other protocol (TCP, MONGO, TLS or HTTPS without `tls`) shares
    the port with any other server (no route name to merge on).

Istio reads Gateways oldest first (push_context.go initGateways sorts them with
sortConfigByCreationTime: creationTimestamp ascending, then name, then namespace; config.go
configCompareByCreationTime), and mergeGateways keeps the first server of a conflicting pair
and drops the later one whole, every host of it (`rejected`). Both servers of a pair are
reported; the exposure map lists only the one kept. Ports are compared as written on the
servers (istiod first translates a Service port to its targetPort; two servers reaching one
targetPort through different Service ports are not compared here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HTTP_FAMILY = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})

HTTP = "http"
TLS = "tls"
OPAQUE = "opaque"


@dataclass(frozen=True, slots=True)
class MergeServer:
    """One server of one Gateway, as istiod sees it for merging."""

    gateway: tuple[str, str]  # (namespace, name)
    index: int  # position in spec.servers
    port: int
    bind: str
    protocol: str  # upper case, as written
    has_tls: bool  # the server has a `tls` block (Go: s.Tls != nil)
    hosts: tuple[str, ...]  # sanitized as istiod does before CheckDuplicates


@dataclass(frozen=True, slots=True)
class Conflict:
    """A server that cannot be merged with `other` on the same workload and port."""

    server: MergeServer
    other: MergeServer
    reason: str  # duplicate-host | protocol | opaque
    hosts: tuple[str, ...] = ()  # the shared hosts, for duplicate-host


def sanitize_hosts(hosts: Sequence[Any], namespace: str) -> tuple[str, ...]:
    """pilot's sanitizeServerHostNamespace: `./h` -> `<ns>/h`, `*/h` -> `h`, `*/*` -> only `*`."""
    out: list[str] = []
    for raw in hosts:
        if not isinstance(raw, str):
            continue
        host = raw.strip()
        if "/" in host:
            ns, _, name = host.partition("/")
            if ns == ".":
                host = f"{namespace}/{name}"
            elif ns == "*":
                if name == "*":
                    return ("*",)
                host = name
        out.append(host)
    return tuple(out)


def merge_server(namespace: str, name: str, index: int, server: Mapping[str, Any]) -> MergeServer:
    port = server.get("port") or {}
    number = port.get("number")
    return MergeServer(
        gateway=(namespace, name),
        index=index,
        port=number if isinstance(number, int) else 0,
        bind=str(server.get("bind") or ""),
        protocol=str(port.get("protocol") or "").upper(),
        has_tls=isinstance(server.get("tls"), Mapping),
        hosts=sanitize_hosts(server.get("hosts") or (), namespace),
    )


def server_class(server: MergeServer) -> str:
    """http (merges by route config), tls (shares a port by SNI) or opaque (shares nothing)."""
    if server.protocol in HTTP_FAMILY:
        return HTTP
    if server.has_tls:
        return TLS
    return OPAQUE


def conflict_reason(a: MergeServer, b: MergeServer) -> tuple[str, tuple[str, ...]] | None:
    """Why two servers on one workload cannot both take effect, or None when istiod merges them.
    Both are on the same workload; servers on different ports or binds never conflict."""
    if a.port != b.port or a.bind != b.bind or not a.port:
        return None
    if a.has_tls and b.has_tls:
        shared = tuple(sorted(set(a.hosts) & set(b.hosts)))
        if shared:
            return "duplicate-host", shared
    ca, cb = server_class(a), server_class(b)
    if OPAQUE in (ca, cb):
        return "opaque", ()
    if ca != cb:
        return "protocol", ()
    return None


def conflicts(servers: Sequence[MergeServer]) -> list[Conflict]:
    """Every (server, other) pair among the servers of one workload that istiod cannot merge,
    in the order of `servers` (per port: each server, then each other it conflicts with)."""
    out: list[Conflict] = []
    by_port: dict[int, list[MergeServer]] = {}
    for s in servers:
        by_port.setdefault(s.port, []).append(s)
    for group in by_port.values():
        classes = {server_class(s) for s in group}
        if len(classes) == 1 and OPAQUE not in classes:
            # one mergeable class on the port: only duplicate hosts conflict, so each server
            # is compared with the servers sharing a host, not with every server (a shared
            # ingress gateway holds a TLS server per namespace on port 443)
            out.extend(_duplicate_hosts(group))
            continue
        for a in group:
            for b in group:
                if a is b or (a.gateway, a.index) == (b.gateway, b.index):
                    continue
                found = conflict_reason(a, b)
                if found:
                    out.append(Conflict(server=a, other=b, reason=found[0], hosts=found[1]))
    return out


def _duplicate_hosts(group: Sequence[MergeServer]) -> list[Conflict]:
    """`conflicts` on a port whose servers are all of one mergeable class."""
    with_host: dict[str, list[int]] = {}
    for i, s in enumerate(group):
        if s.has_tls and s.port:
            for host in set(s.hosts):
                with_host.setdefault(host, []).append(i)
    out: list[Conflict] = []
    for i, a in enumerate(group):
        if not (a.has_tls and a.port):
            continue
        for j in sorted({j for host in set(a.hosts) for j in with_host[host]}):
            b = group[j]
            if j == i or (a.gateway, a.index) == (b.gateway, b.index) or a.bind != b.bind:
                continue
            shared = tuple(sorted(set(a.hosts) & set(b.hosts)))
            out.append(Conflict(server=a, other=b, reason="duplicate-host", hosts=shared))
    return out


def reading_order(created: object, name: str, namespace: str) -> tuple[str, str, str]:
    """istiod's reading order of Gateways: creationTimestamp ascending (RFC 3339 strings sort
    like the times; a missing one sorts first, as Go's zero time), then name, then namespace."""
    return (created if isinstance(created, str) else "", name, namespace)


def rejected(servers: Sequence[MergeServer]) -> set[tuple[tuple[str, str], int]]:
    """The servers of one gateway workload that mergeGateways drops, given in istiod's reading
    order (Gateways by `reading_order`, servers as written): a server that cannot be merged with
    one already kept is skipped (`RecordRejectedConfig`), the kept one stays."""
    # what the kept servers of each (port, bind) hold: a server conflicts with one of them
    # when both have `tls` and share a host, or when either is opaque, or their classes differ
    # (conflict_reason), so the classes and `tls` hosts kept so far answer it
    classes: dict[tuple[int, str], set[str]] = {}
    tls_hosts: dict[tuple[int, str], set[str]] = {}
    out: set[tuple[tuple[str, str], int]] = set()
    for server in servers:
        if not server.port:
            continue  # never conflicts (conflict_reason), so always kept
        key = (server.port, server.bind)
        kept_classes = classes.setdefault(key, set())
        kept_hosts = tls_hosts.setdefault(key, set())
        cls = server_class(server)
        if (server.has_tls and not kept_hosts.isdisjoint(server.hosts)) or (
            kept_classes and (cls == OPAQUE or OPAQUE in kept_classes or kept_classes != {cls})
        ):
            out.add((server.gateway, server.index))
            continue
        kept_classes.add(cls)
        if server.has_tls:
            kept_hosts.update(server.hosts)
    return out

"""Which routes of a VirtualService an Istio gateway really serves, and for which hosts.

A VirtualService is considered for a gateway only when its top-level `gateways` name it
(push_context.go getGatewayNames); inside it, each route is narrowed per gateway, as istiod
builds the gateway's configuration (istio/istio@86c9f01f):

- `http` (route/route.go BuildHTTPRoutesForVirtualService, sourceMatchHTTP, TranslateRoute): a
  route without `match` applies, and nothing after it is reached (a catch-all); a match applies
  when its `port` is unset or the server's, and its `gateways` (resolved like the top-level
  ones: `name`, `ns/name`, `./name`, the legacy `name.ns.svc...`; `mesh` names the sidecars)
  name this gateway, or, without `gateways`, its `sourceLabels` are a subset of the gateway
  proxy's labels and its `sourceNamespace` is unset or the proxy's namespace. A matched route
  whose match takes every request ends the list too.
- A VirtualService none of whose routes applies gives the gateway no virtual host at all
  (gateway.go buildGatewayHTTPRouteConfig: "no routes matched" -> `continue`): its hosts are not
  served there.
- `tls` and `tcp` (gateway.go l4SingleMatch/l4MultiMatch, isPortMatch, isGatewayMatch): a match
  applies when its `port` is unset or the server's and its `gateways` are empty or name this
  gateway; a `tls` match serves the hosts of its `sniHosts`; the first applying `tcp` route is
  the one used.
- An `authority` match (the request's Host) narrows the hosts a route serves: Knative's
  net-istio (pkg/reconciler/ingress/resources/virtual_service.go) puts the public and the
  cluster-local hostnames of a service in one VirtualService bound to both its gateways and
  separates them per route by `gateways` and an authority prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.istio import hosts as H
from auditor.istio.refs import MESH, resolve_gateway_name


@dataclass(frozen=True, slots=True)
class Proxy:
    """A gateway proxy as a route's source conditions see it."""

    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class AppliedRoute:
    """A route of a VirtualService that applies on one gateway server, with the matches of it
    that apply (empty: the route has no `match`, it takes every request)."""

    section: str  # http | tls | tcp
    index: int
    route: Mapping[str, Any]
    matches: tuple[Mapping[str, Any], ...]


def match_gateways(match: Mapping[str, Any], vs_namespace: str) -> set[str]:
    """A match's `gateways` as istiod resolves them (`ns/name`, or `mesh`)."""
    out: set[str] = set()
    for value in match.get("gateways") or ():
        if not isinstance(value, str):
            continue
        ref = resolve_gateway_name(value, vs_namespace)
        out.add(MESH if ref is None else str(ref))
    return out


def _port_matches(match: Mapping[str, Any], port: int) -> bool:
    wanted = match.get("port")
    return not isinstance(wanted, int) or wanted == 0 or wanted == port


def http_match_applies(
    match: Mapping[str, Any],
    gateway: str,
    vs_namespace: str,
    port: int,
    proxies: Sequence[Proxy] = (),
) -> bool:
    """Whether one HTTPMatchRequest can take requests on `gateway` (`ns/name`) at `port`."""
    if not _port_matches(match, port):
        return False
    if match.get("gateways"):
        return gateway in match_gateways(match, vs_namespace)
    labels = match.get("sourceLabels") or {}
    source_ns = match.get("sourceNamespace") or ""
    if not labels and not source_ns:
        return True
    if not proxies:
        return True  # no gateway pod in the input to compare with: taken as applying
    return any(
        all(p.labels.get(k) == v for k, v in labels.items())
        and (not source_ns or source_ns == p.namespace)
        for p in proxies
    )


def l4_match_applies(match: Mapping[str, Any], gateway: str, vs_namespace: str, port: int) -> bool:
    """A `tls` or `tcp` match on a gateway server (l4SingleMatch: port and gateways only)."""
    if not _port_matches(match, port):
        return False
    return not match.get("gateways") or gateway in match_gateways(match, vs_namespace)


_CATCH_ALL_FIELDS = ("uri", "scheme", "method", "authority", "headers", "queryParams")


def _takes_everything(match: Mapping[str, Any]) -> bool:
    """A match whose request conditions are all unset (or `uri: {prefix: /}`)."""
    for field in _CATCH_ALL_FIELDS:
        value = match.get(field)
        if not value:
            continue
        if field == "uri" and isinstance(value, Mapping) and value.get("prefix") == "/":
            continue
        return False
    return not match.get("withoutHeaders")


def routes_on_gateway(
    spec: Mapping[str, Any],
    vs_namespace: str,
    gateway: str,
    section: str,
    port: int,
    proxies: Sequence[Proxy] = (),
) -> list[AppliedRoute]:
    """The routes of one section (`http`, `tls` or `tcp`) that a gateway server serves."""
    out: list[AppliedRoute] = []
    for i, route in enumerate(spec.get(section) or ()):
        if not isinstance(route, Mapping):
            continue
        matches = [m for m in route.get("match") or () if isinstance(m, Mapping)]
        if section == "http":
            if not matches:
                out.append(AppliedRoute(section, i, route, ()))
                break  # a catch-all: nothing after it is reached
            applying = tuple(
                m for m in matches if http_match_applies(m, gateway, vs_namespace, port, proxies)
            )
            if applying:
                out.append(AppliedRoute(section, i, route, applying))
                if any(_takes_everything(m) for m in applying):
                    break
        elif section == "tls":
            if not route.get("route"):
                continue
            applying = tuple(m for m in matches if l4_match_applies(m, gateway, vs_namespace, port))
            if applying:
                out.append(AppliedRoute(section, i, route, applying))
        else:
            if not route.get("route"):
                continue
            applying = tuple(m for m in matches if l4_match_applies(m, gateway, vs_namespace, port))
            if not matches or applying:
                out.append(AppliedRoute(section, i, route, applying))
                break  # the first applying tcp route is the one used
    return out


def _authority_admits(authority: Any, host: str) -> str | None:
    """The host (maybe narrowed) a request must carry to pass `authority` and be for `host`."""
    if not isinstance(authority, Mapping) or not authority:
        return host
    wildcard = host.startswith("*")
    exact, prefix, regex = authority.get("exact"), authority.get("prefix"), authority.get("regex")
    if isinstance(exact, str):
        name = H.normalize(exact.rsplit(":", 1)[0] if ":" in exact else exact)
        if wildcard:
            return name if H.matches(host, name) else None
        return host if name == host else None
    if isinstance(prefix, str):
        if wildcard:
            return host  # which names start so cannot be told from the pattern: kept
        p = prefix.lower()
        return host if host.startswith(p) or p.startswith(host + ":") else None
    if isinstance(regex, str):
        if wildcard:
            return host
        try:  # RE2 (Envoy) is a subset of Python's syntax for the patterns people write
            return host if re.fullmatch(regex, host) or re.fullmatch(regex, f"{host}:80") else None
        except re.error:
            return host
    return host


def served_hosts(applied: AppliedRoute, host: str) -> set[str]:
    """The hosts, within `host` (a host the VirtualService and the server share), for which
    this route takes requests: `host` itself, a narrower name an exact authority or SNI names,
    or none."""
    if applied.section == "tcp":
        return {host}
    if applied.section == "tls":
        out: set[str] = set()
        for m in applied.matches:
            for sni in m.get("sniHosts") or ():
                if isinstance(sni, str) and H.intersects(host, H.normalize(sni)):
                    out.add(H.more_specific(host, H.normalize(sni)))
        return out
    if not applied.matches:
        return {host}
    found = {_authority_admits(m.get("authority"), host) for m in applied.matches}
    return {h for h in found if h is not None}

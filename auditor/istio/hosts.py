"""Host names as Istio reads them.

- Wildcards: `*` matches every host; `*.example.com` matches any name ending in `.example.com`
  (one label or several, as Istio's `host.Name.Matches` does), but not `example.com` itself.
- Short names (no dot) in a VirtualService, DestinationRule or route destination resolve to
  `<name>.<namespace>.svc.<domain>` in the resource's namespace (`ResolveShortnameToFQDN`); a name
  with a dot is taken as written, so `reviews.prod` stays `reviews.prod`.
- Gateway server hosts take the form `namespace/host`: `./host` is the Gateway's own namespace,
  `*/host` and a bare `host` mean any namespace.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

CLUSTER_DOMAIN = "cluster.local"


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


def normalize(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def fqdn(host: str, namespace: str, domain: str = CLUSTER_DOMAIN) -> str:
    """Resolve a short name in `namespace`, as Istio's ResolveShortnameToFQDN does."""
    host = normalize(host)
    # an IPv4 address has dots and an IPv6 address colons, so only a dotless name with a colon
    # needs the (slow) address parse
    if not host or host == "*" or "." in host or (":" in host and _is_ip(host)):
        return host
    if namespace:
        host = f"{host}.{namespace}"
    return f"{host}.svc.{domain}"


def matches(pattern: str, host: str) -> bool:
    """True when `host` is within `pattern` (Istio `host.Name.Matches`, pattern on the left).

    Both may be wildcards: `*.example.com` matches `*.a.example.com` but not `*.com`.
    """
    if pattern == host:
        return True
    if pattern == "*":
        return True
    if host == "*":
        return False
    if pattern.startswith("*"):
        suffix = pattern[1:]  # ".example.com"
        if host.startswith("*"):
            return host[1:].endswith(suffix)
        return host.endswith(suffix)
    return False


def intersects(a: str, b: str) -> bool:
    """True when some concrete host is matched by both (either one contains the other)."""
    return matches(a, b) or matches(b, a)


def more_specific(a: str, b: str) -> str:
    """Of two intersecting hosts, the narrower one: what a request must carry to satisfy both."""
    return b if matches(a, b) else a


@dataclass(frozen=True, slots=True)
class GatewayHost:
    """A Gateway server host: which VirtualService namespaces may bind it, and the host."""

    namespace: str  # "*" for any namespace, else the one namespace allowed
    host: str

    def allows_namespace(self, namespace: str) -> bool:
        return self.namespace == "*" or self.namespace == namespace


def parse_gateway_host(value: str, gateway_namespace: str) -> GatewayHost:
    value = value.strip()
    if "/" in value:
        ns, _, host = value.partition("/")
        if ns == ".":
            ns = gateway_namespace
        elif ns == "~":
            # `~/host` means "no namespace": the host is served to nothing.
            ns = "\x00none"
        return GatewayHost(namespace=ns or "*", host=normalize(host))
    return GatewayHost(namespace="*", host=normalize(value))


def is_external_name(host: str, domain: str = CLUSTER_DOMAIN) -> bool:
    """A host outside the cluster's service domain (not `*.svc.cluster.local`)."""
    host = normalize(host)
    return not (host.endswith(f".svc.{domain}") or host == "*" or not host)


class HostSet:
    """Index of hosts for fast lookup: exact names in a dict, wildcards by suffix.

    `lookup(host)` returns the values registered under every pattern that matches `host`, the
    reverse direction too when `host` is itself a wildcard. Cost is a dict probe per label of the
    host plus the wildcard patterns registered, not a scan of every entry.
    """

    __slots__ = ("_exact", "_star", "_wild")

    def __init__(self) -> None:
        self._exact: dict[str, list[object]] = {}
        self._wild: dict[str, list[object]] = {}  # suffix ".example.com" -> values
        self._star: list[object] = []

    def add(self, host: str, value: object) -> None:
        host = normalize(host)
        if host == "*":
            self._star.append(value)
        elif host.startswith("*"):
            self._wild.setdefault(host[1:], []).append(value)
        else:
            self._exact.setdefault(host, []).append(value)

    def lookup(self, host: str) -> list[object]:
        """Values whose pattern matches `host` (pattern contains host)."""
        host = normalize(host)
        out: list[object] = list(self._star)
        if host == "*":
            return out
        concrete = host[1:] if host.startswith("*") else host
        if not host.startswith("*"):
            out.extend(self._exact.get(host, ()))
        # every suffix ".b.c", ".c" of the name is a wildcard pattern that could match it
        i = concrete.find(".", 1 if host.startswith("*") else 0)
        while i != -1:
            out.extend(self._wild.get(concrete[i:], ()))
            i = concrete.find(".", i + 1)
        if host.startswith("*"):
            out.extend(self._wild.get(concrete, ()))
        return out

    def overlapping(self, host: str) -> list[object]:
        """Values whose pattern intersects `host` in either direction."""
        host = normalize(host)
        if not host.startswith("*"):
            return self.lookup(host)
        out = self.lookup(host)
        if host == "*":
            out = list(self._star)
            for values in self._exact.values():
                out.extend(values)
            for values in self._wild.values():
                out.extend(values)
            return out
        suffix = host[1:]
        for name, values in self._exact.items():
            if name.endswith(suffix):
                out.extend(values)
        for wild, values in self._wild.items():
            if wild != suffix and wild.endswith(suffix):
                out.extend(values)
        return out

"""What kind of place an egress destination is: the internet, a private network, a node-local
cloud metadata endpoint, the cluster itself, or a name nobody can place.

The class decides what advice fits. Routing through an egress gateway is advice for the public
internet only: a private-range destination is reached over the VPC or a VPN, and a metadata
server identifies its caller by source address (GKE's metadata server answers per pod IP;
routing it through a gateway hands every caller the gateway's identity). A workload that can
reach a metadata endpoint is a credential-exposure question of its own.

Sources:
- private ranges: RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598 shared address space
  (100.64/10), RFC 4193 unique local IPv6 (fc00::/7);
- link-local: RFC 3927 (169.254/16) and RFC 4291 (fe80::/10);
- metadata endpoints: 169.254.169.254 (AWS IMDS, GCE, Azure IMDS, OpenStack, DigitalOcean),
  fd00:ec2::254 (AWS IMDS over IPv6), 169.254.170.2 (Amazon ECS task metadata),
  100.100.100.200 (Alibaba Cloud), 168.63.129.16 (Azure WireServer, a platform address outside
  private space), and the names metadata.google.internal / metadata.goog (GCE),
  instance-data / instance-data.ec2.internal (AWS).

Plain data in, plain answers out: the egress model and the checks call `classify`.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.istio import hosts as H

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationClass(enum.StrEnum):
    PUBLIC = "public"  # the internet
    PRIVATE = "private"  # RFC 1918 / RFC 6598 / ULA
    METADATA = "metadata"  # a node-local cloud metadata endpoint
    LINK_LOCAL = "link-local"  # other link-local addresses
    IN_CLUSTER = "in-cluster"  # cluster domain names, MESH_INTERNAL entries
    UNKNOWN = "unknown"  # a DNS name whose place cannot be told (non-public suffix)
    # the calling pod itself (127.0.0.0/8, ::1): a co-located container, such as the ext-authz
    # sidecar open-policy-agent/opa-envoy-plugin examples/istio/quick_start.yaml registers with
    # a ServiceEntry endpoint 127.0.0.1; nothing leaves the pod, so it is not egress
    LOOPBACK = "loopback"


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


PRIVATE_NETS = _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
LINK_LOCAL_NETS = _nets("169.254.0.0/16", "fe80::/10")
METADATA_NETS = _nets(
    "169.254.169.254/32",
    "169.254.170.2/32",
    "fd00:ec2::254/128",
    "100.100.100.200/32",
    "168.63.129.16/32",
)
# Addresses that are neither the internet nor a private network: loopback, "this network",
# documentation, multicast and reserved ranges. They never leave a pod for the internet.
LOOPBACK_NETS = _nets("127.0.0.0/8", "::1/128")
NOT_INTERNET_NETS = _nets(
    "0.0.0.0/8",
    "127.0.0.0/8",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "2001:db8::/32",
    "ff00::/8",
)
# Every range that is not the public internet (what an `except` list may carve out of
# 0.0.0.0/0 while still allowing "the internet").
NON_PUBLIC_NETS = PRIVATE_NETS + LINK_LOCAL_NETS + NOT_INTERNET_NETS

METADATA_NAMES: dict[str, str] = {
    "metadata.google.internal": "169.254.169.254",
    "metadata.goog": "169.254.169.254",
    "instance-data": "169.254.169.254",
    "instance-data.ec2.internal": "169.254.169.254",
}
# Suffixes that are not on the public internet (RFC 6762 .local, RFC 8375 home.arpa, ICANN's
# reserved .internal, and the customary private ones).
PRIVATE_SUFFIXES = (
    ".internal",
    ".local",
    ".localdomain",
    ".home.arpa",
    ".lan",
    ".corp",
    ".intranet",
    ".private",
    ".localhost",
)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a destination is: its class and the addresses it is known to have."""

    cls: DestinationClass
    addresses: tuple[str, ...]  # IPs or CIDRs, as given or as known (metadata names)
    why: str


def parse_network(text: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _within(net: IPNetwork, ranges: Iterable[IPNetwork]) -> bool:
    return any(net.version == r.version and net.subnet_of(r) for r in ranges)  # type: ignore[arg-type]


def address_class(text: str) -> DestinationClass | None:
    """The class of an IP address or CIDR; None when it is not one."""
    net = parse_network(text)
    if net is None:
        return None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = ipaddress.IPv6Address(int(net.network_address)).ipv4_mapped
        if mapped is not None:
            return address_class(f"{mapped}/{net.prefixlen - 96}")
    if _within(net, LOOPBACK_NETS):
        return DestinationClass.LOOPBACK
    if _within(net, METADATA_NETS):
        return DestinationClass.METADATA
    if _within(net, LINK_LOCAL_NETS):
        return DestinationClass.LINK_LOCAL
    if _within(net, PRIVATE_NETS) or _within(net, NOT_INTERNET_NETS):
        return DestinationClass.PRIVATE
    return DestinationClass.PUBLIC


# When several addresses disagree, the class that needs the most care wins.
PRECEDENCE = (
    DestinationClass.METADATA,
    DestinationClass.LINK_LOCAL,
    DestinationClass.PUBLIC,
    DestinationClass.PRIVATE,
    DestinationClass.UNKNOWN,
    DestinationClass.IN_CLUSTER,
    DestinationClass.LOOPBACK,
)


def worst(classes: Iterable[DestinationClass]) -> DestinationClass:
    found = set(classes)
    for cls in PRECEDENCE:
        if cls in found:
            return cls
    return DestinationClass.UNKNOWN


def name_class(host: str, domain: str = H.CLUSTER_DOMAIN) -> tuple[DestinationClass, str]:
    """The class of a DNS name (or IP written as a host) without known addresses."""
    name = H.normalize(host)
    if address_class(name) is not None:
        return address_class(name) or DestinationClass.UNKNOWN, "address"
    if name in METADATA_NAMES:
        return DestinationClass.METADATA, "cloud metadata server name"
    if name == "localhost" or name.endswith(".localhost"):
        return DestinationClass.LOOPBACK, "localhost (RFC 6761)"
    if name == domain or name.endswith("." + domain):
        return DestinationClass.IN_CLUSTER, "cluster domain"
    if name == "*":
        return DestinationClass.PUBLIC, "any host"
    wildcard = name.startswith("*.")
    bare = name[2:] if wildcard else name
    if any(("." + bare).endswith(s) for s in PRIVATE_SUFFIXES):
        return DestinationClass.UNKNOWN, "name under a non-public suffix"
    if "." not in bare and not wildcard:
        return DestinationClass.UNKNOWN, "single-label name"
    return DestinationClass.PUBLIC, "public DNS name"


def classify(
    host: str,
    addresses: Iterable[str] = (),
    *,
    mesh_internal: bool = False,
    domain: str = H.CLUSTER_DOMAIN,
) -> Placement:
    """The class of a destination from its host and whatever addresses are known for it
    (ServiceEntry `addresses` and endpoint IPs, Endpoints/EndpointSlice IPs)."""
    if mesh_internal:
        return Placement(DestinationClass.IN_CLUSTER, tuple(addresses), "MESH_INTERNAL")
    known = [a for a in addresses if parse_network(a) is not None]
    by_name, why = name_class(host, domain)
    if by_name is DestinationClass.METADATA and not known:
        known = [METADATA_NAMES.get(H.normalize(host), H.normalize(host))]
    if known:
        classes = [address_class(a) or DestinationClass.UNKNOWN for a in known]
        if by_name is DestinationClass.METADATA:
            classes.append(by_name)
        cls = worst(classes)
        return Placement(cls, tuple(known), "addresses" if cls is not by_name else why)
    return Placement(by_name, (), why)


def gateway_advice_applies(cls: DestinationClass) -> bool:
    """Whether routing through an egress gateway is the right advice for this class."""
    return cls in (DestinationClass.PUBLIC, DestinationClass.UNKNOWN)


def covers_public_internet(cidr: str, excepts: Iterable[str] = ()) -> bool:
    """Whether an ipBlock allows (nearly) every public IPv4 address: a /0 whose `except`
    entries carve out only non-public ranges."""
    net = parse_network(cidr)
    if net is None or net.prefixlen != 0:
        return False
    for text in excepts:
        ex = parse_network(text)
        if ex is None:
            continue
        if not _within(ex, NON_PUBLIC_NETS):
            return False
    return True

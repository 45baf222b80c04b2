"""Who can reach a Service from outside the cluster: its reachability class.

Plain data in (a Service object as a mapping), a class out:

- `internet`: a LoadBalancer with no internal marker and no source restriction, or an
  `externalIPs` / load-balancer address that is publicly routable;
- `restricted`: a LoadBalancer limited to `spec.loadBalancerSourceRanges` or the
  `service.beta.kubernetes.io/load-balancer-source-ranges` annotation (the ranges are kept;
  `0.0.0.0/0` or `::/0` restricts nothing);
- `internal`: a LoadBalancer its cloud provisions on the private network (the providers'
  internal-LB annotations below, or a GKE internal `loadBalancerClass`), or whose status
  addresses (and external IPs) are all private (RFC 1918, RFC 6598, ULA, loopback, link-local);
- `node-local`: a NodePort Service (reachable at every node's address on its node port; whether
  the nodes themselves face the internet is not in the manifests), and pods on the host
  network or with hostPorts;
- `cluster`: ClusterIP, headless and ExternalName Services: not reachable from outside.

Internal-LB annotations, each from the provider's documentation:
- AWS: `service.beta.kubernetes.io/aws-load-balancer-internal: "true"` (in-tree; deprecated in
  favour of the next), `service.beta.kubernetes.io/aws-load-balancer-scheme: internal`; the AWS
  Load Balancer Controller (`aws-load-balancer-type: external` / `nlb-ip`, or
  `loadBalancerClass: service.k8s.aws/nlb`) provisions an internal NLB unless the scheme says
  `internet-facing` (kubernetes-sigs.github.io/aws-load-balancer-controller guide/service/nlb
  and guide/service/annotations).
- GCP: `networking.gke.io/load-balancer-type: Internal`, the older
  `cloud.google.com/load-balancer-type: Internal`, `spec.loadBalancerClass:
  networking.gke.io/l4-regional-internal` (cloud.google.com/kubernetes-engine/docs/concepts/
  service-load-balancer-parameters).
- Azure: `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`
  (learn.microsoft.com/azure/aks/internal-lb).
- Oracle OCI: `service.beta.kubernetes.io/oci-load-balancer-internal: "true"`,
  `oci-network-load-balancer.oraclecloud.com/internal: "true"` (docs.oracle.com ContEng
  "Creating Internal Load Balancers").
- IBM Cloud: `service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type: private`
  (cloud.ibm.com/docs/containers?topic=containers-vpc-lbaas).
- Alibaba Cloud: `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type:
  intranet` (and the older `alicloud-` prefix) (alibabacloud.com ACK "Use annotations to
  configure CLB instances").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

INTERNET = "internet"
RESTRICTED = "restricted"
INTERNAL = "internal"
NODE_LOCAL = "node-local"
CLUSTER = "cluster"

# Most exposed first: a Service reachable several ways takes the widest.
ORDER = (INTERNET, RESTRICTED, NODE_LOCAL, INTERNAL, CLUSTER)

SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"

# (annotation, values meaning internal), values compared case-insensitively
INTERNAL_ANNOTATIONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("service.beta.kubernetes.io/aws-load-balancer-internal", frozenset({"true", "0.0.0.0/0"})),
    ("service.beta.kubernetes.io/aws-load-balancer-scheme", frozenset({"internal"})),
    ("networking.gke.io/load-balancer-type", frozenset({"internal"})),
    ("cloud.google.com/load-balancer-type", frozenset({"internal"})),
    ("service.beta.kubernetes.io/azure-load-balancer-internal", frozenset({"true"})),
    ("service.beta.kubernetes.io/oci-load-balancer-internal", frozenset({"true"})),
    ("oci-network-load-balancer.oraclecloud.com/internal", frozenset({"true"})),
    ("service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type", frozenset({"private"})),
    ("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type", frozenset({"intranet"})),
    ("service.beta.kubernetes.io/alicloud-loadbalancer-address-type", frozenset({"intranet"})),
)
INTERNAL_CLASSES = frozenset({"networking.gke.io/l4-regional-internal"})
AWS_LBC_TYPES = frozenset({"external", "nlb-ip"})
AWS_LBC_CLASS = "service.k8s.aws/nlb"
AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
AWS_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})
# Private networks a load balancer address can sit in: RFC 1918, RFC 6598 shared address space
# (carrier-grade NAT), IPv6 unique local (RFC 4193); plus loopback and link-local. Documentation
# ranges (RFC 5737) are not in the list: manifests written as examples use them for public IPs.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


@dataclass(frozen=True, slots=True)
class Reach:
    """A reachability class and why: the annotation, the source ranges, the addresses."""

    cls: str
    reason: str
    source_ranges: tuple[str, ...] = ()
    addresses: tuple[str, ...] = field(default=())

    @property
    def outside(self) -> bool:
        """Reachable from outside the cluster at all."""
        return self.cls != CLUSTER

    @property
    def internet(self) -> bool:
        return self.cls == INTERNET

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.cls,
            "reason": self.reason,
            "source_ranges": list(self.source_ranges),
        }


def is_private_address(text: str) -> bool | None:
    """True for a private, shared (CGNAT), loopback or link-local IP; False for a public one;
    None for a hostname (unknown: a cloud LB's DNS name says nothing by itself)."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return any(ip.version == net.version and ip in net for net in PRIVATE_NETWORKS)


def source_ranges(spec: Mapping[str, Any], annotations: Mapping[str, str]) -> tuple[str, ...]:
    """spec.loadBalancerSourceRanges, else the annotation (comma-separated), as written."""
    ranges = [str(r).strip() for r in spec.get("loadBalancerSourceRanges") or () if str(r).strip()]
    if not ranges:
        raw = annotations.get(SOURCE_RANGES_ANNOTATION) or ""
        ranges = [r.strip() for r in str(raw).split(",") if r.strip()]
    return tuple(ranges)


def internal_marker(spec: Mapping[str, Any], annotations: Mapping[str, str]) -> str | None:
    """The annotation or class that makes a LoadBalancer internal, or None."""
    for key, values in INTERNAL_ANNOTATIONS:
        value = annotations.get(key)
        if isinstance(value, str) and value.strip().lower() in values:
            return f"{key}: {value}"
    lb_class = spec.get("loadBalancerClass")
    if isinstance(lb_class, str) and lb_class in INTERNAL_CLASSES:
        return f"loadBalancerClass: {lb_class}"
    aws_lbc = (str(annotations.get(AWS_TYPE) or "").lower() in AWS_LBC_TYPES) or (
        lb_class == AWS_LBC_CLASS
    )
    if aws_lbc and AWS_SCHEME not in annotations:
        return "AWS Load Balancer Controller without aws-load-balancer-scheme (internal by default)"
    return None


def _lb_addresses(status: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for ingress in ((status.get("loadBalancer") or {}).get("ingress")) or ():
        for key in ("ip", "hostname"):
            if isinstance(ingress, Mapping) and ingress.get(key):
                out.append(str(ingress[key]))
    return out


def service_reach(svc: Mapping[str, Any]) -> Reach:
    """The reachability class of a Service object (as read from the API or a manifest)."""
    spec = svc.get("spec") or {}
    meta = svc.get("metadata") or {}
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    svc_type = str(spec.get("type") or "ClusterIP")
    external_ips = tuple(str(ip) for ip in spec.get("externalIPs") or ())
    if svc_type == "LoadBalancer":
        addresses = tuple(_lb_addresses(svc.get("status") or {}))
        marker = internal_marker(spec, annotations)
        if marker:
            return Reach(INTERNAL, marker, addresses=addresses)
        ranges = source_ranges(spec, annotations)
        if ranges and not set(ranges) & OPEN_RANGES:
            return Reach(
                RESTRICTED,
                "load balancer accepts only " + ", ".join(ranges),
                source_ranges=ranges,
                addresses=addresses,
            )
        known = [is_private_address(a) for a in (*addresses, *external_ips)]
        if known and all(k is True for k in known):
            return Reach(INTERNAL, "load balancer has only private addresses", addresses=addresses)
        return Reach(INTERNET, "public load balancer", addresses=addresses + external_ips)
    if external_ips:
        if all(is_private_address(ip) is True for ip in external_ips):
            return Reach(INTERNAL, "externalIPs are private addresses", addresses=external_ips)
        return Reach(INTERNET, "externalIPs include a public address", addresses=external_ips)
    if svc_type == "NodePort":
        ports = tuple(
            f"node:{p['nodePort']}"
            for p in spec.get("ports") or ()
            if isinstance(p, Mapping) and isinstance(p.get("nodePort"), int)
        )
        return Reach(NODE_LOCAL, "NodePort on every node's address", addresses=ports)
    return Reach(CLUSTER, f"{svc_type} Service")


def widest(reaches: Sequence[Reach]) -> Reach:
    """The most exposed of several ways in (a gateway behind two Services takes the widest)."""
    if not reaches:
        return Reach(CLUSTER, "no Service")
    return min(reaches, key=lambda r: ORDER.index(r.cls))


DESCRIPTIONS = {
    INTERNET: "the internet",
    RESTRICTED: "the allowed source ranges only",
    INTERNAL: "the private network only (internal load balancer)",
    NODE_LOCAL: "every node's address (NodePort, host port or host network)",
    CLUSTER: "inside the cluster only",
}


def describe(cls: str) -> str:
    """Who reaches an entry of this class, for messages."""
    return DESCRIPTIONS.get(cls, cls)

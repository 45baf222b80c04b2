"""Whether a cloud load balancer terminates TLS on a Service port (plain data in, an answer out).

A LoadBalancer Service whose annotations ask the cloud's load balancer for a certificate has
its internet hop encrypted even when the pods behind it (an Istio gateway's plaintext HTTP
server) speak plaintext: that hop is then from the load balancer to the nodes, inside the
provider's network. Each rule below follows the controller's own source (and its docs):

- AWS, in-tree / cloud-provider-aws (kubernetes/cloud-provider-aws@63ec440c
  pkg/providers/v1/aws.go: getPortSets, buildListener, the NLB branch of
  EnsureLoadBalancer; cloud-provider-aws.sigs.k8s.io/service_controller):
  `service.beta.kubernetes.io/aws-load-balancer-ssl-cert` set, and
  `aws-load-balancer-ssl-ports` absent, empty or `*`, or listing the port's number or name
  (items are not trimmed: `443, 8443` lists 443 and the name " 8443"). Classic ELB: the
  backend is TLS when `aws-load-balancer-backend-protocol` is `https` or `ssl`; NLB
  (`aws-load-balancer-type: nlb`): when it is `ssl`; UDP ports never.
- AWS Load Balancer Controller (kubernetes-sigs/aws-load-balancer-controller@225f4456
  pkg/service/model_build_listener.go; docs/guide/service/annotations.md "ssl-ports"), for
  Services it reconciles (`aws-load-balancer-type: external` or `nlb-ip`, or
  `loadBalancerClass: service.k8s.aws/nlb`): items trimmed; no ssl-ports means every port,
  and `*` matches no port; backend TLS when the backend protocol is `ssl`.
- Oracle Cloud (oracle/oci-cloud-controller-manager@1100ac36 docs/load-balancer-annotations.md,
  docs/tutorial-ssl.md, pkg/cloudprovider/providers/oci/load_balancer_spec.go
  getSSLConfiguration, getLoadBalancerType): `oci-load-balancer-ssl-ports` (prefix
  `service.beta.kubernetes.io/`) lists the port and `oci-load-balancer-tls-secret` names the
  certificate, on a load balancer of type `lb` (an `nlb` per
  `oci.oraclecloud.com/load-balancer-type` terminates nothing); backend TLS with
  `oci-load-balancer-tls-backendset-secret`.
- Alibaba Cloud (kubernetes/cloud-provider-alibaba-cloud@eeb0ddc6 docs/usage.md "Create a
  LoadBalancer with HTTPS listener", pkg/controller/service/clbv1/listeners.go protocol(),
  nlbv2/listeners.go nlbListenerProtocol): `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-
  protocol-port` (or the legacy `alicloud-` prefix) maps the port to `https` (CLB) or `tcpssl`
  (NLB, `loadBalancerClass: alibabacloud.com/nlb`), with `...-loadbalancer-cert-id`; the backend
  is plain HTTP/TCP.
- DigitalOcean (digitalocean/digitalocean-cloud-controller-manager@70d527e3
  docs/controllers/services/annotations.md; cloud-controller-manager/do/loadbalancers.go
  buildForwardingRules, buildTLSForwardingRule, getType; do/cloud.go): on a `REGIONAL` load
  balancer (`do-loadbalancer-type`), with `do-loadbalancer-certificate-id` or `-name` and no
  `tls-passthrough`, a port whose protocol is `https` or `http2` (`do-loadbalancer-protocol`,
  overridden per port by `http-ports`, `tls-ports` (443 when none is given and `http2-ports`
  does not take 443) and `http2-ports`) is HTTPS with an HTTP target. The CCM's
  default type is REGIONAL_NETWORK, which forwards TCP and terminates nothing; the CCM writes
  the type it created back into the annotation, so a Service read from a cluster says which.

Not modelled, for want of a documented Service annotation that terminates TLS: Azure Load
Balancer and GKE's L4 load balancers (layer 4 only), IBM Cloud's VPC NLB (TCP and UDP only:
cloud.ibm.com/docs/containers?topic=containers-setup_vpc_nlb).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.base.model import LoadBalancerTls

AWS = "service.beta.kubernetes.io/aws-load-balancer-"
AWS_CERT = AWS + "ssl-cert"
AWS_SSL_PORTS = AWS + "ssl-ports"
AWS_BACKEND = AWS + "backend-protocol"
AWS_TYPE = AWS + "type"
AWS_LBC_TYPES = frozenset({"external", "nlb-ip"})
AWS_LBC_CLASS = "service.k8s.aws/nlb"
OCI = "service.beta.kubernetes.io/oci-load-balancer-"
OCI_TYPE = "oci.oraclecloud.com/load-balancer-type"
ALIBABA_PREFIXES = (
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-",
    "service.beta.kubernetes.io/alicloud-loadbalancer-",
)
ALIBABA_NLB_CLASS = "alibabacloud.com/nlb"
DO = "service.beta.kubernetes.io/do-loadbalancer-"

REF_AWS = "https://cloud-provider-aws.sigs.k8s.io/service_controller/"
REF_AWS_LBC = (
    "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/"
    "annotations/#ssl-ports"
)
REF_OCI = (
    "https://github.com/oracle/oci-cloud-controller-manager/blob/master/docs/"
    "load-balancer-annotations.md"
)
REF_ALIBABA = "https://github.com/kubernetes/cloud-provider-alibaba-cloud/blob/master/docs/usage.md"
REF_DO = (
    "https://github.com/digitalocean/digitalocean-cloud-controller-manager/blob/master/docs/"
    "controllers/services/annotations.md"
)

_GO_INT = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi accepts (no spaces)


def port_tls(service: Mapping[str, Any], port: Mapping[str, Any]) -> LoadBalancerTls | None:
    """The TLS the Service's cloud load balancer terminates on `port` (one of its
    spec.ports), or None when it passes the port's bytes through as they come."""
    spec = service.get("spec") or {}
    if spec.get("type") != "LoadBalancer" or not isinstance(port.get("port"), int):
        return None
    meta = service.get("metadata") or {}
    ann = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    lb_class = str(spec.get("loadBalancerClass") or "")
    for rule in (_aws, _oci, _alibaba, _digitalocean):
        found = rule(ann, lb_class, port)
        if found is not None:
            return found
    return None


def _aws(ann: dict[str, str], lb_class: str, port: Mapping[str, Any]) -> LoadBalancerTls | None:
    if not ann.get(AWS_CERT) or str(port.get("protocol") or "TCP").upper() == "UDP":
        return None
    number, name = int(port["port"]), str(port.get("name") or "")
    raw = ann.get(AWS_SSL_PORTS)
    backend = ann.get(AWS_BACKEND, "")
    if ann.get(AWS_TYPE, "").lower() in AWS_LBC_TYPES or lb_class == AWS_LBC_CLASS:
        items = [i.strip() for i in (raw or "").split(",") if i.strip()]
        if items and name not in items and str(number) not in items:
            return None
        return LoadBalancerTls(
            provider="AWS Load Balancer Controller (NLB)",
            annotation=AWS_CERT,
            backend_tls=backend == "ssl",
            reference=REF_AWS_LBC,
        )
    nlb = ann.get(AWS_TYPE, "").lower() == "nlb"
    if raw not in (None, "", "*"):
        items = str(raw).split(",")
        numbers = {int(i) for i in items if _GO_INT.fullmatch(i)}
        names = {i for i in items if not _GO_INT.fullmatch(i)}
        if number not in numbers and (name if nlb else name.lower()) not in names:
            return None
    return LoadBalancerTls(
        provider="AWS " + ("Network Load Balancer" if nlb else "Classic Load Balancer"),
        annotation=AWS_CERT,
        backend_tls=backend == "ssl" if nlb else backend in ("https", "ssl"),
        reference=REF_AWS,
    )


def _oci(ann: dict[str, str], _class: str, port: Mapping[str, Any]) -> LoadBalancerTls | None:
    raw = ann.get(OCI + "ssl-ports")
    if not raw or not ann.get(OCI + "tls-secret") or ann.get(OCI_TYPE, "").lower() == "nlb":
        return None
    try:
        ports = {int(p.strip()) for p in raw.split(",")}
    except ValueError:
        return None  # the controller refuses the Service ("parse SSL port"): no listener
    if int(port["port"]) not in ports:
        return None
    return LoadBalancerTls(
        provider="Oracle Cloud Load Balancer",
        annotation=OCI + "ssl-ports",
        backend_tls=bool(ann.get(OCI + "tls-backendset-secret")),
        reference=REF_OCI,
    )


def _alibaba(ann: dict[str, str], lb_class: str, port: Mapping[str, Any]) -> LoadBalancerTls | None:
    nlb = lb_class == ALIBABA_NLB_CLASS
    for prefix in ALIBABA_PREFIXES:
        mapping, cert = ann.get(prefix + "protocol-port"), ann.get(prefix + "cert-id")
        if not mapping or not cert:
            continue
        for entry in mapping.split(","):
            proto, _, number = entry.partition(":")
            if number != str(port["port"]):
                continue
            if (proto.upper() == "TCPSSL") if nlb else (proto == "https"):
                return LoadBalancerTls(
                    provider="Alibaba Cloud " + ("NLB" if nlb else "CLB"),
                    annotation=prefix + "protocol-port",
                    backend_tls=False,
                    reference=REF_ALIBABA,
                )
            break  # the first entry for the port decides (protocol())
    return None


def _digitalocean(
    ann: dict[str, str], _class: str, port: Mapping[str, Any]
) -> LoadBalancerTls | None:
    cert = ann.get(DO + "certificate-id") or ann.get(DO + "certificate-name")
    if ann.get(DO + "type") != "REGIONAL" or not cert or ann.get(DO + "tls-passthrough") == "true":
        return None
    http = _do_ports(ann.get(DO + "http-ports"))
    https, http2 = _do_ports(ann.get(DO + "tls-ports")), _do_ports(ann.get(DO + "http2-ports"))
    if http is None or https is None or http2 is None:
        return None  # the CCM refuses a port list that does not parse
    if not https and 443 not in http2:
        https = [443]
    number = int(port["port"])
    protocol = ann.get(DO + "protocol") or "tcp"  # the default, then each list overrides it
    for listed, name in ((http, "http"), (https, "https"), (http2, "http2")):
        if number in listed:
            protocol = name
    if protocol not in ("https", "http2"):
        return None
    return LoadBalancerTls(
        provider="DigitalOcean Load Balancer",
        annotation=DO
        + ("certificate-id" if ann.get(DO + "certificate-id") else "certificate-name"),
        backend_tls=False,
        reference=REF_DO,
    )


def _do_ports(raw: str | None) -> list[int] | None:
    if raw is None:
        return []
    items = raw.split(",")
    if not all(_GO_INT.fullmatch(i) for i in items):
        return None
    return [int(i) for i in items]

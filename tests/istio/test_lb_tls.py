"""auditor/istio/lb_tls.py: when a cloud load balancer terminates TLS on a Service port, per the
controllers' sources (cloud-provider-aws aws.go getPortSets/buildListener, aws-load-balancer-
controller model_build_listener.go, oci-cloud-controller-manager load_balancer_spec.go,
cloud-provider-alibaba-cloud clbv1/nlbv2 listeners.go, digitalocean-cloud-controller-manager
loadbalancers.go)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.istio import lb_tls as L

AWS = "service.beta.kubernetes.io/aws-load-balancer-"
CERT = {AWS + "ssl-cert": "arn:aws:acm:us-east-1:123456789012:certificate/x"}
LBC = {AWS + "type": "external", AWS + "scheme": "internet-facing"}
OCI = "service.beta.kubernetes.io/oci-load-balancer-"
ALI = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"
DO = "service.beta.kubernetes.io/do-loadbalancer-"
DO_CERT = {DO + "type": "REGIONAL", DO + "certificate-id": "c019bbf4"}


def _svc(annotations: dict[str, str], lb_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "LoadBalancer"}
    if lb_class:
        spec["loadBalancerClass"] = lb_class
    return {"metadata": {"annotations": annotations}, "spec": spec}


def _port(number: int, name: str = "", protocol: str = "TCP") -> dict[str, Any]:
    return {"port": number, "name": name, "protocol": protocol}


@pytest.mark.parametrize(
    ("annotations", "port", "provider", "backend_tls"),
    [
        # in-tree: no ssl-ports, "" or "*": every port
        (CERT, _port(80), "AWS Classic Load Balancer", False),
        ({**CERT, AWS + "ssl-ports": "*"}, _port(80), "AWS Classic Load Balancer", False),
        ({**CERT, AWS + "ssl-ports": "443"}, _port(443), "AWS Classic Load Balancer", False),
        ({**CERT, AWS + "ssl-ports": "443"}, _port(80), None, None),
        # a port name, compared with the lower-cased port name on a Classic ELB
        (
            {**CERT, AWS + "ssl-ports": "https"},
            _port(443, "HTTPS"),
            "AWS Classic Load Balancer",
            False,
        ),
        # items are not trimmed: " 8443" is a name, not the number 8443
        ({**CERT, AWS + "ssl-ports": "443, 8443"}, _port(8443), None, None),
        (
            {**CERT, AWS + "backend-protocol": "https"},
            _port(443),
            "AWS Classic Load Balancer",
            True,
        ),
        (
            {**CERT, AWS + "backend-protocol": "http"},
            _port(443),
            "AWS Classic Load Balancer",
            False,
        ),
        (
            {**CERT, AWS + "type": "nlb", AWS + "backend-protocol": "https"},
            _port(443),
            "AWS Network Load Balancer",
            False,
        ),
        (
            {**CERT, AWS + "type": "nlb", AWS + "backend-protocol": "ssl"},
            _port(443),
            "AWS Network Load Balancer",
            True,
        ),
        ({**CERT, AWS + "type": "nlb"}, _port(53, protocol="UDP"), None, None),
        # the AWS Load Balancer Controller: trimmed, "*" matches no port
        (
            {**CERT, **LBC, AWS + "ssl-ports": "443, 8443"},
            _port(8443),
            "AWS Load Balancer Controller (NLB)",
            False,
        ),
        ({**CERT, **LBC, AWS + "ssl-ports": "*"}, _port(443), None, None),
        ({**CERT, **LBC}, _port(80), "AWS Load Balancer Controller (NLB)", False),
        (
            {**CERT, **LBC, AWS + "backend-protocol": "ssl"},
            _port(443),
            "AWS Load Balancer Controller (NLB)",
            True,
        ),
        ({AWS + "ssl-ports": "443"}, _port(443), None, None),  # no certificate
        # Oracle: ssl-ports and the TLS secret, on an `lb`
        (
            {OCI + "ssl-ports": "443", OCI + "tls-secret": "s"},
            _port(443),
            "Oracle Cloud Load Balancer",
            False,
        ),
        (
            {OCI + "ssl-ports": "443, 8443", OCI + "tls-secret": "s"},
            _port(8443),
            "Oracle Cloud Load Balancer",
            False,
        ),
        (
            {OCI + "ssl-ports": "443", OCI + "tls-secret": "s", OCI + "tls-backendset-secret": "b"},
            _port(443),
            "Oracle Cloud Load Balancer",
            True,
        ),
        ({OCI + "ssl-ports": "443"}, _port(443), None, None),
        (
            {
                OCI + "ssl-ports": "443",
                OCI + "tls-secret": "s",
                "oci.oraclecloud.com/load-balancer-type": "nlb",
            },
            _port(443),
            None,
            None,
        ),
        # Alibaba: protocol-port https:<port> with a cert-id (also the legacy alicloud- prefix)
        (
            {ALI + "protocol-port": "https:443,http:80", ALI + "cert-id": "c"},
            _port(443),
            "Alibaba Cloud CLB",
            False,
        ),
        ({ALI + "protocol-port": "https:443,http:80", ALI + "cert-id": "c"}, _port(80), None, None),
        (
            {
                "service.beta.kubernetes.io/alicloud-loadbalancer-protocol-port": "https:443",
                "service.beta.kubernetes.io/alicloud-loadbalancer-cert-id": "c",
            },
            _port(443),
            "Alibaba Cloud CLB",
            False,
        ),
        ({ALI + "protocol-port": "https:443"}, _port(443), None, None),
        # DigitalOcean: REGIONAL only; tls-ports default 443; the protocol default applies
        ({**DO_CERT, DO + "protocol": "http"}, _port(443), "DigitalOcean Load Balancer", False),
        ({**DO_CERT, DO + "protocol": "http"}, _port(80), None, None),
        (
            {**DO_CERT, DO + "protocol": "https", DO + "http-ports": "80"},
            _port(8443),
            "DigitalOcean Load Balancer",
            False,
        ),
        ({**DO_CERT, DO + "http2-ports": "443"}, _port(443), "DigitalOcean Load Balancer", False),
        ({**DO_CERT, DO + "tls-passthrough": "true"}, _port(443), None, None),
        ({DO + "certificate-id": "c019bbf4"}, _port(443), None, None),  # REGIONAL_NETWORK default
        ({**DO_CERT, DO + "type": "REGIONAL_NETWORK"}, _port(443), None, None),
    ],
)
def test_port_tls(
    annotations: dict[str, str],
    port: dict[str, Any],
    provider: str | None,
    backend_tls: bool | None,
) -> None:
    found = L.port_tls(_svc(annotations), port)
    assert (found.provider if found else None, found.backend_tls if found else None) == (
        provider,
        backend_tls,
    )


def test_classes_and_types() -> None:
    ali = {ALI + "protocol-port": "tcpssl:443", ALI + "cert-id": "c"}
    nlb = L.port_tls(_svc(ali, "alibabacloud.com/nlb"), _port(443))
    assert nlb is not None and nlb.provider == "Alibaba Cloud NLB"
    assert L.port_tls(_svc(ali), _port(443)) is None  # tcpssl is an NLB protocol only
    lbc = L.port_tls(_svc({**CERT, AWS + "ssl-ports": "*"}, "service.k8s.aws/nlb"), _port(443))
    assert lbc is None
    not_lb = {"metadata": {"annotations": CERT}, "spec": {"type": "NodePort"}}
    assert L.port_tls(not_lb, _port(443)) is None

"""TLS terminated by the cloud load balancer (#29 item 1): the exposure map and TLS001 on
fixtures/cases/ingress/cloud-lb-tls.yaml (one gateway per provider, Services as each
controller's documentation writes them)."""

from __future__ import annotations

from tests.case_helpers import findings, report_for

CASE = "ingress/cloud-lb-tls.yaml"


def test_plaintext_behind_a_terminating_load_balancer_is_low() -> None:
    assert findings(CASE, ("TLS", "GW")) == {
        ("TLS001", "Gateway", "istio-ingress", "alibaba-web", "low"),
        ("TLS001", "Gateway", "istio-ingress", "aws-web", "low"),
        ("TLS001", "Gateway", "istio-ingress", "digitalocean-web", "low"),
        ("TLS001", "Gateway", "istio-ingress", "oci-web", "low"),
        # the NLB's port 443 is a TLS listener (ssl-ports "443"); its port 80 is not
        ("TLS001", "Gateway", "istio-ingress", "aws-nlb-web", "low"),
        ("TLS001", "Gateway", "istio-ingress", "aws-nlb-web", "high"),
        # around the gateways, with plaintext HTTP on port 80 (its port 443 is TLS at the ELB)
        ("GW006", "Service", "shop", "echo-service", "high"),
    }
    by_server = {
        (f["resource"]["name"], f["path"]): f
        for f in report_for(CASE)["findings"]
        if f["check"] == "TLS001"
    }
    assert by_server[("aws-nlb-web", "spec.servers[0]")]["severity"] == "high"
    low = by_server[("aws-web", "spec.servers[1]")]
    assert low["evidence"]["lb_tls"] == {
        "provider": "AWS Classic Load Balancer",
        "annotation": "service.beta.kubernetes.io/aws-load-balancer-ssl-cert",
        "backend_tls": False,
        "reference": "https://cloud-provider-aws.sigs.k8s.io/service_controller/",
    }
    assert low["message"].endswith(
        "; TLS is terminated at the load balancer (AWS Classic Load Balancer, "
        "service.beta.kubernetes.io/aws-load-balancer-ssl-cert), so the internet hop is "
        "encrypted and the plaintext hop runs from the load balancer to the gateway inside the "
        "network"
    )


def test_exposure_map_says_tls_at_the_load_balancer() -> None:
    entries = {
        (e["gateway"]["name"], e["port"]): (
            e["tls"],
            e["tls_mode"],
            (e.get("lb_tls") or {}).get("provider"),
        )
        for e in report_for(CASE)["exposure"]
    }
    assert entries == {
        ("aws-web", 80): (False, "REDIRECT", None),
        ("aws-web", 443): (True, "LB_TERMINATED", "AWS Classic Load Balancer"),
        ("aws-nlb-web", 80): (False, "NONE", None),
        ("aws-nlb-web", 443): (True, "LB_TERMINATED", "AWS Load Balancer Controller (NLB)"),
        ("oci-web", 443): (True, "LB_TERMINATED", "Oracle Cloud Load Balancer"),
        ("alibaba-web", 443): (True, "LB_TERMINATED", "Alibaba Cloud CLB"),
        ("digitalocean-web", 443): (True, "LB_TERMINATED", "DigitalOcean Load Balancer"),
        # an application's own LoadBalancer: ssl-ports "https" names port 443 only
        ("echo-service", 80): (False, "NONE", None),
        ("echo-service", 443): (True, "LB_TERMINATED", "AWS Classic Load Balancer"),
    }
    [oci] = [e for e in report_for(CASE)["exposure"] if e["gateway"]["name"] == "oci-web"]
    assert oci["notes"] == [
        "TLS is terminated at the load balancer (Oracle Cloud Load Balancer, "
        "service.beta.kubernetes.io/oci-load-balancer-ssl-ports); the hop from the load "
        "balancer to the gateway is plaintext inside the network"
    ]

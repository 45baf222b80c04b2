"""Reachability classes of Services (auditor/istio/reachability.py), one row per provider
annotation as its documentation gives it."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.istio import reachability as R


def _lb(
    annotations: dict[str, str] | None = None, ips: tuple[str, ...] = ("203.0.113.9",), **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {"annotations": annotations or {}},
        "spec": {"type": "LoadBalancer", **spec},
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }


INTERNAL = [
    {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
    {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
    {"service.beta.kubernetes.io/aws-load-balancer-type": "external"},  # LBC default internal
    {"networking.gke.io/load-balancer-type": "Internal"},
    {"cloud.google.com/load-balancer-type": "Internal"},
    {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
    {"service.beta.kubernetes.io/oci-load-balancer-internal": "true"},
    {"oci-network-load-balancer.oraclecloud.com/internal": "true"},
    {"service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": "private"},
    {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet"},
]


@pytest.mark.parametrize("annotations", INTERNAL, ids=[next(iter(a)) for a in INTERNAL])
def test_internal_annotations(annotations: dict[str, str]) -> None:
    assert R.service_reach(_lb(annotations)).cls == R.INTERNAL


NOT_INTERNAL = [
    {"service.beta.kubernetes.io/azure-load-balancer-internal": "false"},
    {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
    {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    },
    {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "internet"},
    {},
]


@pytest.mark.parametrize("annotations", NOT_INTERNAL)
def test_public_load_balancers(annotations: dict[str, str]) -> None:
    assert R.service_reach(_lb(annotations)).cls == R.INTERNET


def test_gke_internal_class() -> None:
    reach = R.service_reach(_lb(loadBalancerClass="networking.gke.io/l4-regional-internal"))
    assert reach.cls == R.INTERNAL


def test_source_ranges_field_and_annotation() -> None:
    reach = R.service_reach(_lb(loadBalancerSourceRanges=["198.51.100.0/24", "192.0.2.0/28"]))
    assert (reach.cls, reach.source_ranges) == (
        R.RESTRICTED,
        ("198.51.100.0/24", "192.0.2.0/28"),
    )
    reach = R.service_reach(
        _lb({"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, 172.16.0.0/12"})
    )
    assert (reach.cls, reach.source_ranges) == (R.RESTRICTED, ("10.0.0.0/8", "172.16.0.0/12"))
    # 0.0.0.0/0 restricts nothing
    assert R.service_reach(_lb(loadBalancerSourceRanges=["0.0.0.0/0"])).cls == R.INTERNET


def test_private_status_address_is_internal() -> None:
    assert R.service_reach(_lb(ips=("10.240.0.7",))).cls == R.INTERNAL
    assert R.service_reach(_lb(ips=("100.64.3.4",))).cls == R.INTERNAL
    # a hostname says nothing by itself; a public IP is public
    assert R.service_reach(_lb(ips=())).cls == R.INTERNET
    assert R.service_reach(_lb(ips=("10.0.0.5", "203.0.113.5"))).cls == R.INTERNET


def test_other_service_types() -> None:
    node = {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    assert (R.service_reach(node).cls, R.service_reach(node).addresses) == (
        R.NODE_LOCAL,
        ("node:30080",),
    )
    assert R.service_reach({"spec": {"type": "ClusterIP"}}).cls == R.CLUSTER
    public_ip = {"spec": {"type": "ClusterIP", "externalIPs": ["198.51.100.7"]}}
    assert R.service_reach(public_ip).cls == R.INTERNET
    private_ip = {"spec": {"type": "ClusterIP", "externalIPs": ["192.168.1.7"]}}
    assert R.service_reach(private_ip).cls == R.INTERNAL


def test_widest() -> None:
    reaches = [R.Reach(R.INTERNAL, ""), R.Reach(R.INTERNET, ""), R.Reach(R.CLUSTER, "")]
    assert R.widest(reaches).cls == R.INTERNET
    assert R.widest([]).cls == R.CLUSTER

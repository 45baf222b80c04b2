"""Table tests: destination classes (auditor.istio.destinations) and NetworkPolicy egress as
Kubernetes defines it (auditor.istio.netpol.external_reach)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from auditor.istio.destinations import (
    DestinationClass as C,
)
from auditor.istio.destinations import (
    address_class,
    classify,
    covers_public_internet,
    gateway_advice_applies,
)
from auditor.istio.netpol import Target, Verdict, external_reach, ranges_cover


@pytest.mark.parametrize(
    ("address", "cls"),
    [
        ("8.8.8.8", C.PUBLIC),
        ("151.101.65.67", C.PUBLIC),
        ("10.1.2.3", C.PRIVATE),  # RFC 1918
        ("172.31.255.1", C.PRIVATE),
        ("172.32.0.1", C.PUBLIC),  # just outside 172.16/12
        ("192.168.0.10", C.PRIVATE),
        ("100.64.0.1", C.PRIVATE),  # RFC 6598 shared address space
        ("fd12:3456::1", C.PRIVATE),  # ULA
        ("169.254.169.254", C.METADATA),  # AWS/GCE/Azure IMDS
        ("169.254.170.2", C.METADATA),  # ECS task metadata
        ("fd00:ec2::254", C.METADATA),  # AWS IMDS over IPv6
        ("100.100.100.200", C.METADATA),  # Alibaba Cloud
        ("168.63.129.16", C.METADATA),  # Azure WireServer
        ("169.254.10.1", C.LINK_LOCAL),
        ("fe80::1", C.LINK_LOCAL),
        # loopback: the calling pod itself (a co-located container), not egress at all
        ("127.0.0.1", C.LOOPBACK),
        ("127.0.0.53/32", C.LOOPBACK),
        ("::1", C.LOOPBACK),
        ("2606:4700::1111", C.PUBLIC),
        ("::ffff:10.0.0.1", C.PRIVATE),  # IPv4-mapped
        ("10.40.0.0/24", C.PRIVATE),
        ("not-an-ip", None),
    ],
)
def test_address_class(address: str, cls: C | None) -> None:
    assert address_class(address) == cls


@pytest.mark.parametrize(
    ("host", "addresses", "cls", "known"),
    [
        ("api.stripe.com", [], C.PUBLIC, ()),
        ("*.com", [], C.PUBLIC, ()),
        ("metadata.google.internal", [], C.METADATA, ("169.254.169.254",)),
        ("metadata.goog", [], C.METADATA, ("169.254.169.254",)),
        ("instance-data.ec2.internal", [], C.METADATA, ("169.254.169.254",)),
        ("db.corp", [], C.UNKNOWN, ()),  # non-public suffix
        ("ldap.internal", [], C.UNKNOWN, ()),
        ("printer", [], C.UNKNOWN, ()),  # single label
        ("reviews.default.svc.cluster.local", [], C.IN_CLUSTER, ()),
        ("mymongodb.somedomain", ["10.40.0.2"], C.PRIVATE, ("10.40.0.2",)),
        # a public name pinned to a metadata address is the metadata server
        ("imds.example.com", ["169.254.169.254"], C.METADATA, ("169.254.169.254",)),
        # mixed addresses: the class that needs the most care wins
        ("mixed.example.com", ["10.0.0.1", "8.8.8.8"], C.PUBLIC, ("10.0.0.1", "8.8.8.8")),
        # a ServiceEntry endpoint on loopback is the calling pod's own container
        # (open-policy-agent/opa-envoy-plugin examples/istio/quick_start.yaml)
        ("opa-ext-authz-grpc.local", ["127.0.0.1"], C.LOOPBACK, ("127.0.0.1",)),
        ("localhost", [], C.LOOPBACK, ()),
        # loopback beside a real address: the real one decides
        ("half.example.com", ["127.0.0.1", "8.8.8.8"], C.PUBLIC, ("127.0.0.1", "8.8.8.8")),
    ],
)
def test_classify(host: str, addresses: list[str], cls: C, known: tuple[str, ...]) -> None:
    placement = classify(host, addresses)
    assert (placement.cls, placement.addresses) == (cls, known)


def test_mesh_internal_is_in_cluster() -> None:
    assert classify("legacy.example.com", mesh_internal=True).cls is C.IN_CLUSTER


@pytest.mark.parametrize("cls", list(C))
def test_gateway_advice_only_for_internet_and_unplaced_names(cls: C) -> None:
    assert gateway_advice_applies(cls) == (cls in (C.PUBLIC, C.UNKNOWN))


@pytest.mark.parametrize(
    ("cidr", "excepts", "covers"),
    [
        ("0.0.0.0/0", [], True),
        ("0.0.0.0/0", ["10.0.0.0/8", "169.254.169.254/32", "192.168.0.0/16"], True),
        ("0.0.0.0/0", ["52.0.0.0/8"], False),  # carves out public space
        ("52.0.0.0/8", [], False),
        ("::/0", [], True),
    ],
)
def test_covers_public_internet(cidr: str, excepts: list[str], covers: bool) -> None:
    assert covers_public_internet(cidr, excepts) is covers


def _pol(name: str, spec: dict[str, Any], namespace: str = "apps") -> SimpleNamespace:
    return SimpleNamespace(name=name, namespace=namespace, spec=spec)


DENY_ALL = _pol("deny-all", {"podSelector": {}, "policyTypes": ["Egress"]})
DNS_AND_ISTIO = _pol(
    "dns-and-istio",
    {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{"namespaceSelector": {"matchLabels": {"kube-system": "true"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}],
            },
            {"to": [{"namespaceSelector": {"matchLabels": {"istio": "system"}}}]},
        ],
    },
)
INTERNET_BUT_METADATA = _pol(
    "internet",
    {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}],
    },
)
HTTPS_ANYWHERE = _pol(
    "https-anywhere",
    {"podSelector": {}, "egress": [{"ports": [{"port": 443, "protocol": "TCP"}]}]},
)
PORT_RANGE = _pol(
    "range",
    {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
                "ports": [{"port": 8000, "endPort": 8100}],
            }
        ],
    },
)
NAMED_PORT = _pol(
    "named",
    {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "https"}]}]},
)
INGRESS_ONLY = _pol("ingress-only", {"podSelector": {}, "ingress": [{}]})
GOOGLE_APIS = _pol(
    "google-apis",
    {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "199.36.153.8/30"}}]}],
    },
)


@pytest.mark.parametrize(
    ("policies", "labels", "target", "verdict", "why"),
    [
        ([], {"app": "web"}, Target((), 443), Verdict.NO_POLICY, ()),
        ([INGRESS_ONLY], {}, Target((), 443), Verdict.NO_POLICY, ()),
        ([DENY_ALL], {}, Target((), 443), Verdict.BLOCKED, ("apps/deny-all",)),
        # namespace/pod selectors select pods, never an address outside the cluster
        ([DNS_AND_ISTIO], {}, Target((), 443), Verdict.BLOCKED, ("apps/dns-and-istio",)),
        ([DNS_AND_ISTIO], {}, Target(("8.8.8.8",), 53, "UDP"), Verdict.BLOCKED, None),
        # policies add up: one allowing is enough
        (
            [DNS_AND_ISTIO, HTTPS_ANYWHERE],
            {},
            Target((), 443),
            Verdict.ALLOWED,
            ("apps/https-anywhere egress[0]",),
        ),
        ([HTTPS_ANYWHERE], {}, Target((), 80), Verdict.BLOCKED, ("apps/https-anywhere",)),
        # podSelector: the policy selects only app=web
        ([INTERNET_BUT_METADATA], {"app": "db"}, Target((), 443), Verdict.NO_POLICY, ()),
        ([INTERNET_BUT_METADATA], {"app": "web"}, Target((), 443), Verdict.ALLOWED, None),
        (
            [INTERNET_BUT_METADATA],
            {"app": "web"},
            Target(("169.254.169.254",), 80),
            Verdict.BLOCKED,
            ("apps/internet",),
        ),
        ([PORT_RANGE], {}, Target(("203.0.113.7",), 8080), Verdict.ALLOWED, None),
        ([PORT_RANGE], {}, Target(("203.0.113.7",), 8200), Verdict.BLOCKED, None),
        ([PORT_RANGE], {}, Target(("198.51.100.7",), 8080), Verdict.BLOCKED, None),
        # a named port resolves on the destination pod: never outside the cluster
        ([NAMED_PORT], {}, Target((), 443), Verdict.BLOCKED, None),
        # a DNS name may or may not resolve into a narrow ipBlock
        ([GOOGLE_APIS], {}, Target((), 443), Verdict.PARTIAL, None),
        ([GOOGLE_APIS], {}, Target(("199.36.153.9",), 443), Verdict.ALLOWED, None),
    ],
)
def test_external_reach(
    policies: list[SimpleNamespace],
    labels: dict[str, str],
    target: Target,
    verdict: Verdict,
    why: tuple[str, ...] | None,
) -> None:
    reach = external_reach(policies, labels, target)
    assert reach.verdict is verdict
    if why is not None:
        shown = reach.allowed_by if verdict is Verdict.ALLOWED else reach.policies
        assert shown == why


def test_partial_reach_names_the_ipblocks_and_broad_rules_are_told_apart() -> None:
    assert external_reach([GOOGLE_APIS], {}, Target((), 443)).only == ("199.36.153.8/30",)
    assert external_reach([HTTPS_ANYWHERE], {}, Target((), 443)).broad is True
    assert external_reach([GOOGLE_APIS], {}, Target(("199.36.153.9",), 443)).broad is False


@pytest.mark.parametrize(
    ("ranges", "addresses", "covered"),
    [
        (["0.0.0.0/0"], [], True),
        (["10.0.0.0/8"], [], False),  # a DNS name on the internet is not in a private range
        (["52.0.0.0/8"], [], None),  # it might be
        (["52.0.0.0/8"], ["52.1.2.3"], True),
        (["*"], ["8.8.8.8"], True),
    ],
)
def test_capture_exclusion_ranges_cover(
    ranges: list[str], addresses: list[str], covered: bool | None
) -> None:
    assert ranges_cover(ranges, addresses) is covered

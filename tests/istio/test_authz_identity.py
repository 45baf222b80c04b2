"""auditor/istio/authz_identity.py against the documented rule semantics.

Sources: the AuthorizationPolicy reference (Source `principals`, `namespaces` "require mTLS
enabled"; sources ORed, fields ANDed; exact/prefix/suffix/presence matching), the conditions page
(`source.principal`, `source.namespace`, `connection.sni` "require mutual TLS enabled"), ztunnel's
src/rbac.rs (a connection without identity: positive fields false, negative fields true) and
Istio's plaintext integration test (DENY `notPrincipals: ["*"]` refuses plaintext).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.istio import authz_identity as I

P = "cluster.local/ns/dev/sa/sleep"


def src(**fields: list[str]) -> dict[str, Any]:
    return {"source": dict(fields)}


def op(**fields: list[str]) -> dict[str, Any]:
    return {"operation": dict(fields)}


REQUIRES: list[tuple[dict[str, Any], bool]] = [
    ({"from": [src(principals=[P])]}, True),
    ({"from": [src(namespaces=["dev"])]}, True),
    ({"from": [src(serviceAccounts=["dev/sleep"])]}, True),
    ({"from": [src(principals=["*"])]}, True),  # presence: needs a non-empty identity
    ({"from": [src(principals=[P]), src(ipBlocks=["10.0.0.0/8"])]}, False),  # sources ORed
    ({"from": [src(principals=[P], ipBlocks=["10.0.0.0/8"])]}, True),  # fields ANDed
    ({"from": [src(notPrincipals=[P])]}, False),
    ({"from": [src(notNamespaces=["dev"])]}, False),
    ({"from": [src(requestPrincipals=["issuer/sub"])]}, False),  # JWT, not the peer
    ({"when": [{"key": "source.namespace", "values": ["dev"]}]}, True),
    ({"when": [{"key": "source.principal", "values": [P]}]}, True),
    ({"when": [{"key": "connection.sni", "values": ["a.example.com"]}]}, True),
    ({"when": [{"key": "source.ip", "values": ["10.0.0.1"]}]}, False),
    ({"when": [{"key": "source.namespace", "notValues": ["dev"]}]}, False),
    ({"to": [op(methods=["POST"])]}, False),
    ({}, False),
]


@pytest.mark.parametrize(("rule", "expected"), REQUIRES)
def test_requires_peer_identity(rule: dict[str, Any], expected: bool) -> None:
    assert I.requires_peer_identity(rule) is expected


def test_identity_paths_name_the_fields() -> None:
    rule = {
        "from": [src(principals=[P]), src(namespaces=["dev"], notPrincipals=[P])],
        "when": [
            {"key": "source.ip", "values": ["1.2.3.4"]},
            {"key": "connection.sni", "values": ["x"]},
        ],
    }
    assert I.identity_paths(rule) == [
        "from[0].source.principals",
        "from[1].source.namespaces",
        "when[1]",
    ]


COVERS: list[tuple[dict[str, Any], int, bool]] = [
    ({}, 8080, True),
    ({"to": [op(ports=["8080"])]}, 8080, True),
    ({"to": [op(ports=["9000"])]}, 8080, False),
    ({"to": [op(ports=["9000"]), op(methods=["GET"])]}, 8080, True),  # `to` entries ORed
    ({"to": [op(notPorts=["8080"])]}, 8080, False),
    ({"when": [{"key": "destination.port", "values": ["9000"]}]}, 8080, False),
    ({"when": [{"key": "destination.port", "notValues": ["8080"]}]}, 8080, False),
]


@pytest.mark.parametrize(("rule", "port", "expected"), COVERS)
def test_covers_port(rule: dict[str, Any], port: int, expected: bool) -> None:
    assert I.covers_port(rule, port) is expected


CATCHES: list[tuple[dict[str, Any], int | None, bool]] = [
    ({}, None, True),  # an empty DENY rule denies everything
    ({"from": [src(notPrincipals=["*"])]}, None, True),  # Istio's plaintext test
    ({"from": [src(notNamespaces=["shop"])]}, 8080, True),
    ({"from": [src(notPrincipals=["*"])], "to": [op(ports=["8080"])]}, 8080, True),
    ({"from": [src(notPrincipals=["*"])], "to": [op(ports=["9000"])]}, 8080, False),
    ({"from": [src(notPrincipals=["*"])], "to": [op(methods=["GET"])]}, None, False),
    ({"from": [src(notPrincipals=["*"], ipBlocks=["10.0.0.0/8"])]}, None, False),
    ({"when": [{"key": "source.namespace", "notValues": ["shop"]}]}, None, True),
    ({"when": [{"key": "source.namespace", "values": ["shop"]}]}, None, False),
    ({"from": [src(principals=[P])]}, None, False),
]


@pytest.mark.parametrize(("rule", "port", "expected"), CATCHES)
def test_catches_all_plaintext(rule: dict[str, Any], port: int | None, expected: bool) -> None:
    assert I.catches_all_plaintext(rule, port) is expected


NAMES: list[tuple[dict[str, Any], str, str, bool]] = [
    ({"from": [src(namespaces=["dev"])]}, "dev", "sleep", True),
    ({"from": [src(namespaces=["dev*"])]}, "dev-2", "sleep", True),
    ({"from": [src(namespaces=["*-dev"])]}, "team-dev", "x", True),
    ({"from": [src(namespaces=["dev"])]}, "prod", "sleep", False),
    ({"from": [src(principals=[P])]}, "dev", "sleep", True),
    ({"from": [src(principals=[P])]}, "dev", "default", False),
    ({"from": [src(principals=["*/ns/dev/sa/sleep"])]}, "dev", "sleep", True),
    ({"from": [src(serviceAccounts=["dev/sleep"])]}, "dev", "sleep", True),
    ({"from": [src(serviceAccounts=["sleep"])]}, "foo", "sleep", True),  # the policy's namespace
    ({"from": [src(principals=[P], namespaces=["prod"])]}, "dev", "sleep", False),
    ({"when": [{"key": "source.namespace", "values": ["dev"]}]}, "dev", "x", True),
    ({"when": [{"key": "source.namespace", "values": ["dev"]}]}, "prod", "x", False),
    ({"when": [{"key": "connection.sni", "values": ["a.example.com"]}]}, "dev", "x", False),
]


@pytest.mark.parametrize(("rule", "namespace", "sa", "expected"), NAMES)
def test_names_caller(rule: dict[str, Any], namespace: str, sa: str, expected: bool) -> None:
    assert I.names_caller(rule, namespace, sa, policy_namespace="foo") is expected


def test_string_match() -> None:
    assert I.string_match("*", "x") and not I.string_match("*", "")
    assert I.string_match("ab*", "abc") and I.string_match("*bc", "abc")
    assert not I.string_match("abc", "abcd")


FIELDS = st.sampled_from(
    ["principals", "namespaces", "serviceAccounts", "notPrincipals", "notNamespaces", "ipBlocks"]
)
SOURCES = st.dictionaries(
    FIELDS, st.lists(st.sampled_from(["*", "dev", P]), min_size=1, max_size=2)
)
KEYS = st.sampled_from(["source.namespace", "source.principal", "connection.sni", "source.ip"])
CONDITIONS = st.one_of(
    st.fixed_dictionaries({"key": KEYS, "values": st.just(["dev"])}),
    st.fixed_dictionaries({"key": KEYS, "notValues": st.just(["dev"])}),
)
RULES = st.fixed_dictionaries(
    {},
    optional={
        "from": st.lists(SOURCES.map(lambda s: {"source": s}), max_size=3),
        "when": st.lists(CONDITIONS, max_size=2),
    },
)


@given(RULES)
def test_a_rule_needing_identity_never_catches_every_plaintext_request(
    rule: dict[str, Any],
) -> None:
    """A rule cannot both need a peer identity and match every request that has none."""
    assert not (I.requires_peer_identity(rule) and I.catches_all_plaintext(rule, None))


NAMES_NS: list[tuple[dict[str, Any], str, bool]] = [
    ({"from": [src(principals=[P])]}, "dev", True),
    ({"from": [src(principals=[P])]}, "prod", False),
    ({"from": [src(principals=["*"])]}, "prod", True),
    ({"from": [src(principals=["cluster.local/ns/dev/*"])]}, "dev", True),
    ({"from": [src(principals=["cluster.local/ns/dev/*"])]}, "prod", False),
    ({"from": [src(principals=["*/ns/dev/sa/sleep"])]}, "dev", True),
    ({"from": [src(namespaces=["de*"])]}, "dev", True),
    ({"from": [src(serviceAccounts=["dev/sleep"])]}, "dev", True),
    ({"from": [src(serviceAccounts=["sleep"])]}, "foo", True),
    ({"from": [src(serviceAccounts=["sleep"])]}, "dev", False),
    ({"when": [{"key": "source.namespace", "values": ["dev"]}]}, "prod", False),
]


@pytest.mark.parametrize(("rule", "namespace", "expected"), NAMES_NS)
def test_names_namespace(rule: dict[str, Any], namespace: str, expected: bool) -> None:
    assert I.names_namespace(rule, namespace, policy_namespace="foo") is expected

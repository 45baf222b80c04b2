"""Istio's gateway merge rules (auditor/istio/gateway_merge.py), table-tested against what
pilot's mergeGateways (istio/istio pilot/pkg/model/gateway.go) keeps and rejects."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.istio import gateway_merge as GM


def _server(
    protocol: str, port: int, hosts: list[str], tls: dict[str, Any] | None = None, bind: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {"port": {"number": port, "protocol": protocol}, "hosts": hosts}
    if tls is not None:
        out["tls"] = tls
    if bind:
        out["bind"] = bind
    return out


SIMPLE = {"mode": "SIMPLE", "credentialName": "c"}
PASS = {"mode": "PASSTHROUGH"}
REDIRECT = {"httpsRedirect": True}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = [
    (
        "two HTTP servers, same host, merge",
        _server("HTTP", 80, ["*"]),
        _server("HTTP", 80, ["*"]),
        None,
    ),
    (
        "HTTP and HTTP2 merge (both HTTP family)",
        _server("HTTP", 80, ["a"]),
        _server("HTTP2", 80, ["b"]),
        None,
    ),
    (
        "HTTP redirect servers with the same host: duplicate (both carry tls)",
        _server("HTTP", 80, ["a"], REDIRECT),
        _server("HTTP", 80, ["a"], REDIRECT),
        "duplicate-host",
    ),
    (
        "HTTP redirect and plain HTTP, same host: merge (only one carries tls)",
        _server("HTTP", 80, ["a"], REDIRECT),
        _server("HTTP", 80, ["a"]),
        None,
    ),
    (
        "HTTPS, different hosts: SNI",
        _server("HTTPS", 443, ["a"], SIMPLE),
        _server("HTTPS", 443, ["b"], SIMPLE),
        None,
    ),
    (
        "HTTPS, same host: duplicate",
        _server("HTTPS", 443, ["a"], SIMPLE),
        _server("HTTPS", 443, ["a"], SIMPLE),
        "duplicate-host",
    ),
    (
        "PASSTHROUGH and SIMPLE, different hosts: SNI",
        _server("TLS", 443, ["a"], PASS),
        _server("HTTPS", 443, ["b"], SIMPLE),
        None,
    ),
    (
        "PASSTHROUGH and SIMPLE, same host: duplicate",
        _server("TLS", 443, ["a"], PASS),
        _server("HTTPS", 443, ["a"], SIMPLE),
        "duplicate-host",
    ),
    (
        "HTTP and HTTPS on one port",
        _server("HTTP", 8443, ["a"]),
        _server("HTTPS", 8443, ["b"], SIMPLE),
        "protocol",
    ),
    ("TCP and HTTP on one port", _server("TCP", 80, ["a"]), _server("HTTP", 80, ["a"]), "opaque"),
    (
        "TCP and TCP on one port",
        _server("TCP", 31400, ["a"]),
        _server("TCP", 31400, ["b"]),
        "opaque",
    ),
    ("different ports never conflict", _server("TCP", 80, ["a"]), _server("HTTP", 81, ["a"]), None),
    (
        "different binds never conflict",
        _server("TCP", 80, ["a"], bind="10.0.0.1"),
        _server("HTTP", 80, ["a"], bind="10.0.0.2"),
        None,
    ),
    (
        "*/* becomes * and duplicates *",
        _server("HTTPS", 443, ["*/*"], SIMPLE),
        _server("HTTPS", 443, ["*"], SIMPLE),
        "duplicate-host",
    ),
    (
        "ns/host and host are different strings for CheckDuplicates",
        _server("HTTPS", 443, ["ns1/a"], SIMPLE),
        _server("HTTPS", 443, ["a"], SIMPLE),
        None,
    ),
]


@pytest.mark.parametrize(("name", "a", "b", "expected"), CASES, ids=[c[0] for c in CASES])
def test_conflict_reason(
    name: str, a: dict[str, Any], b: dict[str, Any], expected: str | None
) -> None:
    sa = GM.merge_server("ns1", "ga", 0, a)
    sb = GM.merge_server("ns2", "gb", 0, b)
    found = GM.conflict_reason(sa, sb)
    assert (found[0] if found else None) == expected
    # symmetric: which Gateway istiod reads first decides the survivor, not whether they clash
    back = GM.conflict_reason(sb, sa)
    assert (back[0] if back else None) == expected


def test_sanitize_hosts() -> None:
    assert GM.sanitize_hosts(["./a.com", "*/b.com", "x/c.com"], "shop") == (
        "shop/a.com",
        "b.com",
        "x/c.com",
    )
    assert GM.sanitize_hosts(["a.com", "*/*"], "shop") == ("*",)


# ---- `conflicts` and `rejected` answer as every pair compared by conflict_reason would -------


def _pairwise(servers: list[GM.MergeServer]) -> list[GM.Conflict]:
    out = []
    by_port: dict[int, list[GM.MergeServer]] = {}
    for s in servers:
        by_port.setdefault(s.port, []).append(s)
    for group in by_port.values():
        for a in group:
            for b in group:
                if a is b or (a.gateway, a.index) == (b.gateway, b.index):
                    continue
                found = GM.conflict_reason(a, b)
                if found:
                    out.append(GM.Conflict(server=a, other=b, reason=found[0], hosts=found[1]))
    return out


def _kept_first(servers: list[GM.MergeServer]) -> set[tuple[tuple[str, str], int]]:
    kept: list[GM.MergeServer] = []
    out = set()
    for s in servers:
        if any(GM.conflict_reason(s, k) for k in kept):
            out.add((s.gateway, s.index))
        else:
            kept.append(s)
    return out


def _server_lists(protocols: list[str], tls: st.SearchStrategy[bool]) -> Any:
    return st.lists(
        st.builds(
            lambda gw, i, port, bind, protocol, tls, hosts: GM.MergeServer(
                gateway=("ns", gw),
                index=i,
                port=port,
                bind=bind,
                protocol=protocol,
                has_tls=tls,
                hosts=tuple(hosts),
            ),
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 3),
            st.sampled_from([0, 80, 443]),
            st.sampled_from(["", "10.0.0.1"]),
            st.sampled_from(protocols),
            tls,
            st.lists(st.sampled_from(["*", "a.com", "b.com", "ns/a.com"]), max_size=3),
        ),
        max_size=12,
    )


# any mix of classes; and TLS servers only, the shape of a shared ingress gateway on port 443,
# where only duplicate hosts conflict
@given(
    st.one_of(
        _server_lists(["HTTP", "HTTPS", "TLS", "TCP", "GRPC"], st.booleans()),
        _server_lists(["HTTPS", "TLS"], st.just(True)),
    )
)
def test_conflicts_and_rejected_match_every_pair_compared(servers: list[GM.MergeServer]) -> None:
    assert GM.conflicts(servers) == _pairwise(servers)
    assert GM.rejected(servers) == _kept_first(servers)

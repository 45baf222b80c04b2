"""Istio's gateway merge rules (auditor/istio/gateway_merge.py), table-tested against what
pilot's mergeGateways (istio/istio pilot/pkg/model/gateway.go) keeps and rejects."""

from __future__ import annotations

from typing import Any

import pytest

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

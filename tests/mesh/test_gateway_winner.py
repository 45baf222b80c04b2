"""Two Gateways declare the same host on the same port of one gateway workload: istiod keeps the
server of the Gateway it reads first and drops the other whole (issue 29, item 7). Ground truth:
istio/istio pilot/pkg/model/gateway.go mergeGateways/CheckDuplicates, push_context.go
initGateways, config.go configCompareByCreationTime (commit 86c9f01fd73)."""

from __future__ import annotations

from typing import Any

from auditor.istio import gateway_merge as GM
from tests.case_helpers import findings, report_for

CASE = "ingress/conflicting-gateways-winner.yaml"


def _server(gw: str, index: int, hosts: tuple[str, ...], protocol: str = "HTTPS") -> GM.MergeServer:
    return GM.merge_server(
        "istio-ingress",
        gw,
        index,
        {
            "port": {"number": 443, "name": "https", "protocol": protocol},
            "hosts": list(hosts),
            "tls": {"mode": "SIMPLE", "credentialName": f"{gw}-cert"},
        },
    )


def test_reading_order_is_creation_time_then_name_then_namespace() -> None:
    keys = [
        GM.reading_order("2025-03-01T09:00:00Z", "api-edge", "istio-ingress"),
        GM.reading_order("2024-06-01T09:00:00Z", "storefront", "istio-ingress"),
        GM.reading_order(None, "zeta", "a"),  # no timestamp: Go's zero time, read first
        GM.reading_order("2024-06-01T09:00:00Z", "storefront", "aaa"),
    ]
    assert sorted(keys) == [keys[2], keys[3], keys[1], keys[0]]


def test_later_server_with_a_known_host_is_dropped_whole() -> None:
    first = _server("storefront", 0, ("shop.example.com",))
    later = _server("api-edge", 0, ("shop.example.com", "checkout.example.com"))
    other = _server("www", 0, ("www.example.com",))
    assert GM.rejected([first, later, other]) == {(("istio-ingress", "api-edge"), 0)}
    # the order decides: read the other way round, the other one is dropped
    assert GM.rejected([later, first, other]) == {(("istio-ingress", "storefront"), 0)}


def _served(data: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(e["gateway"]["name"], e["host"], e["port"]) for e in data["exposure"]]


def test_exposure_lists_only_the_server_istiod_keeps() -> None:
    # storefront was created first although its name sorts after api-edge: it is kept, and
    # api-edge's server goes with every host on it (checkout.example.com is served by nobody)
    assert _served(report_for(CASE)) == [("storefront", "shop.example.com", 443)]


def test_both_gateways_are_reported_and_the_kept_one_is_named() -> None:
    assert findings(CASE, ("GW003",)) == {
        ("GW003", "Gateway", "istio-ingress", "api-edge", "medium"),
        ("GW003", "Gateway", "istio-ingress", "storefront", "medium"),
    }
    by_name = {
        f["resource"]["name"]: f for f in report_for(CASE)["findings"] if f["check"] == "GW003"
    }
    assert by_name["api-edge"]["evidence"]["served"] is False
    assert by_name["storefront"]["evidence"]["served"] is True
    assert by_name["api-edge"]["message"].endswith(
        "istiod reads this Gateway later and drops this server, every host of it"
    )
    assert by_name["storefront"]["message"].endswith(
        "istiod reads this Gateway first and keeps this server, dropping the other"
    )

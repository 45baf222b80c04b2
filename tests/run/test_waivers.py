"""Waivers: matching (check + resource globs, id), expiry against the scan date, the waiver
audit, summary counts and gating, and one-line errors for malformed files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auditor.base.errors import InputError
from auditor.input.files import load_paths
from auditor.run.scan import scan
from auditor.run.waivers import Waiver, apply_waivers, load_waivers, parse_waivers
from tests.helpers import FIXED_CLOCK
from tests.pipeline_helpers import (
    AFTER,
    AFTER_IDS,
    COMMON,
    EGR001,
    GW001,
    GW002,
    GW005,
    MTLS001,
    WAIVERS,
    ours,
    read_json,
    run_cli,
    validate_report,
)

SCAN_DATE = dt.date(2026, 11, 25)  # the date of FIXED_CLOCK


def scan_after(waivers: list[Waiver] | None) -> dict[str, Any]:
    snapshot = load_paths([str(COMMON), str(AFTER)])
    return dict(scan(snapshot, generated_at=FIXED_CLOCK, waivers=waivers).data)


def waived_by(data: dict[str, Any]) -> dict[str, int | None]:
    """finding id -> index of the waiver entry that waived it (None: not waived)."""
    return {f["id"]: (f["waiver"] or {}).get("index") for f in ours(data["findings"])}


def audit(data: dict[str, Any]) -> list[tuple[int, str, list[str]]]:
    return [(w["index"], w["status"], w["findings"]) for w in data["waiver_audit"]]


def test_fixture_waivers_matched_expired_unused() -> None:
    data = scan_after(load_waivers(WAIVERS))
    # GW001 by check + glob (expires on the scan's own day: still applies), GW002 by id,
    # EGR001's waiver expired the day before, VS001's waiver has nothing to match.
    assert waived_by(data) == {EGR001: None, GW005: None, MTLS001: None, GW001: 0, GW002: 1}
    assert audit(data) == [
        (0, "matched", [GW001]),
        (1, "matched", [GW002]),
        (2, "expired", [EGR001]),
        (3, "unused", []),
    ]
    gw001 = next(f for f in data["findings"] if f["id"] == GW001)
    assert gw001["waiver"] == {
        "index": 0,
        "check": "GW001",
        "resource": {"kind": "Gateway", "namespace": "shop", "name": "ghost-*"},
        "id": None,
        "reason": "ghost gateway kept for the Q1 migration; reviewed in SEC-101",
        "owner": "shop-team",
        "expires": "2026-11-25",
        "ticket": "SEC-101",
    }
    # waived findings keep their place in findings[] but leave the severity counts
    assert [f["id"] for f in data["findings"]] == AFTER_IDS
    assert data["summary"]["waived"] == 2
    assert data["summary"]["total"] == 3
    assert data["summary"]["by_severity"] == {
        "critical": 0,
        "high": 0,
        "medium": 2,  # EGR001 (its waiver expired), MTLS001
        "low": 1,  # GW005 (governance, low); GW001 and GW002 are waived
        "info": 0,
    }
    validate_report(data)


def test_no_waivers_file_leaves_report_unchanged() -> None:
    data = scan_after(None)
    assert all("waiver" not in f for f in data["findings"])
    assert "waiver_audit" not in data
    assert "waived" not in data["summary"]


def test_empty_waivers_list_marks_every_finding_unwaived() -> None:
    data = scan_after(parse_waivers({"waivers": []}, "w.yaml"))
    assert waived_by(data) == dict.fromkeys(AFTER_IDS)
    assert data["waiver_audit"] == []
    assert data["summary"]["waived"] == 0
    validate_report(data)


FINDING = {
    "id": "TLS003-0123456789abcdef",
    "check": "TLS003",
    "severity": "high",
    "category": "tls",
    "resource": {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "namespace": "shop",
        "name": "payments-plain",
    },
}


def one(entries: list[dict[str, Any]], date: dt.date = SCAN_DATE) -> dict[str, Any]:
    waivers = parse_waivers({"waivers": entries}, "w.yaml")
    return apply_waivers({"findings": [FINDING]}, waivers, date)


@pytest.mark.parametrize(
    ("entry", "matches"),
    [
        ({"check": "TLS003"}, True),
        ({"check": "TLS004"}, False),
        ({"check": "*", "resource": {"namespace": "shop"}}, True),
        ({"check": "*", "resource": {"namespace": "sho"}}, False),
        ({"check": "TLS003", "resource": {"kind": "DestinationRule", "name": "payments-*"}}, True),
        ({"check": "TLS003", "resource": {"kind": "Destination*", "namespace": "s?op"}}, True),
        ({"check": "TLS003", "resource": {"kind": "destinationrule"}}, False),  # case counts
        ({"check": "TLS003", "resource": {"name": "payments"}}, False),  # globs are whole-name
        ({"check": "TLS003", "resource": {"namespace": "[a-s]hop"}}, True),
        ({"id": "TLS003-0123456789abcdef"}, True),
        ({"id": "TLS003-fedcba9876543210"}, False),
    ],
)
def test_matching(entry: dict[str, Any], matches: bool) -> None:
    out = one([{**entry, "reason": "r"}])
    assert (out["findings"][0]["waiver"] is not None) is matches
    assert out["waiver_audit"][0]["status"] == ("matched" if matches else "unused")


@pytest.mark.parametrize(
    ("expires", "status"),
    [("2026-11-26", "matched"), ("2026-11-25", "matched"), ("2026-11-24", "expired")],
)
def test_expiry_is_inclusive_of_the_scan_date(expires: str, status: str) -> None:
    out = one([{"check": "TLS003", "reason": "r", "expires": expires}])
    assert out["waiver_audit"][0]["status"] == status
    assert out["waiver_audit"][0]["findings"] == ["TLS003-0123456789abcdef"]
    assert (out["findings"][0]["waiver"] is not None) is (status == "matched")


def test_expiry_uses_the_date_passed_in_not_the_clock() -> None:
    entry = {"check": "TLS003", "reason": "r", "expires": "2020-01-01"}
    assert one([entry], dt.date(2019, 12, 31))["waiver_audit"][0]["status"] == "matched"
    assert one([entry], dt.date(2020, 1, 2))["waiver_audit"][0]["status"] == "expired"


def test_first_unexpired_match_wins_and_every_match_is_audited() -> None:
    out = one(
        [
            {"check": "TLS003", "reason": "expired", "expires": "2026-01-01"},
            {"check": "*", "resource": {"namespace": "shop"}, "reason": "second"},
            {"id": "TLS003-0123456789abcdef", "reason": "third"},
        ]
    )
    assert out["findings"][0]["waiver"]["index"] == 1
    assert [(w["index"], w["status"]) for w in out["waiver_audit"]] == [
        (0, "expired"),
        (1, "matched"),
        (2, "matched"),
    ]


def test_unquoted_yaml_date_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n- check: GW001\n  reason: r\n  expires: 2026-06-30\n  ticket: 142\n")
    [waiver] = load_waivers(path)
    assert waiver.expires == dt.date(2026, 6, 30)
    assert waiver.ticket == "142"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "waivers:\n- check: GW001\n  reason: ok\n- check: GW002\n  owner: me\n",
            "w.yaml: waivers[1]: 'reason' is required",
        ),
        (
            "waivers:\n- check: GW001\n  reason: '  '\n",
            "w.yaml: waivers[0]: 'reason' must be a non-empty string",
        ),
        (
            "waivers:\n- check: GW001\n  reason: r\n  expires: 30/06/2026\n",
            "w.yaml: waivers[0].expires: 30/06/2026 is not a date (YYYY-MM-DD)",
        ),
        (
            "waivers:\n- check: GW001\n  reason: r\n  expires: '2026-02-30'\n",
            "w.yaml: waivers[0].expires: 2026-02-30 is not a date (YYYY-MM-DD)",
        ),
        (  # unquoted: YAML would read a timestamp and fail on the day (#20)
            "waivers:\n- check: GW001\n  reason: r\n  expires: 2026-02-30\n",
            "w.yaml: waivers[0].expires: 2026-02-30 is not a date (YYYY-MM-DD)",
        ),
        (
            "waivers:\n- check: GW001\n  reason: r\n  expire: '2026-02-01'\n",
            "w.yaml: waivers[0]: unknown key 'expire' "
            "(expected: check, expires, id, owner, reason, resource, ticket)",
        ),
        (
            "waivers:\n- reason: r\n",
            "w.yaml: waivers[0]: 'check' (a check ID or \"*\") or 'id' (a finding id) is required",
        ),
        (
            "waivers:\n- check: gw1\n  reason: r\n",
            "w.yaml: waivers[0]: 'check' 'gw1' is not a check ID (like TLS003) or \"*\"",
        ),
        (
            "waivers:\n- check: '*'\n  reason: r\n",
            "w.yaml: waivers[0]: check \"*\" needs a 'resource': it would waive every finding",
        ),
        (
            "waivers:\n- id: GW001-a3d63cbc0570f40f\n  check: GW001\n  reason: r\n",
            "w.yaml: waivers[0]: give either 'id' or 'check' (with 'resource'), not both",
        ),
        (
            "waivers:\n- id: GW001\n  reason: r\n",
            "w.yaml: waivers[0]: 'id' 'GW001' is not a finding id (like GW001-0123456789abcdef)",
        ),
        (
            "waivers:\n- check: GW001\n  resource: {group: apps}\n  reason: r\n",
            "w.yaml: waivers[0]: 'resource' has unknown key 'group' "
            "(expected: kind, namespace, name)",
        ),
        (
            "waivers:\n- check: GW001\n  resource: shop/x\n  reason: r\n",
            "w.yaml: waivers[0]: 'resource' must be a mapping of kind, namespace, name",
        ),
        ("waivers:\n- GW001\n", "w.yaml: waivers[0]: must be a mapping"),
        ("- check: GW001\n", "w.yaml: expected a mapping with a 'waivers' list"),
        ("", "w.yaml: expected a mapping with a 'waivers' list"),
        (
            "waivers: []\nexceptions: []\n",
            "w.yaml: unknown top-level key 'exceptions' (only 'waivers')",
        ),
        (
            "waivers:\n- check: [GW001\n",
            "w.yaml:3:1: invalid YAML: did not find expected ',' or ']' "
            "(while parsing a flow sequence started at line 2, column 10)",
        ),
    ],
)
def test_malformed_waivers_exit_2_with_one_line(
    text: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "w.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as exc:
        load_waivers("w.yaml")
    assert str(exc.value) == message
    result = run_cli(["scan", "--from", str(COMMON), "--waivers", "w.yaml"], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == f"mesh-audit: error: {message}\n"
    assert result.stdout == ""


def test_missing_waivers_file_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(
        ["scan", "--from", str(COMMON), "--waivers", str(tmp_path / "none.yaml")], monkeypatch
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"mesh-audit: error: {tmp_path / 'none.yaml'}: cannot read: No such file or directory\n"
    )


def test_cli_waived_findings_do_not_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["scan", "--from", str(COMMON), "--from", str(AFTER), "-q"]
    # unwaived: EGR001 (medium) and GW001/GW002 (low) gate at low
    assert run_cli([*base, "--fail-on", "low"], monkeypatch).exit_code == 1
    # fixture waivers: GW001 and GW002 waived, EGR001's waiver expired -> medium still gates
    waived = [*base, "--waivers", str(WAIVERS)]
    assert run_cli([*waived, "--fail-on", "medium"], monkeypatch).exit_code == 1
    assert run_cli([*waived, "--fail-on", "high"], monkeypatch).exit_code == 0
    # with everything waived nothing gates, not even at info
    everything = tmp_path / "all.yaml"
    everything.write_text(
        "waivers:\n- check: '*'\n  resource: {namespace: '*'}\n  reason: accept all in this test\n"
    )
    result = run_cli([*base, "--waivers", str(everything), "--fail-on", "info"], monkeypatch)
    assert result.exit_code == 0


def test_cli_report_json_and_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    result = run_cli(
        [
            "scan",
            "--from",
            str(COMMON),
            "--from",
            str(AFTER),
            "--waivers",
            str(WAIVERS),
            "--output-dir",
            str(out),
        ],
        monkeypatch,
    )
    assert result.exit_code == 0, result.stderr
    data = read_json(out / "report.json")
    assert waived_by(data) == {EGR001: None, GW005: None, MTLS001: None, GW001: 0, GW002: 1}
    assert audit(data) == [
        (0, "matched", [GW001]),
        (1, "matched", [GW002]),
        (2, "expired", [EGR001]),
        (3, "unused", []),
    ]
    validate_report(data)
    assert "Waivers: 2 matched, 1 unused, 1 expired" in result.stdout
    assert "  waivers[2] expired: EGR001 ConfigMap/istio-system/* (expires 2026-11-24)" in (
        result.stdout
    )
    assert "  waivers[3] unused: VS001 */*/*" in result.stdout

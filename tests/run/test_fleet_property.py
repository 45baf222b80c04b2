"""Property (#28): `fleet` over any report-shaped JSON, whatever its fields hold (wrong types,
huge numbers, control, bidi and surrogate-free Unicode text in every string, names included),
builds a schema-valid fleet.json, terminal lines and HTML without an exception, and no control
or bidi character reaches the terminal or the HTML raw. In-process, 1,000 examples."""

from __future__ import annotations

import json
import unicodedata
from importlib.resources import files
from typing import Any

import jsonschema
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.report.fleet_render import render_fleet_html, terminal_lines
from auditor.run.fleet.model import build_fleet
from auditor.run.fleet.sources import ClusterReport, Unreadable

# text that a tenant or a bucket writer could put anywhere: ESC, C1, bidi overrides, NUL, line
# and paragraph separators, zero-width characters, plus ordinary letters
HOSTILE = st.sampled_from(
    ["\x1b[31m", "\x1b]0;pwn\x07", "\x9b2J", "\u202e", "\u2066", "\x00", "\u2028", "\u200b", "\r"]
)
TEXT = st.lists(st.one_of(st.text(max_size=12), HOSTILE), max_size=4).map("".join)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), TEXT
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
SEVERITY = st.one_of(st.sampled_from(["critical", "high", "medium", "low", "info"]), TEXT)
FINDING = st.fixed_dictionaries(
    {"check": st.one_of(TEXT, st.sampled_from(["GW001", "TLS003"])), "severity": SEVERITY},
    optional={"title": JSON, "waiver": JSON},
)
SUMMARY = st.fixed_dictionaries(
    {},
    optional={
        "score": st.one_of(st.integers(-5, 105), JSON),
        "grade": st.one_of(st.sampled_from(["A", "B", "C", "D", "F"]), JSON),
        "total": st.one_of(st.integers(-5, 10**13), JSON),
        "by_severity": st.one_of(st.dictionaries(SEVERITY, JSON, max_size=5), JSON),
        "coverage": st.one_of(
            st.fixed_dictionaries({"kinds_read": JSON, "kinds_total": JSON}), JSON
        ),
        "checks": JSON,
    },
)
REPORT = st.fixed_dictionaries(
    {
        "findings": st.lists(FINDING, max_size=4),
        "summary": SUMMARY,
        "generated_at": st.one_of(
            st.sampled_from(
                ["2026-11-25T03:17:00Z", "0001-01-01T00:00:00", "9999-12-31T23:59:59Z"]
            ),
            TEXT,
        ),
    },
    optional={
        "audit": st.one_of(
            st.fixed_dictionaries({"complete": st.booleans(), "reasons": st.lists(JSON)}), JSON
        ),
        "collection": st.one_of(
            st.dictionaries(TEXT, st.fixed_dictionaries({"status": JSON, "message": JSON})), JSON
        ),
        "tool": JSON,
        "source": JSON,
    },
)

SCHEMA = json.loads(files("auditor").joinpath("schema/fleet.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# what must never reach a terminal or an HTML page raw (line breaks and tabs are the page's own)
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def raw_unsafe(text: str, allowed: str = "") -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in UNSAFE and ch not in allowed]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reports=st.lists(st.tuples(TEXT, TEXT, REPORT), min_size=1, max_size=3),
    unreadable=st.lists(st.tuples(TEXT, TEXT), max_size=2),
    stale=st.floats(min_value=0, max_value=87600),
)
def test_fleet_of_any_reports_is_valid_and_inert(
    reports: list[tuple[str, str, dict[str, Any]]],
    unreadable: list[tuple[str, str]],
    stale: float,
) -> None:
    items = [
        ClusterReport(cluster, f"{i}:{origin}", data)
        for i, (cluster, origin, data) in enumerate(reports)
    ]
    data = build_fleet(
        items,
        generated_at="2026-11-26T03:17:00Z",
        stale_hours=stale,
        unreadable=[Unreadable(o, e) for o, e in unreadable],
    )
    VALIDATOR.validate(orjson.loads(orjson.dumps(data)))
    # one score: the report's own when it records a valid one and is complete, else none
    for row in data["clusters"]:
        report = reports[int(row["origin"].split(":", 1)[0])][2]
        summary = report["summary"]
        audit = report.get("audit")
        incomplete = isinstance(audit, dict) and audit.get("complete") is False
        recorded = summary.get("score")
        valid = (
            type(recorded) is int
            and 0 <= recorded <= 100
            and summary.get("grade") in ("A", "B", "C", "D", "F")
        )
        expected = (recorded, summary["grade"]) if valid and not incomplete else (None, None)
        assert (row["score"], row["grade"]) == expected
        assert row["complete"] is not incomplete
    for line in terminal_lines(data):
        assert raw_unsafe(line) == [], line
    html = render_fleet_html(data)
    assert raw_unsafe(html, allowed="\n\t") == []

"""Istio's release support table (data/supported_releases.yaml) and what it says of a version at
a given moment (the report's generated_at, never the clock)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

from auditor.input.yamlsafe import yaml_documents
from auditor.istio.features import STALE_AFTER


@dataclass(frozen=True, slots=True)
class Release:
    minor: tuple[int, int]
    released: dt.date
    eol: dt.date | None  # published end of life
    eol_expected: str  # "~Jan 2026" while only expected


@dataclass(frozen=True, slots=True)
class ReleaseTable:
    source: str
    as_of: dt.date
    releases: tuple[Release, ...]


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


@cache
def release_table() -> ReleaseTable:
    text = resources.files("auditor.istio").joinpath("data/supported_releases.yaml").read_text()
    (doc,) = list(yaml_documents("supported_releases.yaml", text))
    return ReleaseTable(
        source=str(doc["source"]),
        as_of=dt.date.fromisoformat(str(doc["as_of"])),
        releases=tuple(
            Release(
                minor=_minor(str(r["version"])),
                released=dt.date.fromisoformat(str(r["released"])),
                eol=dt.date.fromisoformat(str(r["eol"])) if r.get("eol") else None,
                eol_expected=str(r.get("eol_expected") or ""),
            )
            for r in doc["releases"]
        ),
    )


@dataclass(frozen=True, slots=True)
class Support:
    """`supported`: False (end of life passed), True (released, no end of life passed), None
    (the table cannot tell: newer than the table, or not yet released at that moment)."""

    supported: bool | None
    why: str


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _month_end(text: str) -> dt.date | None:
    """The last day of an expected end of life such as `~Jan 2026`; None when unreadable."""
    parts = text.strip("~ ").split()
    if len(parts) != 2 or not parts[1].isdigit() or parts[0][:3].lower() not in _MONTHS:
        return None
    year, month = int(parts[1]), _MONTHS.index(parts[0][:3].lower()) + 1
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def support(minor: tuple[int, int], when: dt.date, table: ReleaseTable) -> Support:
    shown = f"{minor[0]}.{minor[1]}"
    listed = {r.minor: r for r in table.releases}
    release = listed.get(minor)
    if release is not None:
        if release.eol is not None and release.eol <= when:
            return Support(False, f"Istio {shown} reached end of life on {release.eol}")
        if release.released > when:
            return Support(None, f"Istio {shown} was not released yet on {when}")
        if release.eol is not None:
            return Support(True, f"Istio {shown} is supported until {release.eol}")
        expected = _month_end(release.eol_expected)
        if expected is not None and expected < when:
            # the table only expected an end of life, and that month has passed: it cannot say
            return Support(
                None,
                f"Istio {shown}'s end of life was expected {release.eol_expected}, and the "
                "supported-releases table does not say whether it came",
            )
        return Support(True, f"Istio {shown} is supported (end of life {release.eol_expected})")
    newer = [r for r in table.releases if r.minor > minor and r.eol is not None]
    if newer:
        # releases reach end of life in order: an older minor ended no later than a newer one
        first = min(newer, key=lambda r: r.minor)
        assert first.eol is not None
        if first.eol <= when:
            return Support(
                False,
                f"Istio {shown} reached end of life no later than {first.minor[0]}."
                f"{first.minor[1]} ({first.eol})",
            )
    return Support(None, f"Istio {shown} is not in the supported-releases table")


def table_stale(table: ReleaseTable, audit_time: str | None) -> bool:
    if not audit_time:
        return False
    when = dt.datetime.fromisoformat(audit_time.replace("Z", "+00:00")).date()
    return when - table.as_of > STALE_AFTER

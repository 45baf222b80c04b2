"""Waivers: accepted findings, each with a reason, an owner and an expiry date.

A waiver names findings by check ID (or "*") plus a resource pattern (kind, namespace, name; shell
globs), or by a finding's stable `id`. A waived finding stays in the report with `waiver` set to
the entry that matched it; it is counted in `summary.waived` instead of `by_severity` and never
gates. `waiver_audit[]` lists every entry as `matched`, `unused` or `expired`, so exceptions that
nobody needs any more, or that ran out, are seen.

Expiry is compared with the scan's own date (the report's `generated_at`), never the wall clock:
a waiver applies up to and including its `expires` day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from auditor.base.errors import InputError
from auditor.base.model import EXPIRED, MATCHED, UNUSED
from auditor.base.text import inert

_CHECK_ID = re.compile(r"^[A-Z]{2,5}\d{3}$")
_FINDING_ID = re.compile(r"^[A-Z]{2,5}\d{3}-[0-9a-f]{16}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RESOURCE_KEYS = ("kind", "namespace", "name")
_KEYS = {"check", "resource", "id", "reason", "owner", "expires", "ticket"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """One entry of a waivers file, validated. `index` is its position in `waivers[]`."""

    index: int
    reason: str
    check: str | None = None
    resource: Mapping[str, str] | None = None
    id: str | None = None
    owner: str | None = None
    expires: dt.date | None = None
    ticket: str | None = None
    # "file" for a waivers-file entry; "annotation" or "--suppress" for an istioctl-style
    # suppression (auditor/run/suppress.py), which names the findings it covers in `ids`.
    source: str = "file"
    ids: tuple[str, ...] = ()

    def expired(self, scan_date: dt.date) -> bool:
        return self.expires is not None and scan_date > self.expires

    def matches(self, finding: Mapping[str, Any]) -> bool:
        if self.source != "file" and self.id is None:
            return finding.get("id") in self.ids
        if self.id is not None:
            return bool(finding.get("id") == self.id)
        if self.check not in ("*", finding.get("check")):
            return False
        if self.resource is None:
            return True
        ref = finding.get("resource") or {}
        for key, pattern in self.resource.items():
            value = ref.get(key) or ""
            if not fnmatchcase(str(value), pattern):
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.source == "file" else {"source": self.source}
        return {
            **extra,
            "index": self.index,
            "check": self.check,
            "resource": dict(self.resource) if self.resource is not None else None,
            "id": self.id,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat() if self.expires else None,
            "ticket": self.ticket,
        }


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waivers file; any problem is one InputError line naming the entry."""
    from auditor.input.files import read_single_yaml

    name = str(path)
    data = read_single_yaml(Path(path))
    return parse_waivers(data, name)


def parse_waivers(data: Any, source: str) -> list[Waiver]:
    if not isinstance(data, dict) or not isinstance(data.get("waivers"), list):
        raise InputError(f"{source}: expected a mapping with a 'waivers' list")
    extra = sorted(str(k) for k in data if k != "waivers")
    if extra:
        raise InputError(f"{source}: unknown top-level key {extra[0]!r} (only 'waivers')")
    return [_parse_entry(entry, i, source) for i, entry in enumerate(data["waivers"])]


def _parse_entry(entry: Any, index: int, source: str) -> Waiver:
    where = f"{source}: waivers[{index}]"

    def fail(problem: str, key: str | None = None) -> InputError:
        return InputError(f"{where}.{key}: {problem}" if key else f"{where}: {problem}")

    if not isinstance(entry, dict):
        raise fail("must be a mapping")
    unknown = sorted(str(k) for k in entry if k not in _KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (expected: {', '.join(sorted(_KEYS))})")

    def text(key: str, *, required: bool = False) -> str | None:
        value = entry.get(key)
        if value is None:
            if required:
                raise fail(f"{key!r} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{key!r} must be a non-empty string")
        return value.strip()

    reason = text("reason", required=True)
    assert reason is not None
    check = text("check")
    finding = text("id")
    resource = _parse_resource(entry.get("resource"), fail)
    if finding is not None:
        if check is not None or resource is not None:
            raise fail("give either 'id' or 'check' (with 'resource'), not both")
        if not _FINDING_ID.match(finding):
            raise fail(f"'id' {finding!r} is not a finding id (like GW001-0123456789abcdef)")
    elif check is None:
        raise fail("'check' (a check ID or \"*\") or 'id' (a finding id) is required")
    elif check != "*" and not _CHECK_ID.match(check):
        raise fail(f"'check' {check!r} is not a check ID (like TLS003) or \"*\"")
    elif check == "*" and resource is None:
        raise fail("check \"*\" needs a 'resource': it would waive every finding")
    return Waiver(
        index=index,
        reason=reason,
        check=check,
        resource=resource,
        id=finding,
        owner=text("owner"),
        expires=_parse_date(entry.get("expires"), fail),
        ticket=_parse_ticket(entry.get("ticket"), fail),
    )


def _parse_resource(value: Any, fail: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise fail("'resource' must be a mapping of kind, namespace, name")
    out: dict[str, str] = {}
    for key, pattern in value.items():
        if key not in _RESOURCE_KEYS:
            raise fail(f"'resource' has unknown key {key!r} (expected: kind, namespace, name)")
        if not isinstance(pattern, str) or not pattern:
            raise fail(f"'resource.{key}' must be a non-empty string (globs allowed)")
        out[key] = pattern
    return {k: out[k] for k in _RESOURCE_KEYS if k in out}


def _parse_date(value: Any, fail: Any) -> dt.date | None:
    if value is None:
        return None
    # YAML dates arrive as text (the loader keeps timestamps as strings, quoted or not).
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise fail(f"{inert(value, 60)} is not a date (YYYY-MM-DD)", key="expires")


def _parse_ticket(value: Any, fail: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    raise fail("'ticket' must be a non-empty string")


def apply_waivers(
    data: Mapping[str, Any], waivers: Sequence[Waiver], scan_date: dt.date
) -> dict[str, Any]:
    """Report data with `waiver` on every finding and `waiver_audit[]`; the input is not changed.

    The first unexpired entry (in file order) that matches a finding waives it. An expired entry
    never waives; its audit lists the findings it would still match, so the owner sees what
    comes back.
    """
    findings: list[dict[str, Any]] = []
    hits: dict[int, list[str]] = {w.index: [] for w in waivers}
    for original in data["findings"]:
        finding = dict(original)
        finding["waiver"] = None
        for waiver in waivers:
            if not waiver.matches(finding):
                continue
            hits[waiver.index].append(finding["id"])
            if finding["waiver"] is None and not waiver.expired(scan_date):
                finding["waiver"] = waiver.to_json()
        findings.append(finding)
    audit = []
    for waiver in waivers:
        status = UNUSED
        if waiver.expired(scan_date):
            status = EXPIRED
        elif hits[waiver.index]:
            status = MATCHED
        audit.append({**waiver.to_json(), "status": status, "findings": hits[waiver.index]})
    out = dict(data)
    out["findings"] = findings
    out["waiver_audit"] = audit
    return out

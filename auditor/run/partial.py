"""`--fail-on-partial`: which kinds a report could not read, less the ones expected unreadable.

A kind counts as unread when its list was forbidden or failed, or when it was read only in part
(some namespaces forbidden: status ok with a message). A kind whose API is not served (CRD not
installed) is not a loss of coverage: there is nothing of it to audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.base.errors import InputError
from auditor.input.kinds import KINDS
from auditor.input.snapshot import STATUS_NOT_INSTALLED, STATUS_OK


@dataclass(frozen=True, slots=True)
class Unread:
    kind: str  # the collection key, e.g. `Secret`, `networking.istio.io/Gateway`
    status: str  # forbidden, error, or partial
    message: str

    def line(self) -> str:
        tail = f": {self.message}" if self.message else ""
        return f"{self.kind} ({self.status}){tail}"


def parse_kinds(values: Iterable[str]) -> frozenset[str]:
    """`Secret`, `secrets`, `networking.istio.io/Gateway` or `gateways.networking.istio.io` to
    collection keys; a name that matches no kind (or several) is an input error."""
    out: set[str] = set()
    for raw in values:
        for value in (v.strip() for v in raw.split(",")):
            if not value:
                continue
            matches = [
                spec.key
                for spec in KINDS
                if value in (spec.key, spec.kind, spec.plural)
                or (spec.group and value == f"{spec.plural}.{spec.group}")
            ]
            if len(matches) != 1:
                known = "ambiguous" if matches else "unknown"
                raise InputError(
                    f"--partial-ok {value}: {known} kind (use group/Kind, e.g. Secret, "
                    "networking.istio.io/Gateway)"
                )
            out.add(matches[0])
    return frozenset(out)


def unread_kinds(data: Mapping[str, Any], tolerated: frozenset[str] = frozenset()) -> list[Unread]:
    """The kinds of a report.json mapping that were not (fully) read, sorted, minus `tolerated`."""
    out: list[Unread] = []
    for key, entry in sorted((data.get("collection") or {}).items()):
        status = str(entry.get("status"))
        message = str(entry.get("message") or "")
        if key in tolerated or status == STATUS_NOT_INSTALLED:
            continue
        if status != STATUS_OK:
            out.append(Unread(key, status, message))
        elif message:
            out.append(Unread(key, "partial", message))
    return out

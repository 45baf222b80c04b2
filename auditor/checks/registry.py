"""The check registry: each check declares its metadata once with @check.

A check is a pure function of a CheckContext (the snapshot, its index, the mesh config) that
yields Results. The runner adds the metadata, fingerprints each finding and catches failures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.base.model import Category, CheckMeta, Result, Severity
from auditor.input.snapshot import Snapshot
from auditor.istio.meshconfig import MeshConfig
from auditor.mesh.index import MeshIndex

if TYPE_CHECKING:
    from auditor.mesh.observed import ObservedEgress

ID_PATTERN = re.compile(r"^[A-Z]{2,5}\d{3}$")


@dataclass(frozen=True, slots=True)
class CheckContext:
    snapshot: Snapshot
    index: MeshIndex
    # The moment the audit describes (the report's generated_at, RFC 3339), for time-dependent
    # facts such as certificate expiry; checks never read the clock. None: not judged.
    as_of: str | None = None
    # What Istio's metrics saw leaving the mesh (`scan --prometheus`); None: not asked.
    observed: ObservedEgress | None = None

    @property
    def mesh(self) -> MeshConfig:
        return self.index.mesh


CheckFn = Callable[[CheckContext], Iterable[Result]]


@dataclass(frozen=True, slots=True)
class Check:
    meta: CheckMeta
    needs: tuple[str, ...]
    fn: CheckFn
    doc: str
    telemetry: bool = False  # judges observed traffic (needs `scan --prometheus`)
    # why this input cannot be judged ("" when it can), e.g. a list known only in part
    unjudged: Callable[[CheckContext], str] | None = None


REGISTRY: dict[str, Check] = {}


def check(
    *,
    id: str,
    title: str,
    category: Category,
    severity: Severity,
    needs: Iterable[str],
    remediation: str,
    severity_range: tuple[Severity, Severity] | None = None,
    references: Iterable[str] = (),
    ist_codes: Iterable[str] = (),
    telemetry: bool = False,
    unjudged: Callable[[CheckContext], str] | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register a check. `needs` lists the kind keys it reads (see auditor.input.kinds).
    `unjudged(ctx)` names what keeps this input from being judged (the runner then records
    "not judged: <why>" on the check's run instead of running it), or returns "".
    `severity_range` (lowest, highest) declares the severities its findings take when they
    are not all `severity`; each such finding says why (Result.severity_reason).

    The function's docstring is the check's documentation: why it matters and when it fires.
    """

    def register(fn: CheckFn) -> CheckFn:
        if not ID_PATTERN.match(id):
            raise ValueError(f"check id {id!r} must be AREA + 3 digits, e.g. TLS003")
        if id in REGISTRY:
            raise ValueError(f"check id {id} registered twice")
        doc = (fn.__doc__ or "").strip()
        if not doc:
            raise ValueError(f"check {id} has no docstring")
        if severity_range is not None and not severity_range[0] <= severity <= severity_range[1]:
            raise ValueError(f"check {id}: default severity outside its severity_range")
        needs_t = tuple(needs)
        meta = CheckMeta(
            id=id,
            title=title,
            category=category,
            severity=severity,
            looks_at=needs_t,
            rationale=" ".join(doc.split("\n\n", 1)[0].split()),
            remediation=remediation,
            references=tuple(references),
            ist_codes=tuple(ist_codes),
            severity_range=severity_range,
        )
        REGISTRY[id] = Check(
            meta=meta, needs=needs_t, fn=fn, doc=doc, telemetry=telemetry, unjudged=unjudged
        )
        return fn

    return register

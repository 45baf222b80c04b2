"""istioctl analyze's suppressions, honoured for the checks that report the same IST codes.

Two spellings, with istioctl's semantics (istio/istio pkg/config/analysis/local/analyze.go, the
filter after analysis):
- the resource annotation `galley.istio.io/analyze-suppress: "IST0101,IST0108"`: the value is
  split on commas (no trimming) and a code equal to the message's code, or `*`, suppresses it;
- `--suppress "CODE=Kind name.namespace"` (`Kind name` for cluster-scoped kinds), where the
  resource part is a glob in which only `*` is special (github.com/ryanuber/go-glob).

A mesh-audit finding carries the IST codes of its check in `references`; a suppression applies
to findings that carry the named code (`*` in the annotation: any IST code). Suppressed findings
are counted like waived ones: each suppression becomes a waiver entry (`source` annotation or
--suppress) with its reason, so it shows in `waiver_audit[]`, never gates and is not scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.base.errors import InputError
from auditor.input.kinds import kind_key
from auditor.input.snapshot import Snapshot
from auditor.run.waivers import Waiver

ANNOTATION = "galley.istio.io/analyze-suppress"
_IST = re.compile(r"^IST\d{4}$")


@dataclass(frozen=True, slots=True)
class FlagSuppression:
    code: str
    resource: str  # istioctl's friendly name glob: "Kind name.namespace"

    @property
    def text(self) -> str:
        return f"{self.code}={self.resource}"


def parse_flag(text: str) -> FlagSuppression:
    """`CODE=Kind name.namespace`, as `istioctl analyze --suppress` takes it."""
    parts = text.split("=")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InputError(
            f'--suppress {text!r}: expected CODE=RESOURCE, e.g. "IST0102=Namespace frod" '
            'or "IST0107=Pod *.baz"'
        )
    return FlagSuppression(code=parts[0], resource=parts[1])


def _glob(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags=re.S) is not None


def friendly_name(resource: Mapping[str, Any]) -> str:
    """istioctl's `Kind name.namespace` (`Kind name` when cluster-scoped)."""
    ns = resource.get("namespace")
    return (
        f"{resource['kind']} {resource['name']}.{ns}"
        if ns
        else f"{resource['kind']} {resource['name']}"
    )


def _codes(finding: Mapping[str, Any]) -> list[str]:
    return [r for r in finding.get("references") or [] if isinstance(r, str) and _IST.match(r)]


def _annotation(snapshot: Snapshot, resource: Mapping[str, Any]) -> str | None:
    api_version = str(resource.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    obj = snapshot.get(
        kind_key(group, resource["kind"]), resource.get("namespace") or "", resource["name"]
    )
    if obj is None:
        return None
    meta = obj.raw.get("metadata") if isinstance(obj.raw, Mapping) else None
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    value = annotations.get(ANNOTATION) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) and value else None


def suppression_waivers(
    findings: Sequence[Mapping[str, Any]],
    snapshot: Snapshot,
    flags: Iterable[FlagSuppression],
    *,
    first_index: int,
) -> list[Waiver]:
    """One waiver entry per suppressed finding (annotation) or per --suppress value."""
    out: list[Waiver] = []
    index = first_index
    flag_list = list(flags)
    for finding in findings:
        codes = _codes(finding)
        if not codes:
            continue
        value = _annotation(snapshot, finding["resource"])
        if value is None:
            continue
        named = value.split(",")
        hit = next((c for c in codes if c in named), None)
        if hit is None and "*" in named:
            hit = codes[0]
        if hit is None:
            continue
        out.append(
            Waiver(
                index=index,
                id=finding["id"],
                reason=(
                    f"suppressed by annotation {ANNOTATION}={value} on "
                    f"{friendly_name(finding['resource'])} (istioctl analyze code {hit})"
                ),
                source="annotation",
            )
        )
        index += 1
    for flag in flag_list:
        matched = [
            f
            for f in findings
            if flag.code in _codes(f) and _glob(flag.resource, friendly_name(f["resource"]))
        ]
        ids = [f["id"] for f in matched]
        out.append(
            Waiver(
                index=index,
                reason=f"suppressed by --suppress {flag.text}",
                ids=tuple(ids),
                source="--suppress",
            )
        )
        index += 1
    return out

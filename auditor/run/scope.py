"""The scan's scope (`-n NS`): what the report judges, and what it could not judge because of it.

`-n` limits what is *reported*, as `istioctl analyze -n` does (istio/istio
pkg/config/analysis/local/analyze.go keeps only messages on resources in the namespaces asked
for, plus cluster-scoped ones): mesh-audit still reads cluster-wide when it is permitted, so a
VirtualService in `shop` bound to a Gateway in `istio-ingress`, the root namespace's policies,
the mesh config and exported ServiceEntries are seen, never taken as missing. Then:

- a finding on a resource in a namespace outside the scope is not reported (counted in
  `scope.outside_findings`); findings on cluster-scoped resources stay, and a finding on a
  Namespace is in scope when that namespace is;
- when the scan could not read every namespace (a snapshot taken with `-n`, or credentials that may
  list a kind only in some namespaces), a finding in scope whose check reads such a kind is not
  reported as a problem: it goes to `scope.not_judged[]` with the reason, because what it calls
  missing or absent may only be unread. It is listed, never counted, never gated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.input.kinds import KINDS


def finding_namespace(finding: Mapping[str, Any]) -> str | None:
    """The namespace a finding is about: its resource's, or a Namespace's own name."""
    ref = finding.get("resource") or {}
    if ref.get("kind") == "Namespace" and not ref.get("namespace"):
        return str(ref.get("name"))
    ns = ref.get("namespace")
    return str(ns) if ns else None


def partly_read_kinds(data: Mapping[str, Any]) -> dict[str, str]:
    """Kind key -> how it was read, for the namespaced kinds not read in every namespace."""
    read = (data.get("source") or {}).get("namespaces")
    out: dict[str, str] = {}
    for spec in KINDS:
        entry = (data.get("collection") or {}).get(spec.key) or {}
        message = str(entry.get("message") or "")
        if entry.get("status") == "ok" and message.startswith("forbidden in namespaces: "):
            out[spec.key] = message
        elif read is not None and spec.namespaced:
            out[spec.key] = f"read only in namespaces {', '.join(read)}"
    return out


def apply_scope(data: Mapping[str, Any], scope: Sequence[str] | None) -> dict[str, Any]:
    """Report data limited to `scope` (None: every namespace), with a `scope` summary."""
    in_scope = set(scope) if scope else None
    read = (data.get("source") or {}).get("namespaces")
    # An unscoped scan with some namespaces forbidden keeps its findings and names what it
    # could not read (collection notes), as before; a scoped or namespace-limited read judges
    # only what it could see whole.
    partial = partly_read_kinds(data) if in_scope is not None or read is not None else {}
    looks_at = {c["id"]: list(c.get("looks_at") or []) for c in data.get("checks") or []}
    kept: list[Mapping[str, Any]] = []
    not_judged: list[dict[str, Any]] = []
    outside = 0
    for finding in data["findings"]:
        ns = finding_namespace(finding)
        if in_scope is not None and ns is not None and ns not in in_scope:
            outside += 1
            continue
        blind = [k for k in looks_at.get(finding["check"], []) if k in partial]
        if blind:
            reason = (
                f"check {finding['check']} reads {blind[0]}, {partial[blind[0]]}: what it "
                "reports may only be unread, so it is not judged"
            )
            not_judged.append({**finding, "not_judged_reason": reason})
            continue
        kept.append(finding)
    if in_scope is None and not not_judged:
        return dict(data)
    out = dict(data)
    out["findings"] = kept
    out["scope"] = {
        "namespaces": sorted(in_scope) if in_scope is not None else None,
        "read": list(read) if read is not None else None,
        "outside_findings": outside,
        "not_judged": not_judged,
    }
    return out

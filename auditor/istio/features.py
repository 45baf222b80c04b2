"""Istio's feature status table (data/feature_status.yaml) and where a feature shows in objects.

The table is shipped as data with its source and date; `stale` says whether it is older than six
months at the moment an audit describes (the report's generated_at, never the clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from auditor.input.yamlsafe import yaml_documents

STALE_AFTER = dt.timedelta(days=183)  # six months
CLAIM_HEADER = "@request.auth.claims"
DRY_RUN = "istio.io/dry-run"


@dataclass(frozen=True, slots=True)
class Feature:
    id: str
    name: str
    maturity: str


@dataclass(frozen=True, slots=True)
class FeatureTable:
    source: str
    as_of: dt.date
    features: tuple[Feature, ...]

    def by_name(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)


@cache
def feature_table() -> FeatureTable:
    text = resources.files("auditor.istio").joinpath("data/feature_status.yaml").read_text()
    (doc,) = list(yaml_documents("feature_status.yaml", text))
    return FeatureTable(
        source=str(doc["source"]),
        as_of=dt.date.fromisoformat(str(doc["as_of"])),
        features=tuple(
            Feature(id=str(f["id"]), name=str(f["name"]), maturity=str(f["maturity"]))
            for f in doc["features"]
        ),
    )


def stale(as_of: dt.date, audit_time: str | None) -> bool | None:
    """Whether data dated `as_of` is older than six months at `audit_time` (RFC 3339); None
    when the audit names no time."""
    if not audit_time:
        return None
    when = dt.datetime.fromisoformat(audit_time.replace("Z", "+00:00")).date()
    return when - as_of > STALE_AFTER


def claim_routes(spec: Mapping[str, Any]) -> list[str]:
    """Field paths of VirtualService matches on JWT claims (`@request.auth.claims.*` headers)."""
    out: list[str] = []
    for i, route in enumerate(spec.get("http") or ()):
        for j, match in enumerate((route or {}).get("match") or ()):
            for header in (match or {}).get("headers") or {}:
                if str(header).startswith(CLAIM_HEADER):
                    out.append(f"spec.http[{i}].match[{j}].headers")
    return out


def claims_to_headers(spec: Mapping[str, Any]) -> list[str]:
    return [
        f"spec.jwtRules[{i}].outputClaimToHeaders"
        for i, rule in enumerate(spec.get("jwtRules") or ())
        if isinstance(rule, Mapping) and rule.get("outputClaimToHeaders")
    ]

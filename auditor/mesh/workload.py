"""Workload: one set of pods as the audit sees it (a controller's pod template, or a bare Pod).

Its own module so that the index and the modules built beside it (membership, workload ports,
waypoints) share one definition without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.input.snapshot import KObject


@dataclass(frozen=True, slots=True)
class Workload:
    """A set of pods: a Deployment/StatefulSet/DaemonSet pod template, or a bare Pod."""

    obj: KObject
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    pod_spec: Mapping[str, Any]
    owned: bool  # a Pod created by a controller (its template is audited instead)

    @property
    def namespace(self) -> str:
        return self.obj.namespace

    @property
    def container_names(self) -> tuple[str, ...]:
        return tuple(str(c.get("name", "")) for c in self.pod_spec.get("containers") or ())

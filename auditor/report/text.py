"""Plain-text pieces the report views share: a resource as people write it, a scan time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def resource_text(ref: Mapping[str, Any]) -> str:
    ns = ref.get("namespace")
    return f"{ref['kind']} {ns}/{ref['name']}" if ns else f"{ref['kind']} {ref['name']}"


def display_time(stamp: str | None) -> str:
    if not stamp:
        return "not recorded"
    return stamp.replace("T", " ").replace("Z", " UTC")

"""The Istio version a cluster runs, read from the istiod Deployment's image while loading, and
recorded in the snapshot's source (auditor/istio/version.py parses and compares versions)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def is_istiod(name: str, labels: Mapping[str, str]) -> bool:
    """istiod's Deployment by the chart's naming (`istiod`, `istiod-<revision>`, app=istiod)."""
    return name == "istiod" or name.startswith("istiod-") or labels.get("app") == "istiod"


def discovery_containers(deployments: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """The `discovery` container of every istiod Deployment among `deployments`."""
    for obj in deployments:
        meta = obj.get("metadata") or {}
        if not is_istiod(str(meta.get("name") or ""), meta.get("labels") or {}):
            continue
        template = (obj.get("spec") or {}).get("template") or {}
        for container in (template.get("spec") or {}).get("containers") or []:
            if isinstance(container, Mapping) and container.get("name") == "discovery":
                yield container


def istio_version(deployments: Iterable[Mapping[str, Any]]) -> str | None:
    """The istiod image tag(s): `1.24.2`, or `1.23.1, 1.24.2` while revisions run side by side."""
    tags: set[str] = set()
    for container in discovery_containers(deployments):
        image = str(container.get("image") or "").split("@", 1)[0]
        repo, _, tag = image.rpartition(":")
        if tag and "/" not in tag and repo:
            tags.add(tag)
    return ", ".join(sorted(tags)) or None

"""The Istio version a cluster runs, read from the istiod Deployment's image while loading, and
recorded in the snapshot's source (auditor/istio/version.py parses and compares versions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def istio_version(deployments: Iterable[Mapping[str, Any]]) -> str | None:
    """The istiod image tag(s): `1.24.2`, or `1.23.1, 1.24.2` while revisions run side by side."""
    tags: set[str] = set()
    for obj in deployments:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        labels = meta.get("labels") or {}
        if not (name == "istiod" or name.startswith("istiod-") or labels.get("app") == "istiod"):
            continue
        template = (obj.get("spec") or {}).get("template") or {}
        for container in (template.get("spec") or {}).get("containers") or []:
            if container.get("name") != "discovery":
                continue
            image = str(container.get("image") or "").split("@", 1)[0]
            repo, _, tag = image.rpartition(":")
            if tag and "/" not in tag and repo:
                tags.add(tag)
    return ", ".join(sorted(tags)) or None

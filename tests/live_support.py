"""Helpers for the live-collection tests: the demo mesh loaded into a FakeKubeAPI."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import DEMO
from tests.kubeapi import FakeKubeAPI

METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

# werkzeug logs each request to stderr; CLI tests assert stderr is exactly one line.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def demo_documents() -> Iterator[dict[str, Any]]:
    for path in sorted(DEMO.glob("*.yaml")):
        yield from (d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)


def load_demo(api: FakeKubeAPI, *, strict: bool = True) -> FakeKubeAPI:
    assert api.load_objects(demo_documents(), strict=strict) > 0
    return api


def kubeconfig(api: FakeKubeAPI, tmp_path: Path, **contexts: Any) -> Path:
    return api.write_kubeconfig(tmp_path / "kubeconfig", contexts or None)

"""YAML as mesh-audit reads it: safe, bounded, and shaped like what the Kubernetes API stores.

One loader for every YAML input (manifests, waivers, --mesh-config, the mesh ConfigMap's `mesh`
key), so each gets the same refusals and bounds (docs/limits.md): the fast path where it can
judge the text (auditor/input/yamlfast.py), else the reference (auditor/input/yamlref.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.input.yamlref import USING_LIBYAML, reference_documents

__all__ = ["USING_LIBYAML", "reference_documents", "yaml_documents"]


def yaml_documents(where: str, data: bytes | str, *, fast: bool = True) -> Iterator[Any]:
    """Each YAML document, parsed with `_Loader` and the alias budget; errors are one line.

    Bytes go through the fast path first (auditor/input/yamlfast.py), which gives the same objects
    for the text it can judge and declines the rest; `fast=False` is the reference alone.
    """
    if fast and isinstance(data, bytes):
        from auditor.input.yamlfast import fast_documents  # rapidyaml loads on first use

        docs = fast_documents(data)
        if docs is not None:
            yield from docs
            return
    yield from reference_documents(where, data)

"""Which mesh config is in force for a scan: --mesh-config, the `istio` ConfigMap, or defaults.

Parsing a MeshConfig document is auditor/istio/meshconfig.py (plain data); choosing which one
applies, and saying so in `warnings[]`, is here, since it reads the Snapshot.
"""

from __future__ import annotations

import yaml

from auditor.input.kinds import K_CONFIGMAP
from auditor.input.snapshot import Snapshot
from auditor.istio import meshconfig
from auditor.istio.meshconfig import MeshConfig

__all__ = ["resolve_mesh_config"]


def resolve_mesh_config(snapshot: Snapshot) -> tuple[MeshConfig, list[str]]:
    """The mesh config in force: --mesh-config, else the `istio` ConfigMap, else Istio defaults.

    Returns the config and notes for `warnings[]` (several revisions' ConfigMaps, overrides).
    """
    notes: list[str] = []
    candidates = sorted(
        (o for o in snapshot.objects(K_CONFIGMAP) if "mesh" in (o.raw.get("data") or {})),
        key=lambda o: (
            o.namespace != meshconfig.DEFAULT_ROOT_NAMESPACE,
            o.name != "istio",
            o.namespace,
            o.name,
        ),
    )
    if snapshot.mesh_config_override is not None:
        source, data = snapshot.mesh_config_override
        if candidates:
            notes.append(
                f"--mesh-config {source} overrides ConfigMap "
                f"{candidates[0].namespace}/{candidates[0].name} found in the input"
            )
        return meshconfig.from_mapping(data, f"file {source}"), notes
    if not candidates:
        return meshconfig.DEFAULT, notes
    chosen = candidates[0]
    if len(candidates) > 1:
        others = ", ".join(f"{c.namespace}/{c.name}" for c in candidates[1:])
        notes.append(
            f"several mesh-config ConfigMaps found; using {chosen.namespace}/{chosen.name} "
            f"(also present: {others})"
        )
    text = (chosen.raw.get("data") or {}).get("mesh") or ""
    source = f"ConfigMap {chosen.namespace}/{chosen.name}"
    try:
        return meshconfig.parse_text(str(text), source), notes
    except (ValueError, yaml.YAMLError) as exc:  # a broken ConfigMap must not stop the audit
        notes.append(f"{source}: key 'mesh' is not valid MeshConfig YAML ({exc}); using defaults")
        return meshconfig.DEFAULT, notes

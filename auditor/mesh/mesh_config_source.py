"""Which mesh config is in force for a scan: --mesh-config, the revision's ConfigMap (merged over
a shared one, as istiod does), or defaults.

Parsing a MeshConfig document is auditor/istio/meshconfig.py and merging several is
auditor/istio/meshconfig_merge.py (plain data); choosing which ConfigMaps apply, and saying so
in `warnings[]`, is here, since it reads the Snapshot.

A ConfigMap is merged under the revision's own when istiod would merge it: an istiod container
(in a Deployment or Pod of the input, in the ConfigMap's namespace) names it in
`SHARED_MESH_CONFIG` for that revision, or it is the AKS add-on's documented
`istio-shared-configmap-<revision>` beside `istio-<revision>`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import yaml

from auditor.input.kinds import K_CONFIGMAP, K_DEPLOYMENT, K_POD
from auditor.input.snapshot import KObject, Snapshot
from auditor.istio import meshconfig
from auditor.istio import meshconfig_merge as merge
from auditor.istio.meshconfig import MeshConfig

__all__ = ["resolve_mesh_config"]


def resolve_mesh_config(snapshot: Snapshot) -> tuple[MeshConfig, list[str]]:
    """The mesh config in force: --mesh-config, else the revision's ConfigMap (with the shared
    one istiod merges under it), else Istio defaults.

    Returns the config and notes for `warnings[]` (several revisions' ConfigMaps, a merge,
    overrides).
    """
    notes: list[str] = []
    with_mesh = [o for o in snapshot.objects(K_CONFIGMAP) if "mesh" in (o.raw.get("data") or {})]
    shared_of = _shared_configmaps(snapshot, with_mesh)
    shared = set(shared_of.values())
    candidates = sorted(
        (o for o in with_mesh if (o.namespace, o.name) not in shared),
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
    layers: list[tuple[str, Mapping[str, Any]]] = []
    shared_key = shared_of.get((chosen.namespace, chosen.name))
    shared_obj = snapshot.get(K_CONFIGMAP, *shared_key) if shared_key else None
    for obj in (shared_obj, chosen):  # applied in this order: the revision's own wins
        if obj is None:
            continue
        name = f"{obj.namespace}/{obj.name}"
        text = str((obj.raw.get("data") or {}).get("mesh") or "")
        try:
            layers.append((name, meshconfig.parse_mapping(text, f"ConfigMap {name}")))
        except (ValueError, yaml.YAMLError) as exc:  # a broken ConfigMap must not stop the audit
            ignored = "ignored, as istiod ignores it" if shared_obj else "using defaults"
            notes.append(
                f"ConfigMap {name}: key 'mesh' is not valid MeshConfig YAML ({exc}); {ignored}"
            )
    if not layers:
        return meshconfig.DEFAULT, notes
    names = tuple(name for name, _ in reversed(layers))
    if len(layers) == 1:
        source = f"ConfigMap {names[0]}"
    else:
        # the report's mesh_config says it (source, configmaps): a documented setup, not a problem
        source = f"ConfigMap {names[0]} merged over ConfigMap {names[1]}"
    config = meshconfig.from_mapping(merge.merge([layer for _, layer in layers]), source)
    return replace(
        config,
        configmaps=names,
        outbound_mode_from=merge.last_setting(layers, "outboundTrafficPolicy"),
    ), notes


def _shared_configmaps(
    snapshot: Snapshot, with_mesh: list[KObject]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(namespace, revision ConfigMap) -> (namespace, shared ConfigMap) for the shared ConfigMaps
    in the input that istiod merges: named by an istiod's SHARED_MESH_CONFIG, or the AKS add-on's
    `istio-shared-configmap-<revision>` beside `istio-<revision>`."""
    present = {(o.namespace, o.name) for o in with_mesh}
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for namespace, env in _istiod_envs(snapshot):
        named = merge.shared_from_env(env)
        if named is None:
            continue
        primary, shared = named
        if shared != primary and (namespace, shared) in present:
            out[(namespace, primary)] = (namespace, shared)
    for namespace, name in present:
        aks = merge.aks_shared_name(name)
        if aks and (namespace, aks) in present:
            out.setdefault((namespace, name), (namespace, aks))
    return out


def _istiod_envs(snapshot: Snapshot) -> Iterator[tuple[str, list[Any]]]:
    """(namespace, env) of every container of every Deployment and Pod that sets
    SHARED_MESH_CONFIG (istiod's `discovery` container, whatever its name)."""
    for kind in (K_DEPLOYMENT, K_POD):
        for obj in snapshot.objects(kind):
            spec = obj.spec
            if kind == K_DEPLOYMENT:
                spec = ((spec.get("template") or {}).get("spec")) or {}
            for container in spec.get("containers") or ():
                env = container.get("env") if isinstance(container, Mapping) else None
                if isinstance(env, list) and any(
                    isinstance(e, Mapping) and e.get("name") == merge.SHARED_ENV for e in env
                ):
                    yield obj.namespace, env

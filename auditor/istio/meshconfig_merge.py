"""How istiod builds its MeshConfig from more than one ConfigMap (plain data).

istiod reads the revision's own ConfigMap (`istio`, or `istio-<revision>`: getMeshConfigMapName
in pilot/pkg/bootstrap/mesh.go) and, when its `SHARED_MESH_CONFIG` setting names another
ConfigMap in its namespace, that one too: `toSources` puts the shared one first, and
`meshwatcher.NewCollection` (pkg/config/mesh/meshwatcher/collection.go) applies the sources in
order over Istio's defaults, so the revision's own ConfigMap takes precedence ("The standard mesh
config will take precedence", pilot/pkg/features/pilot.go). A source that does not parse is
ignored when there are two. istio/istio@86c9f01f.

Applying one source (`mesh.ApplyMeshConfig`, pkg/config/mesh/mesh.go): every top-level field it
sets replaces the one before (a nested message is replaced whole; null leaves it), except
`defaultConfig`, merged field by field with its `proxyMetadata` merged key by key
(MergeProxyConfig), `defaultProviders` (applied over the previous), `extensionProviders`
(merged by name: a later provider of the same name replaces the earlier) and
`trustDomainAliases` (the union).

The AKS Istio add-on documents this as its mesh-config interface: users create
`istio-shared-configmap-<asm-revision>` beside the add-on's `istio-<asm-revision>` in
`aks-istio-system`, which istiod merges with the default ConfigMap, "the default settings take
precedence" (learn.microsoft.com/azure/aks/istio-meshconfig; learn.microsoft.com/troubleshoot/
azure/azure-kubernetes/extensions/istio-add-on-meshconfig).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SHARED_ENV = "SHARED_MESH_CONFIG"
REVISION_ENV = "REVISION"
AKS_SHARED_PREFIX = "istio-shared-configmap-"


def revision_configmap(revision: str) -> str:
    """The revision's own mesh-config ConfigMap name (getMeshConfigMapName)."""
    return "istio" if revision in ("", "default") else f"istio-{revision}"


def aks_shared_name(primary: str) -> str | None:
    """The AKS add-on's shared ConfigMap for a revision's own (`istio-asm-1-24` ->
    `istio-shared-configmap-asm-1-24`); None for a name that is not `istio-<revision>`."""
    if not primary.startswith("istio-") or primary.startswith(AKS_SHARED_PREFIX):
        return None
    return AKS_SHARED_PREFIX + primary.removeprefix("istio-")


def shared_from_env(env: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(revision ConfigMap, shared ConfigMap) named by an istiod container's env, or None when
    it sets no SHARED_MESH_CONFIG (only literal `value`s are read)."""
    values = {
        str(e.get("name")): e.get("value")
        for e in env
        if isinstance(e, Mapping) and isinstance(e.get("value"), str)
    }
    shared = values.get(SHARED_ENV)
    if not shared:
        return None
    return revision_configmap(str(values.get(REVISION_ENV) or "")), str(shared)


def merge(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The MeshConfig fields after applying each layer in order (later ones take precedence),
    as ApplyMeshConfig does; the result is what a single ConfigMap holding it would say."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue  # jsonpb leaves a field given as null as it was
            before = out.get(key)
            if key == "defaultConfig" and isinstance(value, Mapping):
                out[key] = _merge_proxy_config(before, value)
            elif key == "defaultProviders" and isinstance(value, Mapping):
                out[key] = {**(before if isinstance(before, Mapping) else {}), **value}
            elif key == "extensionProviders" and isinstance(value, list):
                out[key] = _merge_providers(before, value)
            elif key == "trustDomainAliases" and isinstance(value, list):
                earlier = before if isinstance(before, list) else []
                out[key] = sorted({str(v) for v in [*earlier, *value]})
            else:
                out[key] = value
    return out


def _merge_proxy_config(before: Any, value: Mapping[str, Any]) -> dict[str, Any]:
    earlier = dict(before) if isinstance(before, Mapping) else {}
    merged = {**earlier, **{k: v for k, v in value.items() if v is not None}}
    metadata = value.get("proxyMetadata")
    if isinstance(metadata, Mapping) and isinstance(earlier.get("proxyMetadata"), Mapping):
        merged["proxyMetadata"] = {**earlier["proxyMetadata"], **metadata}
    return merged


def _merge_providers(before: Any, value: list[Any]) -> list[Any]:
    out = list(before) if isinstance(before, list) else []
    for provider in value:
        name = provider.get("name") if isinstance(provider, Mapping) else None
        at = next(
            (
                i
                for i, p in enumerate(out)
                if isinstance(p, Mapping) and name is not None and p.get("name") == name
            ),
            None,
        )
        if at is None:
            out.append(provider)
        else:
            out[at] = provider
    return out


def last_setting(layers: Sequence[tuple[str, Mapping[str, Any]]], key: str) -> str:
    """The name of the last layer that sets `key` (the one in force), or ""."""
    found = ""
    for name, layer in layers:
        if layer.get(key) is not None:
            found = name
    return found

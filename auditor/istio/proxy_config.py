"""A proxy's effective ProxyConfig fields the audit reads, and the downstream connection limit.

Ground truth: istio/istio@86c9f01 (2026-08-22), pkg/bootstrap/config.go getNodeMetadataOptions:
the global downstream connection limit is, in order, ProxyConfig
`connectionSettings.globalDownstreamConnectionLimit` (> 0), proxy metadata
`ISTIO_META_GLOBAL_DOWNSTREAM_MAX_CONNECTIONS` (an integer), the runtime value
`overload.global_downstream_max_connections` (deprecated), else math.MaxInt32 ("effectively
unlimited"). The pod annotation `proxy.istio.io/config` overrides the mesh's `defaultConfig`
field by field (maps merge key by key), as istio.io's ProxyConfig reference describes.
Security bulletin ISTIO-SECURITY-2020-007 is why the best practices ask for a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.istio.meshconfig import parse_mapping

META_LIMIT = "ISTIO_META_GLOBAL_DOWNSTREAM_MAX_CONNECTIONS"
RUNTIME_LIMIT = "overload.global_downstream_max_connections"
BOOTSTRAP_OVERRIDE = "sidecar.istio.io/bootstrapOverride"
MAX_INT32 = 2**31 - 1


def merged(default: Mapping[str, Any] | None, annotation: str | None) -> Mapping[str, Any]:
    """The mesh's defaultConfig with the pod's proxy.istio.io/config over it; an annotation that
    is not a YAML mapping is ignored (the injector rejects the pod's config then)."""
    out: dict[str, Any] = dict(default or {})
    if not annotation:
        return out
    try:
        extra = parse_mapping(annotation, "proxy.istio.io/config")
    except ValueError:
        return out
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def downstream_limit(config: Mapping[str, Any]) -> tuple[int | None, str]:
    """(limit, where it is set) under Istio's precedence; (None, "") when none is set."""
    settings = config.get("connectionSettings")
    if isinstance(settings, Mapping):
        value = _int(settings.get("globalDownstreamConnectionLimit"))
        if value is not None and value > 0:
            return value, "connectionSettings.globalDownstreamConnectionLimit"
    metadata = config.get("proxyMetadata")
    if isinstance(metadata, Mapping):
        value = _int(metadata.get(META_LIMIT))
        if value is not None:
            return value, f"proxyMetadata.{META_LIMIT}"
    runtime = config.get("runtimeValues")
    if isinstance(runtime, Mapping):
        value = _int(runtime.get(RUNTIME_LIMIT))
        if value is not None:
            return value, f"runtimeValues[{RUNTIME_LIMIT}]"
    return None, ""

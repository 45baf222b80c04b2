"""What the live collector keeps of each listed object.

List items come back without apiVersion/kind (built-in kinds) and with server bookkeeping
(`managedFields`) that no check reads; Pods are the bulkiest kind in most clusters and the checks
read only a few of their fields, so a Pod is cut down to those on arrival.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.input.kinds import KindSpec

# The annotation kubectl writes holds the whole applied object: for a Secret that includes its data.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# A Secret's type is only known for the types the collector asks for by field selector; any
# other type is recorded as this value (metadata-only lists do not carry `type`).
SECRET_TYPE_UNKNOWN = "mesh-audit.dev/unknown"

POD_METADATA = ("name", "namespace", "uid", "labels", "annotations", "ownerReferences")
POD_SPEC = ("hostNetwork", "securityContext", "serviceAccountName")
TOKEN_VOLUME = "istio-token"
CONTAINER = ("name", "image", "args", "securityContext", "ports", "restartPolicy")


def _metadata(meta: Mapping[str, Any], keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    kept = {k: v for k, v in meta.items() if k != "managedFields" and (keys is None or k in keys)}
    annotations = kept.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        kept["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return kept


def trim_pod(item: Mapping[str, Any]) -> dict[str, Any]:
    spec = item.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    kept: dict[str, Any] = {k: spec[k] for k in POD_SPEC if k in spec}
    for key in ("containers", "initContainers"):
        containers = spec.get(key)
        if isinstance(containers, list):
            kept[key] = [
                {k: c[k] for k in CONTAINER if k in c} if isinstance(c, dict) else c
                for c in containers
            ]
    # of the volumes only the proxy's istio-token (PRX002 reads how it is projected)
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        kept["volumes"] = [
            v for v in volumes if isinstance(v, dict) and v.get("name") == TOKEN_VOLUME
        ]
    meta = item.get("metadata")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(meta if isinstance(meta, dict) else {}, POD_METADATA),
        "spec": kept,
    }


def trim_endpoint_slice(item: Mapping[str, Any]) -> dict[str, Any]:
    """An EndpointSlice with each endpoint cut to its `addresses`, the only field a check reads
    (auditor/istio/k8s_external.py `slice_addresses`); `targetRef`, `nodeName`, `zone` and
    `conditions` describe the pods behind a Service, one unique record per pod."""
    endpoints = item.get("endpoints")
    if not isinstance(endpoints, list):
        return dict(item)
    return {
        **item,
        "endpoints": [
            {"addresses": ep["addresses"]} if isinstance(ep, dict) and "addresses" in ep else ep
            for ep in endpoints
        ],
    }


def normalize(
    spec: KindSpec, api_version: str, item: dict[str, Any], secret_type: str | None = None
) -> dict[str, Any]:
    """One list item as the snapshot stores it: apiVersion/kind set, bookkeeping dropped."""
    if spec.kind == "Pod" and not spec.group:
        return trim_pod(item)
    meta = item.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    if spec.metadata_only:
        # A PartialObjectMetadata item: only metadata, and never the last-applied annotation,
        # which for a Secret applied with kubectl holds its data.
        return {
            "apiVersion": api_version,
            "kind": spec.kind,
            "metadata": _metadata(meta),
            "type": secret_type or SECRET_TYPE_UNKNOWN,
        }
    obj = {"apiVersion": api_version, "kind": spec.kind, **item}
    obj["apiVersion"] = api_version
    obj["kind"] = spec.kind
    if "managedFields" in meta:
        obj["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return obj

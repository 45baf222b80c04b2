"""MeshConfig: the fields checks read, with Istio's defaults where a field is unset.

Defaults follow `mesh.DefaultMeshConfig()` in Istio: outbound traffic ALLOW_ANY, root namespace
istio-system, trust domain cluster.local, auto mTLS on, ingress controller mode STRICT.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from auditor.input.shape_lang import MapOf, validate

DEFAULT_ROOT_NAMESPACE = "istio-system"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshConfig:
    source: str  # "ConfigMap istio-system/istio", "file mesh.yaml" or "Istio defaults"
    root_namespace: str = DEFAULT_ROOT_NAMESPACE
    outbound_mode: str = "ALLOW_ANY"
    outbound_mode_set: bool = False
    tls_min_version: str | None = None
    tls_cipher_suites: tuple[str, ...] = ()
    mesh_mtls_min_version: str | None = None
    enable_auto_mtls: bool = True
    trust_domain: str = "cluster.local"
    dns_capture: bool = False
    dns_auto_allocate: bool = False
    default_service_export_to: tuple[str, ...] = ("*",)
    default_virtual_service_export_to: tuple[str, ...] = ("*",)
    default_destination_rule_export_to: tuple[str, ...] = ("*",)
    raw: Mapping[str, Any] | None = None
    # the ConfigMaps merged into this config ("ns/name"), the one that takes precedence first
    # (istiod merges a shared ConfigMap under the revision's own: auditor/istio/meshconfig_merge.py)
    configmaps: tuple[str, ...] = ()
    # the ConfigMap ("ns/name") whose outboundTrafficPolicy is in force, when one set it
    outbound_mode_from: str = ""


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def _str_tuple(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
        return tuple(value)
    return default


def from_mapping(data: Mapping[str, Any], source: str) -> MeshConfig:
    """Build from a parsed MeshConfig mapping; wrong types fall back to the default."""
    otp = data.get("outboundTrafficPolicy")
    mode = otp.get("mode") if isinstance(otp, Mapping) else None
    tls_defaults = data.get("tlsDefaults")
    tls_defaults = tls_defaults if isinstance(tls_defaults, Mapping) else {}
    mesh_mtls = data.get("meshMTLS")
    mesh_mtls = mesh_mtls if isinstance(mesh_mtls, Mapping) else {}
    default_config = data.get("defaultConfig")
    default_config = default_config if isinstance(default_config, Mapping) else {}
    proxy_metadata = default_config.get("proxyMetadata")
    proxy_metadata = proxy_metadata if isinstance(proxy_metadata, Mapping) else {}
    root = data.get("rootNamespace")
    trust_domain = data.get("trustDomain")
    auto_mtls = data.get("enableAutoMtls")
    ciphers = tls_defaults.get("cipherSuites")
    return MeshConfig(
        source=source,
        root_namespace=root if isinstance(root, str) and root else DEFAULT_ROOT_NAMESPACE,
        outbound_mode=mode if isinstance(mode, str) and mode else "ALLOW_ANY",
        outbound_mode_set=isinstance(mode, str) and bool(mode),
        tls_min_version=_opt_str(tls_defaults.get("minProtocolVersion")),
        tls_cipher_suites=_str_tuple(ciphers, ()),
        mesh_mtls_min_version=_opt_str(mesh_mtls.get("minProtocolVersion")),
        enable_auto_mtls=auto_mtls if isinstance(auto_mtls, bool) else True,
        trust_domain=trust_domain
        if isinstance(trust_domain, str) and trust_domain
        else ("cluster.local"),
        dns_capture=_truthy(proxy_metadata.get("ISTIO_META_DNS_CAPTURE", "")),
        dns_auto_allocate=_truthy(proxy_metadata.get("ISTIO_META_DNS_AUTO_ALLOCATE", "")),
        default_service_export_to=_str_tuple(data.get("defaultServiceExportTo"), ("*",)),
        default_virtual_service_export_to=_str_tuple(
            data.get("defaultVirtualServiceExportTo"), ("*",)
        ),
        default_destination_rule_export_to=_str_tuple(
            data.get("defaultDestinationRuleExportTo"), ("*",)
        ),
        raw=data,
    )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_text(text: str, source: str) -> MeshConfig:
    """Parse MeshConfig YAML text (the ConfigMap's `mesh` key or a --mesh-config file).

    Parsed with mesh-audit's one YAML loader (its refusals and alias budget); any problem is a
    ValueError with one line.
    """
    return from_mapping(parse_mapping(text, source), source)


def parse_mapping(text: str, source: str) -> Mapping[str, Any]:
    """The mapping a MeshConfig YAML text holds (empty text: an empty mapping); ValueError with
    one line when it is not one."""
    from auditor.base.errors import InputError
    from auditor.input.yamlsafe import yaml_documents

    try:
        docs = list(yaml_documents(source, text)) if text.strip() else []
    except InputError as exc:
        raise ValueError(str(exc)) from None
    if len(docs) > 1:
        raise ValueError(f"{source}: expected one YAML document, found {len(docs)}")
    data = docs[0] if docs else {}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: MeshConfig must be a mapping, got {type(data).__name__}")
    return data


DEFAULT = MeshConfig(source="Istio defaults")

# The fields `from_mapping` reads, with their MeshConfig types (istio.io/api mesh/v1alpha1).
MESH_CONFIG_SHAPE = {
    "outboundTrafficPolicy": {"mode": str},
    "tlsDefaults": {"minProtocolVersion": str, "cipherSuites": [str]},
    "meshMTLS": {"minProtocolVersion": str},
    "defaultConfig": {"proxyMetadata": MapOf(str)},
    "rootNamespace": str,
    "trustDomain": str,
    "enableAutoMtls": bool,
    "defaultServiceExportTo": [str],
    "defaultVirtualServiceExportTo": [str],
    "defaultDestinationRuleExportTo": [str],
    "pathNormalization": {"normalization": str},
}
OUTBOUND_MODES = ("ALLOW_ANY", "REGISTRY_ONLY")


def mesh_config_problems(data: Mapping[str, Any]) -> list[str]:
    """Type errors in the fields read, as `field: problem` lines (istiod would reject these)."""
    out: list[Any] = []
    validate(dict(data), MESH_CONFIG_SHAPE, "", out)
    problems = [str(p) for p in out if p.fatal]
    otp = data.get("outboundTrafficPolicy")
    mode = otp.get("mode") if isinstance(otp, Mapping) else None
    if isinstance(mode, str) and mode not in OUTBOUND_MODES:
        problems.append(
            f"outboundTrafficPolicy.mode: {mode[:40]!r} is not one of {', '.join(OUTBOUND_MODES)}"
        )
    return problems


def load_file(path: str) -> MeshConfig:
    """A --mesh-config file; InputError (one line) when it cannot be read or parsed."""
    from auditor.base.errors import InputError
    from auditor.base.limits import LIMITS

    cap = LIMITS.max_mesh_config_bytes
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block, a device never end
            raise InputError(f"{path}: not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > cap:
        raise InputError(f"{path}: larger than {cap:,} bytes (docs/limits.md)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        config = parse_text(text, path)
    except ValueError as exc:
        raise InputError(str(exc) if str(exc).startswith(path) else f"{path}: {exc}") from exc
    problems = mesh_config_problems(config.raw or {})
    if problems:
        raise InputError(f"{path}: {problems[0]}")
    return replace(config, source=f"file {path}")


def path_normalization(cfg: MeshConfig) -> str:
    """`pathNormalization.normalization` (Istio's default is BASE: RFC 3986 plus backslashes,
    no slash merging; https://istio.io/latest/docs/ops/best-practices/security/)."""
    raw = cfg.raw or {}
    block = raw.get("pathNormalization")
    value = block.get("normalization") if isinstance(block, Mapping) else None
    if isinstance(value, str) and value and value.upper() != "DEFAULT":
        return value.upper()
    return "BASE"

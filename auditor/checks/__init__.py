"""Check families. Importing this package registers every check."""

from auditor.checks import (  # noqa: F401
    alpha_features,
    ambient,
    ambient_waypoints,
    authz,
    authz_model,
    authz_mtls,
    authz_outside,
    bypass,
    capture,
    config,
    config_exportto,
    controlplane,
    egress,
    egress_paths,
    entrypoints,
    gateway_isolation,
    gatewayapi,
    gateways,
    images,
    ingress_policy,
    mtls,
    observed,
    protocol_detection,
    proxies,
    releases,
    requestauth,
    tls_gateway,
    tls_origination,
    tls_settings,
    virtualservices,
)
from auditor.checks.registry import REGISTRY, Check


def all_checks() -> list[Check]:
    """Every registered check, sorted by ID (importing this package registered them)."""
    return [REGISTRY[k] for k in sorted(REGISTRY)]

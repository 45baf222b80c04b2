"""Check families. Importing this package registers every check."""

from auditor.checks import (  # noqa: F401
    ambient,
    ambient_waypoints,
    authz,
    authz_model,
    bypass,
    capture,
    config,
    egress,
    egress_paths,
    entrypoints,
    gatewayapi,
    gateways,
    mtls,
    observed,
    requestauth,
    tls_gateway,
    tls_origination,
    tls_settings,
    virtualservices,
)

"""Check families. Importing this package registers every check."""

from auditor.checks import (  # noqa: F401
    authz,
    bypass,
    config,
    egress,
    entrypoints,
    gatewayapi,
    gateways,
    mtls,
    tls_gateway,
    tls_origination,
    tls_settings,
    virtualservices,
)

"""Check families. Importing this package registers every check."""

from auditor.checks import (  # noqa: F401
    authz,
    authz_model,
    bypass,
    config,
    egress,
    egress_paths,
    gatewayapi,
    gateways,
    mtls,
    requestauth,
    tls,
    virtualservices,
)

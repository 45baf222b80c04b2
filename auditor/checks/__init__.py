"""Check families. Importing this package registers every check."""

from auditor.checks import (  # noqa: F401
    authz,
    bypass,
    config,
    egress,
    egress_paths,
    gatewayapi,
    gateways,
    mtls,
    tls,
    virtualservices,
)

"""Check families. Importing this package registers every check."""

from auditor.checks import egress, gatewayapi, gateways, tls, virtualservices  # noqa: F401

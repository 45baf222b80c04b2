"""Check families. Importing this package registers every check."""

from auditor.checks import egress, gateways, virtualservices  # noqa: F401

"""The command line shown on the report cover, with anything that looks secret redacted.

The redaction itself is auditor/base/redact.py, shared by every output."""

from __future__ import annotations

from auditor.base.redact import REDACTED, redact_argv

__all__ = ["REDACTED", "redact_argv"]

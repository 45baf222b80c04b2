"""Values that reach an API request path: checked before any request is made.

A namespace from `-n` becomes a URL path segment. Kubernetes namespace names are DNS-1123
labels (lower-case alphanumerics and `-`, starting and ending alphanumeric, at most 63
characters: k8s.io/apimachinery/pkg/util/validation IsDNS1123Label), so anything else is a
usage error (exit 2), and every segment is still percent-quoted when the path is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from auditor.base.errors import InputError

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MAX_LABEL = 63


def is_dns1123_label(value: str) -> bool:
    return len(value) <= MAX_LABEL and DNS1123_LABEL.fullmatch(value) is not None


def check_namespaces(values: Iterable[str]) -> tuple[str, ...]:
    """The distinct namespaces in order; InputError (exit 2) for one that is not a label."""
    out: list[str] = []
    for value in values:
        if not is_dns1123_label(value):
            raise InputError(
                f"--namespace {value!r} is not a valid namespace name (a DNS-1123 label: "
                "lower-case letters, digits and '-', at most 63 characters)"
            )
        if value not in out:
            out.append(value)
    return tuple(out)


def segment(value: str) -> str:
    """One URL path segment, percent-quoted: `/`, `?`, `#` and `%` can never change the path."""
    return quote(value, safe="")

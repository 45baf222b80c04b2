"""Errors a user can cause, each with its documented exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_CLUSTER = 3


class AuditError(Exception):
    """A failure explained in one line; the CLI prints it and exits with `exit_code`."""

    exit_code = EXIT_INPUT


class InputError(AuditError):
    """Unreadable or unparsable input: a file, a mesh config, a waivers file."""

    exit_code = EXIT_INPUT


class ClusterError(AuditError):
    """The cluster could not be reached or read at all."""

    exit_code = EXIT_CLUSTER

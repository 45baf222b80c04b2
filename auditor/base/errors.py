"""Errors a user can cause, each with its documented exit code."""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_CLUSTER = 3
# The audit could not read enough of the cluster to be an answer (fail closed; see
# auditor/input/completeness.py). Wins over EXIT_FINDINGS: an incomplete audit is never green.
EXIT_INCOMPLETE = 4
EXIT_PARTIAL = 5  # --fail-on-partial: a kind was forbidden or unreadable
EXIT_UPLOAD = 6  # --upload failed; the local report files are kept

# When one run has several outcomes (a multi-context scan; a scan whose upload also failed), the
# exit code is the first of these that applies: worst first (docs/report.md). A context
# that produced no report at all is worse than one that produced an incomplete report; an
# incomplete audit is never hidden behind a delivery failure or a gate.
PRECEDENCE = (
    EXIT_CLUSTER,
    EXIT_INPUT,
    EXIT_INCOMPLETE,
    EXIT_UPLOAD,
    EXIT_PARTIAL,
    EXIT_FINDINGS,
    EXIT_OK,
)


def worst(codes: Iterable[int]) -> int:
    """The exit code of several outcomes, by PRECEDENCE (an unknown code counts as worst)."""
    seen = set(codes)
    for code in seen:
        if code not in PRECEDENCE:
            return code
    return next((code for code in PRECEDENCE if code in seen), EXIT_OK)


class AuditError(Exception):
    """A failure explained in one line; the CLI prints it and exits with `exit_code`."""

    exit_code = EXIT_INPUT


class InputError(AuditError):
    """Unreadable or unparsable input: a file, a mesh config, a waivers file."""

    exit_code = EXIT_INPUT


class ClusterError(AuditError):
    """The cluster could not be reached or read at all."""

    exit_code = EXIT_CLUSTER


class IncompleteAuditError(AuditError):
    """An audit that failed closed was asked to stand for a complete one (e.g. in a diff)."""

    exit_code = EXIT_INCOMPLETE


def yaml_error_text(where: str, exc: Exception) -> str:
    """One line for a YAML syntax error: `file:line:column: invalid YAML: problem (context)`."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "syntax error"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if (
        getattr(exc, "problem", None)
        and context
        and context_mark is not None
        and (context_mark is not mark)
    ):
        problem += (
            f" ({context} started at line {context_mark.line + 1}, "
            f"column {context_mark.column + 1})"
        )
    if mark is not None:
        where = f"{where}:{mark.line + 1}:{mark.column + 1}"
    return f"{where}: invalid YAML: {problem}"

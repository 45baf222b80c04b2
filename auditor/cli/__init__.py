"""Command line: parse, call the library, print, exit. No logic worth testing lives here.

The group `main` is here; the commands are in scan_command.py and commands.py, the options and
helpers they share in options.py."""

from __future__ import annotations

import logging
import os
import sys

import click
import cloup

from auditor import __version__
from auditor.base.errors import EXIT_INPUT
from auditor.cli.commands import diff as diff
from auditor.cli.commands import fleet_command as fleet_command
from auditor.cli.commands import list_checks as list_checks
from auditor.cli.commands import list_frameworks as list_frameworks
from auditor.cli.commands import render as render
from auditor.cli.commands import snapshot_command as snapshot_command
from auditor.cli.options import ARGV_KEY as ARGV_KEY
from auditor.cli.options import LIMITS_KEY as LIMITS_KEY
from auditor.cli.options import Duration as Duration
from auditor.cli.options import cluster_options as cluster_options
from auditor.cli.options import delivery_options as delivery_options
from auditor.cli.options import framework_options as framework_options
from auditor.cli.options import handle_errors as handle_errors
from auditor.cli.scan_command import scan as scan


class DefaultScanGroup(cloup.Group):
    """`mesh-audit --context prod` means `mesh-audit scan --context prod`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV_KEY] = ["mesh-audit", *args]  # shown, secrets redacted, on the report cover
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h", "--version"):
            args = ["scan", *args]
        return super().parse_args(ctx, args)


# Every line is a command as written (tests/cli/test_help.py parses each one).
MAIN_EXAMPLES = """\
Examples:

\b
  # Audit the cluster of a kubeconfig context (options before a command mean `scan`)
  mesh-audit --context prod
\b
  # Audit saved manifests; write the HTML and JSON reports
  mesh-audit scan --from manifests/ --format html,json
\b
  # The checks, and every scan option in groups with more examples
  mesh-audit checks
  mesh-audit scan --help
"""


@cloup.group(
    cls=DefaultScanGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=MAIN_EXAMPLES,
)
@click.version_option(__version__, prog_name="mesh-audit")
def main() -> None:
    """Audit an Istio mesh: ingress exposure, TLS, egress registration, egress-gateway bypass.

    `mesh-audit --context prod` audits the cluster of that kubeconfig context: options before
    a command mean `scan`.

    Exit codes: 0 scan ran; 1 a gate failed (--fail-on, --fail-on-new, --fail-under; one line
    on stderr says why); 2 usage or input error; 3 cluster or collection error;
    4 audit incomplete (too little could be read: fail closed);
    5 --fail-on-partial and a kind was not read; 6 --upload failed (local report files kept).
    """


# Sections of `mesh-audit --help`, in the order a new user meets them.
main.section("Audit", scan, snapshot_command)
main.section("Reports", render, diff, fleet_command)
main.section("Reference", list_checks, list_frameworks)


def run() -> None:
    """The `mesh-audit` console script: `main`, then exit without tearing down the heap.

    Freeing a large audit's objects one by one at interpreter exit took 0.75 s of a 6.4 s scan
    of a 100k-object mesh (benchmarks/README.md). Every report is written and closed by then,
    so once output is flushed the process ends with `os._exit`, as mypy does. Library callers
    and click's CliRunner use `main`, which exits normally.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what the interpreter does with a non-integer exit code
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


__all__ = ["EXIT_INPUT", "main"]

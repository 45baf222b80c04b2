"""The options of `mesh-audit scan`, in the titled groups its --help shows.

Every option keeps its name, default and behaviour; only where --help lists it is decided here
(cloup's option groups). The order of the groups is the order a new user needs them: what to
read, what to cover, what to write, when to fail, what to accept, where to send it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
import cloup

from auditor.cli.options import (
    _severity,
    api_limit_options,
    context_options,
    framework_options,
    namespace_options,
    partial_options,
    upload_options,
)
from auditor.input.completeness import DEFAULT_MIN_COVERAGE
from auditor.run.telemetry_options import telemetry_options

F = TypeVar("F", bound=Callable[..., Any])

# Shown at the end of `scan --help`; every line is a command that runs as written
# (tests/cli/test_help.py parses each one against the options).
SCAN_EXAMPLES = """\
Examples:

\b
  # Audit the cluster of a kubeconfig context; a summary in the terminal
  mesh-audit --context prod
\b
  # Saved manifests, HTML and JSON reports in ./mesh-audit-report
  mesh-audit scan --from manifests/ --format html,json
\b
  # CI: SARIF for code scanning, fail on a high finding that the baseline does not have
  mesh-audit scan --from k8s/ --format sarif --baseline main-report.json --fail-on-new high
\b
  # A change before it merges: the live cluster with the files applied
  mesh-audit scan --context prod --from changed/ --fail-on-new medium
\b
  # In the cluster, with accepted findings, upload to S3 and a Slack summary
  mesh-audit scan --in-cluster --waivers waivers.yaml --upload s3://audits/mesh --notify URL
\b
  # Every context of the kubeconfig: a folder each and a fleet summary
  mesh-audit scan --all-contexts --format json,html
"""

input_group = cloup.option_group(
    "Input: what is read",
    click.option(
        "--from",
        "from_paths",
        multiple=True,
        metavar="PATH",
        help="File or directory of manifests, or a snapshot file (repeatable); - reads stdin.",
    ),
    context_options,
    click.option(
        "--all-contexts",
        is_flag=True,
        help="Audit every context of the kubeconfig: a folder each and a fleet summary.",
    ),
    click.option(
        "--mesh-config",
        "mesh_config",
        type=click.Path(dir_okay=False),
        default=None,
        help="MeshConfig YAML to use (overrides a mesh-config ConfigMap in the input).",
    ),
    click.option(
        "--istio-version",
        "istio_version",
        default=None,
        metavar="VERSION",
        help="Istio version (e.g. 1.24.2) for version-dependent checks when istiod's Deployment "
        "is not in the input; overrides the version read from istiod's image.",
    ),
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="Config file of defaults (formats, gates, waivers, suppress). Default: "
        ".mesh-audit.yaml in the working directory, when it exists.",
    ),
)

scope_group = cloup.option_group("Scope: what the report covers", namespace_options)


def _output_options(fn: F) -> F:
    options = [
        click.option(
            "--format",
            "formats",
            default=None,
            metavar="LIST",
            help=(
                "Comma list of report formats: json, html, pdf, sarif, junit, csv. Without "
                "--format and --output-dir no file is written (terminal summary only); "
                "--output-dir alone writes json."
            ),
        ),
        click.option(
            "--output-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Where report.<ext> files go (default ./mesh-audit-report when --format is set).",
        ),
        click.option(
            "--output",
            "-o",
            "stdout_format",
            type=click.Choice(["json", "sarif", "csv", "junit"]),
            default=None,
            help="Write this one format to stdout (no terminal summary); --format files still "
            "written.",
        ),
        framework_options,
        click.option(
            "--severity",
            "summary_severity",
            callback=_severity,
            default=None,
            metavar="LEVEL",
            help="List findings at LEVEL and above in the terminal summary, worst first "
            "(default: medium); the others are counted. Report files hold every finding.",
        ),
        click.option(
            "--all",
            "all_findings",
            is_flag=True,
            help="List every finding in the terminal summary (same as --severity info).",
        ),
        click.option(
            "--no-color",
            is_flag=True,
            help="No colour in the summary (also off with NO_COLOR set, or when not a terminal).",
        ),
        click.option(
            "--no-progress",
            is_flag=True,
            help="No progress line (also off when output is not a terminal or CI is set).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


output_group = cloup.option_group("Output: reports and the terminal", _output_options)

gates_group = cloup.option_group(
    "Gates: when the exit code is not 0",
    click.option(
        "--fail-on",
        callback=_severity,
        default=None,
        metavar="SEVERITY",
        help="Exit 1 when a finding at or above this severity exists.",
    ),
    click.option(
        "--fail-on-new",
        callback=_severity,
        default=None,
        metavar="SEVERITY",
        help="Exit 1 when a NEW finding (not in --baseline) at or above this severity exists.",
    ),
    click.option(
        "--fail-under",
        type=click.IntRange(0, 100),
        default=None,
        metavar="SCORE",
        help="Exit 1 when the report's score (0-100, waived findings not counted) is below SCORE.",
    ),
    click.option(
        "--min-coverage",
        type=click.FloatRange(min=0.0, max=1.0),
        default=DEFAULT_MIN_COVERAGE,
        show_default=True,
        metavar="SHARE",
        help="Exit 4 (audit incomplete) when less than this share of the kinds the cluster "
        "serves was read, or none of its Istio kinds.",
    ),
    partial_options,
)

baseline_group = cloup.option_group(
    "Baselines and waivers: what is already known or accepted",
    click.option(
        "--baseline",
        "baseline_file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="REPORT",
        help="A previous report.json: mark findings new/unchanged and list resolved ones.",
    ),
    click.option(
        "--waivers",
        "waivers_file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="YAML of accepted findings (reason, owner, expiry); waived findings never gate.",
    ),
    click.option(
        "--suppress",
        multiple=True,
        metavar="CODE=RESOURCE",
        help=(
            'istioctl analyze suppression, e.g. "IST0102=Namespace frod" or "IST0107=Pod *.baz" '
            "(repeatable): findings of checks with that IST code on matching resources are "
            "counted as waived."
        ),
    ),
)

delivery_group = cloup.option_group("Delivery: S3 and webhooks", upload_options)

telemetry_group = cloup.option_group(
    "Telemetry: observed traffic from Prometheus", telemetry_options
)

performance_group = cloup.option_group(
    "Performance: parallelism and the bounds of a live read",
    click.option(
        "--jobs",
        type=click.IntRange(min=0, max=64),
        default=0,
        metavar="N",
        help="With --from: processes that parse YAML files. 0 (default): the CPUs this process "
        "may use, when the YAML is large enough to gain from it; 1: parse in this process.",
    ),
    click.option(
        "--parallel",
        type=click.IntRange(min=1, max=32),
        default=4,
        show_default=True,
        help="With several contexts: how many are read at once.",
    ),
    api_limit_options,
)

debugging_group = cloup.option_group(
    "Debugging",
    click.option("--debug", is_flag=True, help="Show tracebacks for errors."),
)


def scan_options(fn: F) -> F:
    """Every `scan` option, group by group, in the order --help shows them."""
    groups = [
        input_group,
        scope_group,
        output_group,
        gates_group,
        baseline_group,
        delivery_group,
        telemetry_group,
        performance_group,
        debugging_group,
    ]
    for group in reversed(groups):
        fn = group(fn)
    return fn

"""The other commands: fleet, diff, snapshot, render, checks, frameworks."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from auditor.base.errors import (
    EXIT_INCOMPLETE,
    EXIT_INPUT,
    EXIT_OK,
    IncompleteAuditError,
    InputError,
)
from auditor.cli import options
from auditor.cli.options import (
    _check_namespaces,
    _limits,
    cluster_options,
    framework_options,
    handle_errors,
)


def _finite_hours(value: float) -> float:
    if not math.isfinite(value):  # "nan" passes FloatRange: every comparison with it is false
        raise click.BadParameter(f"{value!r} is not a number of hours")
    return value


@click.command("fleet")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--format",
    "formats",
    default="json,html",
    show_default=True,
    metavar="LIST",
    help="Comma list of fleet report formats: json, html, pdf.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default="mesh-audit-fleet",
    show_default=True,
    help="Where fleet.<ext> files go.",
)
@click.option(
    "--stale-after",
    type=click.FloatRange(min=0, max=87600),
    callback=lambda _c, _p, v: _finite_hours(v),
    default=48.0,
    show_default=True,
    metavar="HOURS",
    help="A cluster whose newest report is older than this is stale (0 to 87600: ten years).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@handle_errors
def fleet_command(
    sources: tuple[str, ...],
    formats: str,
    output_dir: str,
    stale_after: float,
    quiet: bool,
    debug: bool,
) -> None:
    """One report over many clusters from report files, folders or an s3:// prefix of uploads.

    A report that cannot be read is listed as unreadable and the fleet report of the others is
    still written; the exit code is then 2 (also when no report could be read: then nothing is
    written)."""
    from auditor.report.fleet_render import parse_fleet_formats, terminal_lines, write_fleet
    from auditor.report.terminal_text import printable
    from auditor.run.fleet.model import build_fleet
    from auditor.run.fleet.sources import load_sources

    names = parse_fleet_formats(formats)
    found = load_sources(sources)
    if not found.reports:
        # nothing to report on: the reasons, and no fleet files
        for bad in found.unreadable:
            click.echo(f"mesh-audit: error: {printable(bad.error, 300)}", err=True)
        sys.exit(EXIT_INPUT)
    data = build_fleet(
        found.reports,
        generated_at=options._now(),
        stale_hours=stale_after,
        unreadable=found.unreadable,
    )
    written = write_fleet(data, names, Path(output_dir))
    if not quiet:
        click.echo("\n".join(terminal_lines(data)))
        click.echo("Wrote " + ", ".join(printable(p) for p in written))
    for bad in found.unreadable:
        click.echo(f"mesh-audit: error: unreadable: {printable(bad.error, 300)}", err=True)
    sys.exit(EXIT_INPUT if found.unreadable else EXIT_OK)


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Also write the difference as JSON to FILE.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@handle_errors
def diff(old: str, new: str, output: str | None, debug: bool) -> None:
    """Show findings new in NEW.json, resolved since OLD.json, and unchanged."""
    import orjson

    from auditor.base.atomic import write_atomic
    from auditor.input.completeness import is_incomplete, statement
    from auditor.report.terminal import render_diff
    from auditor.run.baseline import diff_reports, load_report

    before, after = load_report(old), load_report(new)
    for path, data in ((old, before), (new, after)):
        if is_incomplete(data):
            # Fail closed: what an incomplete audit missed would show as "resolved".
            raise IncompleteAuditError(f"{path}: {statement(data)}; not compared")
    result = diff_reports(before, after)
    if output is not None:
        try:
            write_atomic(Path(output), orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            raise InputError(f"{output}: cannot write: {exc.strerror}") from exc
    click.echo(render_diff(result, Path(output) if output else None))
    sys.exit(EXIT_OK)


@click.command("snapshot")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    help="Snapshot file to write (JSON; gzipped when the name ends in .gz).",
)
@cluster_options
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@handle_errors
def snapshot_command(
    output: str,
    contexts: tuple[str, ...],
    kubeconfig: str | None,
    in_cluster: bool,
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    request_timeout: float,
    deadline: float,
    debug: bool,
) -> None:
    """Read the cluster and save what was read, to audit later with `scan --from FILE`."""
    if len(contexts) > 1:
        raise InputError("snapshot reads one cluster: give --context once")
    context = contexts[0] if contexts else None
    from auditor.input.completeness import assess, is_incomplete, statement
    from auditor.input.snapshot_file import document_for, write_snapshot

    _check_namespaces(namespaces, all_namespaces)
    snapshot = options._collect_live(
        context, kubeconfig, in_cluster, namespaces, request_timeout, deadline, limits=_limits()
    )
    try:
        write_snapshot(Path(output), document_for(snapshot))
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror}") from exc
    read = sum(1 for s in snapshot.collection.values() if s.status == "ok")
    click.echo(
        f"Wrote {output}: {sum(1 for _ in snapshot.all_objects())} objects, "
        f"{read}/{len(snapshot.collection)} kinds read",
        err=True,
    )
    for key, status in sorted(snapshot.collection.items()):
        if status.status != "ok":
            click.echo(f"  NOT READ {key} ({status.status}): {status.message}", err=True)
    audit = {"audit": assess({k: {"status": v.status} for k, v in snapshot.collection.items()})}
    if is_incomplete(audit):
        click.echo(f"mesh-audit: {statement(audit)}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(EXIT_OK)


@click.command()
@click.argument("report_json", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "formats",
    default="html",
    show_default=True,
    metavar="LIST",
    help="Comma list of report formats: json, html, pdf, sarif, junit, csv.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default="mesh-audit-report",
    show_default=True,
    help="Where report.<ext> files go.",
)
@framework_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@handle_errors
def render(
    report_json: str,
    formats: str,
    output_dir: str,
    framework_names: tuple[str, ...],
    framework_files: tuple[str, ...],
    quiet: bool,
    debug: bool,
) -> None:
    """Render a saved report.json again (same output as at scan time).

    With --framework/--framework-file the report's compliance section is derived again from its
    findings for those frameworks."""
    from auditor.report import formats as fmt
    from auditor.report.load import load_report
    from auditor.run.compliance import load_frameworks
    from auditor.run.scan import post_process

    names = fmt.parse_formats(formats)
    frameworks = load_frameworks(framework_names, framework_files)
    report = post_process(load_report(Path(report_json)), frameworks=frameworks)
    written = fmt.render_all(report, names, Path(output_dir))
    if not quiet:
        for path in written:
            click.echo(f"Wrote {path}")


@click.command("checks")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
)
def list_checks(output: str) -> None:
    """List every check with its ID, category, severity and title."""
    from auditor.checks.docs import render_checks

    click.echo(render_checks(output))


@click.command("frameworks")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@handle_errors
def list_frameworks(output: str, debug: bool) -> None:
    """List the built-in control frameworks (for --framework) and their controls."""
    from auditor.run.compliance import builtin_names, framework_table, load_builtin

    click.echo(framework_table([load_builtin(n) for n in builtin_names()], output))

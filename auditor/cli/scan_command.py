"""`mesh-audit scan`: one cluster, saved manifests, a change against the live cluster, or several
contexts."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import cloup

from auditor.base.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, InputError
from auditor.base.model import Severity
from auditor.cli import options
from auditor.cli.options import (
    ARGV_KEY,
    _check_namespaces,
    _delivery,
    _limits,
    handle_errors,
    summary_level,
)
from auditor.cli.scan_options import SCAN_EXAMPLES, scan_options
from auditor.run.telemetry_options import observe_request


@cloup.command(epilog=SCAN_EXAMPLES, align_option_groups=False)
@scan_options
@handle_errors
def scan(
    from_paths: tuple[str, ...],
    jobs: int,
    mesh_config: str | None,
    formats: str | None,
    output_dir: str | None,
    fail_on: Severity | None,
    contexts: tuple[str, ...],
    kubeconfig: str | None,
    in_cluster: bool,
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    request_timeout: float,
    deadline: float,
    all_contexts: bool,
    parallel: int,
    waivers_file: str | None,
    baseline_file: str | None,
    fail_on_new: Severity | None,
    fail_under: int | None,
    suppress: tuple[str, ...],
    stdout_format: str | None,
    config_file: str | None,
    no_progress: bool,
    framework_names: tuple[str, ...],
    framework_files: tuple[str, ...],
    istio_version: str | None,
    no_color: bool,
    min_coverage: float,
    summary_severity: Severity | None,
    all_findings: bool,
    quiet: bool,
    debug: bool,
    prometheus_url: str | None,
    since: str,
    prometheus_token_file: str | None,
    prometheus_ca_file: str | None,
    prometheus_insecure_skip_verify: bool,
    **delivery_args: Any,
) -> None:
    """Audit the cluster of a kubeconfig context (default), or saved manifests (--from)."""
    from auditor.base.progress import progress_for
    from auditor.input.completeness import is_incomplete, statement
    from auditor.input.files import load_paths
    from auditor.istio.meshconfig import load_file as load_mesh_config
    from auditor.istio.version import valid_version
    from auditor.report import formats as fmt
    from auditor.report import terminal
    from auditor.report.gates import Gates, failures
    from auditor.run import config
    from auditor.run.baseline import gating_findings, load_report
    from auditor.run.compliance import load_frameworks
    from auditor.run.deliver.deliver import deliver
    from auditor.run.scan import scan as run_scan
    from auditor.run.suppress import parse_flag
    from auditor.run.waivers import load_waivers

    _check_namespaces(namespaces, all_namespaces)
    listed = summary_level(summary_severity, all_findings)
    found = config.find_config(config_file)
    settings = config.merge(
        config.load_config(found) if found is not None else None,
        formats=formats,
        output_dir=output_dir,
        fail_on=fail_on,
        fail_on_new=fail_on_new,
        fail_under=fail_under,
        baseline_file=baseline_file,
        waivers_file=waivers_file,
        suppress=suppress,
    )
    formats, output_dir, baseline_file = (
        settings.formats,
        settings.output_dir,
        settings.baseline_file,
    )
    overlay = bool(from_paths) and bool(contexts or kubeconfig or in_cluster)
    if overlay and baseline_file is not None:
        raise InputError(
            "--context with --from audits a change against the live cluster, which is its "
            "baseline; --baseline cannot be given too"
        )
    if settings.fail_on_new is not None and baseline_file is None and not overlay:
        raise InputError("--fail-on-new needs --baseline PREVIOUS_REPORT.json")
    if istio_version is not None and not valid_version(istio_version):
        raise InputError(f"--istio-version {istio_version!r}: expected a version such as 1.24.2")
    names = fmt.parse_formats(formats or "json")
    delivery = _delivery(**delivery_args)
    observe = observe_request(
        prometheus_url,
        since,
        prometheus_token_file,
        prometheus_ca_file,
        prometheus_insecure_skip_verify,
        deadline,
    )
    suppressions = [parse_flag(s) for s in settings.suppress]
    if from_paths and (all_contexts or len(contexts) > 1):
        raise InputError(
            "--from and several contexts cannot be combined: --context with --from audits "
            "one cluster with the files applied"
        )
    if (all_contexts or len(contexts) > 1) and observe is not None:
        raise InputError(
            "--prometheus observes one cluster; it cannot be given with several contexts"
        )
    if (all_contexts or len(contexts) > 1) and (
        in_cluster or baseline_file is not None or delivery.cluster is not None
    ):
        raise InputError(
            "--in-cluster, --baseline and --cluster-name name one cluster; with several "
            "contexts, compare each folder's report with `mesh-audit diff`"
        )
    # Read the waivers and the baseline before collecting, so a bad file fails fast.
    waivers = (
        load_waivers(settings.waivers_file)
        if settings.waivers_file is not None
        else (list(settings.inline_waivers) if settings.inline_waivers is not None else None)
    )
    baseline = load_report(baseline_file) if baseline_file is not None else None
    override = load_mesh_config(mesh_config) if mesh_config is not None else None
    frameworks = load_frameworks(framework_names, framework_files)
    limits = _limits()  # thread-local like the command line: read it here
    if all_contexts or len(contexts) > 1:
        command = click.get_current_context().meta.get(ARGV_KEY)  # thread-local: read it here

        def audit(name: str) -> Any:
            snap = options._collect_live(
                name, kubeconfig, False, namespaces, request_timeout, deadline, limits=limits
            )
            if mesh_config is not None and override is not None and override.raw is not None:
                snap.mesh_config_override = (mesh_config, override.raw)
            return run_scan(
                snap,
                generated_at=options._now(),
                command=command,
                waivers=waivers,
                frameworks=frameworks,
                min_coverage=min_coverage,
            )

        _scan_contexts(
            list(dict.fromkeys(contexts)) if not all_contexts else None,
            kubeconfig,
            audit,
            names,
            Path(output_dir or "mesh-audit-report"),
            delivery,
            parallel,
            # an incomplete context exits 4 by the precedence (run/fleet/scan.py exit_code)
            lambda data: bool(
                settings.fail_on is not None and gating_findings(data["findings"], settings.fail_on)
            ),
            quiet,
        )
    context = contexts[0] if contexts else None
    baseline_source = baseline_file or ""
    if from_paths and not overlay:
        snapshot = load_paths(from_paths, jobs=jobs or None)
    else:
        # -n is the scope of the report, not of the read: mesh-wide facts and cross-namespace
        # references are read cluster-wide when permitted (auditor/run/scope.py)
        snapshot = options._collect_live(
            context,
            kubeconfig,
            in_cluster,
            (),
            request_timeout,
            deadline,
            progress=progress_for(no_progress=no_progress or quiet),
            limits=limits,
        )
    if mesh_config is not None and override is not None and override.raw is not None:
        snapshot.mesh_config_override = (mesh_config, override.raw)
    if istio_version is not None:
        snapshot.source.istio_version = istio_version.strip()
    if overlay:
        # pre-merge: audit the cluster as it would be after applying the files, marked against
        # the live cluster alone (auditor/run/overlay.py)
        from auditor.run.overlay import apply_overlay

        changes = load_paths(from_paths, jobs=jobs or None)
        live = run_scan(snapshot, generated_at=options._now(), scope=list(namespaces) or None)
        counts = apply_overlay(snapshot, changes)
        baseline = dict(live.data)
        baseline_source = (
            f"live cluster {snapshot.source.context} before the change "
            f"({counts.replaced} objects replaced, {counts.added} added)"
        )
    command = click.get_current_context().meta.get(ARGV_KEY)
    report = run_scan(
        snapshot,
        generated_at=options._now(),
        command=command,
        waivers=waivers,
        baseline=baseline,
        frameworks=frameworks,
        baseline_source=baseline_source,
        scope=list(dict.fromkeys(namespaces)) or None,
        gates=(
            gates := Gates(
                fail_on=settings.fail_on,
                fail_on_new=settings.fail_on_new,
                fail_under=settings.fail_under,
            )
        ),
        suppress=suppressions,
        min_coverage=min_coverage,
        observe=observe,
    )
    # The report is all that renderers read: the snapshot and the index over it go before
    # rendering, so a PDF's layout reuses their memory (benchmarks/README.md).
    del snapshot
    if overlay:
        del changes
    gc.collect()
    written: list[Path] = []
    if formats is not None or output_dir is not None or delivery.upload is not None:
        written = fmt.render_all(report, names, Path(output_dir or "mesh-audit-report"))
    if stdout_format is not None:
        click.echo(fmt.render_bytes(report, stdout_format), nl=False)
    elif not quiet:
        width, color = terminal.style_for(
            sys.stdout.isatty(),
            os.environ,
            no_color=no_color,
            columns=shutil.get_terminal_size().columns,
        )
        summary = terminal.render(report.data, written, width=width, color=color, severity=listed)
        click.echo(summary, color=color)
    code = deliver(report.data, written, delivery, lambda line: click.echo(line, err=True))
    if is_incomplete(report.data):
        # Fail closed: whatever --fail-on says, an audit that saw too little is not a pass.
        click.echo(f"mesh-audit: {statement(report.data)}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    failed = failures(report.data, gates)
    for line in failed:
        click.echo(f"mesh-audit: {line}", err=True)
    if code is not None:
        sys.exit(code)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _scan_contexts(
    contexts: list[str] | None,
    kubeconfig: str | None,
    audit: Callable[[str], Any],
    names: list[str],
    out: Path,
    delivery: Any,
    parallel: int,
    gate: Callable[[dict[str, Any]], bool],
    quiet: bool,
) -> None:
    """Several contexts (auditor/run/fleet/scan.py): a folder each, a fleet summary, one exit
    code."""
    from dataclasses import replace

    from auditor.report import formats as fmt
    from auditor.report.fleet_render import terminal_lines
    from auditor.run.deliver.deliver import deliver
    from auditor.run.fleet.scan import (
        ContextRun,
        check_folders,
        exit_code,
        fleet_summary,
        folder_for,
        kubeconfig_contexts,
        scan_contexts,
    )

    chosen = contexts if contexts is not None else kubeconfig_contexts(kubeconfig)
    check_folders(chosen)
    say: Callable[[str], None] = lambda line: click.echo(line, err=True)  # noqa: E731

    def one(name: str) -> ContextRun:
        report = audit(name)
        written = fmt.render_all(report, names, out / folder_for(name))
        code = deliver(report.data, written, replace(delivery, cluster=name), say, quiet=quiet)
        return ContextRun(context=name, data=report.data, written=written, code=code)

    runs = scan_contexts(chosen, one, parallel)
    fleet, written = fleet_summary(runs, out, names, options._now())
    if not quiet:
        click.echo("\n".join(terminal_lines(fleet)))
        click.echo("Wrote " + ", ".join(str(p) for p in written))
    sys.exit(exit_code(runs, gate))

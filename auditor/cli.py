"""Command line: parse, call the library, print, exit. No logic worth testing lives here."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from auditor import __version__
from auditor.collect.transport import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_PAGES
from auditor.completeness import DEFAULT_MIN_COVERAGE
from auditor.errors import (
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_INPUT,
    EXIT_OK,
    AuditError,
    IncompleteAuditError,
    InputError,
)
from auditor.model import Severity
from auditor.redact import redact_text
from auditor.telemetry.options import observe_request, telemetry_options

if TYPE_CHECKING:
    from auditor.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])
ARGV_KEY = "mesh_audit.argv"
LIMITS_KEY = "mesh_audit.limits"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def handle_errors(fn: F) -> F:
    """One line and the documented exit code for errors a user can cause; --debug adds a trace."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug"))
        try:
            return fn(*args, **kwargs)
        except AuditError as exc:
            if debug:
                click.echo(redact_text(traceback.format_exc()).rstrip("\n"), err=True)
            click.echo(f"mesh-audit: error: {redact_text(str(exc))}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


class DefaultScanGroup(click.Group):
    """`mesh-audit --context prod` means `mesh-audit scan --context prod`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV_KEY] = ["mesh-audit", *args]  # shown, secrets redacted, on the report cover
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h", "--version"):
            args = ["scan", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultScanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mesh-audit")
def main() -> None:
    """Audit an Istio mesh: ingress exposure, TLS, egress registration, egress-gateway bypass.

    Exit codes: 0 scan ran; 1 a gate failed (--fail-on, --fail-on-new, --fail-under; one line
    on stderr says why); 2 usage or input error; 3 cluster or collection error;
    4 audit incomplete (too little could be read: fail closed);
    5 --fail-on-partial and a kind was not read; 6 --upload failed (local report files kept).
    """


def _severity(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Severity | None:
    if value is None:
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class Duration(click.ParamType[float, Any]):
    """kubectl's durations: 30s, 2m, 1m30s, 500ms; a bare number is seconds."""

    name = "duration"

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from auditor.durations import parse_duration

        if isinstance(value, int | float):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if seconds < self.minimum:
            self.fail(f"{value!r} is shorter than {self.minimum:g}s", param, ctx)
        return seconds


def _limit(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """Collection limits go to ctx.meta (read once in the main thread by `_limits`)."""
    ctx.meta.setdefault(LIMITS_KEY, {})[str(param.name)] = value
    return value


def _limits() -> dict[str, int]:
    return dict(click.get_current_context().meta.get(LIMITS_KEY) or {})


def cluster_options(fn: F) -> F:
    """Options that choose and bound a live cluster read (scan and snapshot share them)."""
    options = [
        click.option(
            "--context",
            "contexts",
            multiple=True,
            metavar="NAME",
            help="kubeconfig context (default: current). `scan` takes it more than once.",
        ),
        click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            default=None,
            help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
        ),
        click.option(
            "--in-cluster",
            is_flag=True,
            help="Use the pod's service account (automatic in a pod without a kubeconfig).",
        ),
        click.option(
            "--namespace",
            "-n",
            "namespaces",
            multiple=True,
            metavar="NS",
            help="Read namespaced kinds only in NS (repeatable). Default: all namespaces.",
        ),
        click.option(
            "--all-namespaces",
            "-A",
            "all_namespaces",
            is_flag=True,
            help="All namespaces (the default; as kubectl spells it). Not with -n.",
        ),
        click.option(
            "--request-timeout",
            type=Duration(0.1),
            default="30s",
            show_default=True,
            help="Per API request: 30s, 2m, 1m30s (a bare number is seconds).",
        ),
        click.option(
            "--deadline",
            type=Duration(1),
            default="10m",
            show_default=True,
            help="Whole collection, slow answers included: 10m, 90s, 1h (bare number: seconds).",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(min=0, max=20),
            default=4,
            show_default=True,
            expose_value=False,
            callback=_limit,
            help="Retries of a 429/5xx answer or dropped connection, with backoff.",
        ),
        click.option(
            "--max-body-bytes",
            type=click.IntRange(min=1024),
            default=DEFAULT_MAX_BODY_BYTES,
            show_default=True,
            expose_value=False,
            callback=_limit,
            help="Largest API answer read; a larger one makes that kind an error.",
        ),
        click.option(
            "--max-pages",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_PAGES,
            show_default=True,
            expose_value=False,
            callback=_limit,
            help="Most pages read of one list; a longer continue chain makes that kind an error.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _check_namespaces(namespaces: tuple[str, ...], all_namespaces: bool) -> None:
    """Usage errors before anything is read: -A with -n, or a -n value that is no namespace name
    (it reaches request paths and the scope, so it must be a DNS-1123 label)."""
    from auditor.collect.names import check_namespaces

    if all_namespaces and namespaces:
        raise InputError("-A/--all-namespaces and -n/--namespace cannot be combined")
    check_namespaces(namespaces)


def _collect_live(
    context: str | None,
    kubeconfig: str | None,
    in_cluster: bool,
    namespaces: tuple[str, ...],
    request_timeout: float,
    deadline: float,
    progress: Progress | None = None,
    *,
    limits: dict[str, int] | None = None,
) -> Any:
    """`limits`: max_retries, max_body_bytes, max_pages (from `_limits()`, main thread only)."""
    from auditor.collect.cluster import CollectOptions
    from auditor.collect.live import LiveOptions, collect
    from auditor.collect.names import check_namespaces

    lim = limits or {}
    options = LiveOptions(
        context=context,
        kubeconfig=kubeconfig,
        in_cluster=in_cluster,
        collect=CollectOptions(
            namespaces=check_namespaces(namespaces),
            request_timeout=request_timeout,
            deadline=deadline,
            max_retries=lim.get("max_retries", 4),
            max_body_bytes=lim.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
            max_pages=lim.get("max_pages", DEFAULT_MAX_PAGES),
        ),
    )
    return collect(options, progress=progress).snapshot


def framework_options(fn: F) -> F:
    """Control frameworks to report against (scan and render share them)."""
    fn = click.option(
        "--framework-file",
        "framework_files",
        multiple=True,
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="Your own control mapping, in the built-in frameworks' format (repeatable).",
    )(fn)
    return click.option(
        "--framework",
        "framework_names",
        multiple=True,
        metavar="NAME",
        help="Report per control of a built-in framework (repeatable; `mesh-audit frameworks`).",
    )(fn)


def delivery_options(fn: F) -> F:
    """Where a finished report goes (auditor/deliver/), and the --fail-on-partial gate."""
    options = [
        click.option(
            "--fail-on-partial",
            is_flag=True,
            help="Exit 5 when any kind was forbidden or unreadable (the log names which).",
        ),
        click.option(
            "--partial-ok",
            multiple=True,
            metavar="KIND",
            help="A kind expected to be unreadable (e.g. Secret): never trips --fail-on-partial.",
        ),
        click.option(
            "--upload",
            default=None,
            metavar="URL",
            help="Also upload the report to s3://bucket/prefix/<cluster>/<timestamp>/ and "
            "latest/ (exit 6 if that fails; local files are kept).",
        ),
        click.option(
            "--cluster-name",
            envvar="MESH_AUDIT_CLUSTER",
            default=None,
            metavar="NAME",
            help="Cluster name in upload paths and notifications (default: the context; "
            "env MESH_AUDIT_CLUSTER).",
        ),
        click.option(
            "--notify",
            "notify_url",
            envvar="MESH_AUDIT_NOTIFY_URL",
            default=None,
            metavar="URL",
            help="POST a summary to this webhook (env MESH_AUDIT_NOTIFY_URL keeps it out of "
            "process listings).",
        ),
        click.option(
            "--notify-format",
            type=click.Choice(["slack", "json"]),
            default="slack",
            show_default=True,
            help="Webhook body: Slack-compatible, or generic JSON.",
        ),
        click.option(
            "--report-base-url",
            default=None,
            metavar="URL",
            help="HTTPS URL that serves the upload bucket, for the link in notifications.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _delivery(
    fail_on_partial: bool,
    partial_ok: tuple[str, ...],
    upload: str | None,
    cluster_name: str | None,
    notify_url: str | None,
    notify_format: str,
    report_base_url: str | None,
) -> Any:
    """Validate the delivery options before anything is collected (bad input: exit 2)."""
    from auditor.deliver.notify import check_url
    from auditor.deliver.run import Delivery
    from auditor.deliver.upload import parse_target, require_client_library
    from auditor.partial import parse_kinds

    target = parse_target(upload) if upload else None
    if target is not None:
        require_client_library()
    return Delivery(
        upload=target,
        cluster=cluster_name or None,
        notify_url=check_url(notify_url) if notify_url else None,
        notify_format=notify_format,
        report_base_url=report_base_url,
        fail_on_partial=fail_on_partial,
        partial_ok=parse_kinds(partial_ok),
    )


@main.command()
@click.option(
    "--from",
    "from_paths",
    multiple=True,
    metavar="PATH",
    help="File or directory of manifests, or a snapshot file (repeatable); - reads stdin.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0, max=64),
    default=0,
    metavar="N",
    help="With --from: processes that parse YAML files. 0 (default): the CPUs this process "
    "may use, when the YAML is large enough to gain from it; 1: parse in this process.",
)
@click.option(
    "--mesh-config",
    "mesh_config",
    type=click.Path(dir_okay=False),
    default=None,
    help="MeshConfig YAML to use (overrides a mesh-config ConfigMap in the input).",
)
@click.option(
    "--format",
    "formats",
    default=None,
    metavar="LIST",
    help=(
        "Comma list of report formats: json, html, pdf, sarif, junit, csv. Without --format "
        "and --output-dir no file is written (terminal summary only); --output-dir alone "
        "writes json."
    ),
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where report.<ext> files go (default ./mesh-audit-report when --format is set).",
)
@click.option(
    "--fail-on",
    callback=_severity,
    default=None,
    metavar="SEVERITY",
    help="Exit 1 when a finding at or above this severity exists.",
)
@click.option(
    "--waivers",
    "waivers_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="YAML of accepted findings (reason, owner, expiry); waived findings never gate.",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="REPORT",
    help="A previous report.json: mark findings new/unchanged and list resolved ones.",
)
@click.option(
    "--fail-on-new",
    callback=_severity,
    default=None,
    metavar="SEVERITY",
    help="Exit 1 when a NEW finding (not in --baseline) at or above this severity exists.",
)
@click.option(
    "--fail-under",
    type=click.IntRange(0, 100),
    default=None,
    metavar="SCORE",
    help="Exit 1 when the report's score (0-100, waived findings not counted) is below SCORE.",
)
@click.option(
    "--suppress",
    multiple=True,
    metavar="CODE=RESOURCE",
    help=(
        'istioctl analyze suppression, e.g. "IST0102=Namespace frod" or "IST0107=Pod *.baz" '
        "(repeatable): findings of checks with that IST code on matching resources are "
        "counted as waived."
    ),
)
@click.option(
    "--output",
    "-o",
    "stdout_format",
    type=click.Choice(["json", "sarif", "csv", "junit"]),
    default=None,
    help="Write this one format to stdout (no terminal summary); --format files still written.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Config file of defaults (formats, gates, waivers, suppress). Default: "
    ".mesh-audit.yaml in the working directory, when it exists.",
)
@click.option(
    "--no-progress",
    is_flag=True,
    help="No progress line (also off when output is not a terminal or CI is set).",
)
@click.option(
    "--istio-version",
    "istio_version",
    default=None,
    metavar="VERSION",
    help="Istio version (e.g. 1.24.2) for version-dependent checks when istiod's Deployment is "
    "not in the input; overrides the version read from istiod's image.",
)
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour in the summary (also off with NO_COLOR set, or when not a terminal).",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(min=0.0, max=1.0),
    default=DEFAULT_MIN_COVERAGE,
    show_default=True,
    metavar="SHARE",
    help="Exit 4 (audit incomplete) when less than this share of the kinds the cluster serves "
    "was read, or none of its Istio kinds.",
)
@cluster_options
@framework_options
@click.option(
    "--all-contexts",
    is_flag=True,
    help="Audit every context of the kubeconfig: a folder each and a fleet summary.",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="With several contexts: how many are read at once.",
)
@delivery_options
@telemetry_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
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
    from auditor import config
    from auditor.baseline import gating_findings, load_report
    from auditor.collect.files import load_paths
    from auditor.completeness import is_incomplete, statement
    from auditor.compliance import load_frameworks
    from auditor.deliver.run import deliver
    from auditor.gates import Gates, failures
    from auditor.istio.meshconfig import load_file as load_mesh_config
    from auditor.istio.version import valid_version
    from auditor.progress import progress_for
    from auditor.report import formats as fmt
    from auditor.report import terminal
    from auditor.scan import scan as run_scan
    from auditor.suppress import parse_flag
    from auditor.waivers import load_waivers

    _check_namespaces(namespaces, all_namespaces)
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
            snap = _collect_live(
                name, kubeconfig, False, namespaces, request_timeout, deadline, limits=limits
            )
            if mesh_config is not None and override is not None and override.raw is not None:
                snap.mesh_config_override = (mesh_config, override.raw)
            return run_scan(
                snap,
                generated_at=_now(),
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
            # an incomplete context (fail closed) always gates the fleet run
            lambda data: (
                is_incomplete(data)
                or bool(
                    settings.fail_on is not None
                    and gating_findings(data["findings"], settings.fail_on)
                )
            ),
            quiet,
        )
    context = contexts[0] if contexts else None
    baseline_source = baseline_file or ""
    if from_paths and not overlay:
        snapshot = load_paths(from_paths, jobs=jobs or None)
    else:
        # -n is the scope of the report, not of the read: mesh-wide facts and cross-namespace
        # references are read cluster-wide when permitted (auditor/scope.py)
        snapshot = _collect_live(
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
        # the live cluster alone (auditor/overlay.py)
        from auditor.overlay import apply_overlay

        changes = load_paths(from_paths, jobs=jobs or None)
        live = run_scan(snapshot, generated_at=_now(), scope=list(namespaces) or None)
        counts = apply_overlay(snapshot, changes)
        baseline = dict(live.data)
        baseline_source = (
            f"live cluster {snapshot.source.context} before the change "
            f"({counts.replaced} objects replaced, {counts.added} added)"
        )
    command = click.get_current_context().meta.get(ARGV_KEY)
    report = run_scan(
        snapshot,
        generated_at=_now(),
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
        click.echo(terminal.render(report.data, written, width=width, color=color), color=color)
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
    """Several contexts (auditor/fleet_scan.py): a folder each, a fleet summary, one exit code."""
    from dataclasses import replace

    from auditor.deliver.run import deliver
    from auditor.fleet_scan import (
        ContextRun,
        check_folders,
        exit_code,
        fleet_summary,
        folder_for,
        kubeconfig_contexts,
        scan_contexts,
    )
    from auditor.report import formats as fmt
    from auditor.report.fleet_render import terminal_lines

    chosen = contexts if contexts is not None else kubeconfig_contexts(kubeconfig)
    check_folders(chosen)
    say: Callable[[str], None] = lambda line: click.echo(line, err=True)  # noqa: E731

    def one(name: str) -> ContextRun:
        report = audit(name)
        written = fmt.render_all(report, names, out / folder_for(name))
        code = deliver(report.data, written, replace(delivery, cluster=name), say, quiet=quiet)
        return ContextRun(context=name, data=report.data, written=written, code=code)

    runs = scan_contexts(chosen, one, parallel)
    fleet, written = fleet_summary(runs, out, names, _now())
    if not quiet:
        click.echo("\n".join(terminal_lines(fleet)))
        click.echo("Wrote " + ", ".join(str(p) for p in written))
    sys.exit(exit_code(runs, gate))


@main.command("fleet")
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
    type=click.FloatRange(min=0),
    default=48.0,
    show_default=True,
    metavar="HOURS",
    help="A cluster whose newest report is older than this is stale.",
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
    """One report over many clusters from report files, folders or an s3:// prefix of uploads."""
    from auditor.fleet import load_sources
    from auditor.report.fleet_model import build_fleet
    from auditor.report.fleet_render import parse_fleet_formats, terminal_lines, write_fleet

    names = parse_fleet_formats(formats)
    data = build_fleet(load_sources(sources), generated_at=_now(), stale_hours=stale_after)
    written = write_fleet(data, names, Path(output_dir))
    if not quiet:
        click.echo("\n".join(terminal_lines(data)))
        click.echo("Wrote " + ", ".join(str(p) for p in written))
    sys.exit(EXIT_OK)


@main.command("diff")
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

    from auditor.atomic import write_atomic
    from auditor.baseline import diff_reports, load_report
    from auditor.completeness import is_incomplete, statement
    from auditor.report.terminal import render_diff

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


@main.command("snapshot")
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
    from auditor.collect.snapshot_file import document_for, write_snapshot
    from auditor.completeness import assess, is_incomplete, statement

    _check_namespaces(namespaces, all_namespaces)
    snapshot = _collect_live(
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


@main.command()
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
    from auditor.compliance import load_frameworks
    from auditor.report import formats as fmt
    from auditor.report.load import load_report
    from auditor.scan import post_process

    names = fmt.parse_formats(formats)
    frameworks = load_frameworks(framework_names, framework_files)
    report = post_process(load_report(Path(report_json)), frameworks=frameworks)
    written = fmt.render_all(report, names, Path(output_dir))
    if not quiet:
        for path in written:
            click.echo(f"Wrote {path}")


@main.command("checks")
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


@main.command("frameworks")
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
    from auditor.compliance import builtin_names, framework_table, load_builtin

    click.echo(framework_table([load_builtin(n) for n in builtin_names()], output))


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

"""Shared by the commands: option groups, parameter types, the error wrapper, the live read."""

from __future__ import annotations

import datetime as dt
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from auditor.base.errors import AuditError, InputError
from auditor.base.model import Severity
from auditor.base.redact import redact_text
from auditor.input.cluster.transport import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_PAGES

if TYPE_CHECKING:
    from auditor.base.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])
ARGV_KEY = "mesh_audit.argv"
LIMITS_KEY = "mesh_audit.limits"


# The commands call `options._now()` and `options._collect_live(...)` through this module, so
# that a test replaces the clock or the live read in one place (monkeypatch on this module).
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

    def __init__(self, minimum: float, maximum: float = 7 * 86400.0) -> None:
        self.minimum = minimum
        self.maximum = maximum  # beyond it a timer or a date would overflow: a usage error

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from auditor.base.durations import parse_duration

        if isinstance(value, int | float):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if seconds < self.minimum:
            self.fail(f"{value!r} is shorter than {self.minimum:g}s", param, ctx)
        if seconds > self.maximum:
            self.fail(f"{value!r} is longer than {self.maximum:g}s", param, ctx)
        return seconds


def _limit(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """Collection limits go to ctx.meta (read once in the main thread by `_limits`)."""
    ctx.meta.setdefault(LIMITS_KEY, {})[str(param.name)] = value
    return value


def _limits() -> dict[str, int]:
    return dict(click.get_current_context().meta.get(LIMITS_KEY) or {})


def _apply(options: list[Callable[[Any], Any]], fn: F) -> F:
    """Apply option decorators so that --help lists them in the order given."""
    for option in reversed(options):
        fn = option(fn)
    return fn


def context_options(fn: F) -> F:
    """Which cluster is read: context, kubeconfig, or the pod's service account."""
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
    ]
    return _apply(options, fn)


def namespace_options(fn: F) -> F:
    """The namespaces a live read (snapshot) or a report (scan) covers."""
    options = [
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
    ]
    return _apply(options, fn)


def api_limit_options(fn: F) -> F:
    """Time and size bounds of a live read."""
    options = [
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
            help="Whole collection, slow answers included: 10m, 90s, 1h (bare number: seconds); "
            "with --prometheus, also all Prometheus queries together.",
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
    return _apply(options, fn)


def cluster_options(fn: F) -> F:
    """Options that choose and bound a live cluster read (scan and snapshot share them)."""
    return context_options(namespace_options(api_limit_options(fn)))


def _check_namespaces(namespaces: tuple[str, ...], all_namespaces: bool) -> None:
    """Usage errors before anything is read: -A with -n, or a -n value that is no namespace name
    (it reaches request paths and the scope, so it must be a DNS-1123 label)."""
    from auditor.input.cluster.names import check_namespaces

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
    from auditor.input.cluster.lists import CollectOptions
    from auditor.input.cluster.live import LiveOptions, collect
    from auditor.input.cluster.names import check_namespaces

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


def summary_level(severity: Severity | None, all_findings: bool) -> Severity:
    """The lowest severity the terminal summary lists: --all, --severity, else medium."""
    if all_findings and severity is not None:
        raise click.UsageError("give --severity LEVEL or --all, not both")
    if all_findings:
        return Severity.INFO
    return severity if severity is not None else Severity.MEDIUM


def partial_options(fn: F) -> F:
    """The --fail-on-partial gate (checked at delivery: auditor/run/deliver/)."""
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
    ]
    return _apply(options, fn)


def upload_options(fn: F) -> F:
    """Where a finished report goes (auditor/run/deliver/): S3 and a webhook."""
    options = [
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
    return _apply(options, fn)


def delivery_options(fn: F) -> F:
    """Where a finished report goes, and the --fail-on-partial gate."""
    return partial_options(upload_options(fn))


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
    from auditor.run.deliver.deliver import Delivery
    from auditor.run.deliver.notify import check_url
    from auditor.run.deliver.upload import parse_target, require_client_library
    from auditor.run.partial import parse_kinds

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

"""The `scan` options that ask Prometheus (`--prometheus URL`, `--since 7d`, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from auditor.base.durations import parse_duration
from auditor.base.errors import InputError
from auditor.input.prometheus.client import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, PrometheusSettings

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SINCE = "7d"
MAX_SINCE = 10 * 365 * 86400.0  # ten years: beyond any retention, and still a printable date


@dataclass(frozen=True, slots=True, kw_only=True)
class ObserveRequest:
    settings: PrometheusSettings
    since: str  # as the user wrote it, e.g. 7d
    window_seconds: float


def telemetry_options(fn: F) -> F:
    options = [
        click.option(
            "--prometheus",
            "prometheus_url",
            default=None,
            metavar="URL",
            help="Prometheus that scrapes the mesh (e.g. http://prometheus.istio-system:9090): "
            "add observed egress from Istio's standard metrics. Read-only; never fails the scan.",
        ),
        click.option(
            "--since",
            "since",
            default=DEFAULT_SINCE,
            show_default=True,
            metavar="DURATION",
            help="With --prometheus: the window of observed traffic, ending now (7d, 12h, 1d12h).",
        ),
        click.option(
            "--prometheus-token-file",
            default=None,
            metavar="FILE",
            help="With --prometheus: a file holding a bearer token to send.",
        ),
        click.option(
            "--prometheus-ca-file",
            default=None,
            metavar="FILE",
            help="With --prometheus: CA bundle (PEM) to verify an https:// Prometheus.",
        ),
        click.option(
            "--prometheus-insecure-skip-verify",
            is_flag=True,
            help="With --prometheus: do not verify the server certificate of an https:// URL.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def observe_request(
    prometheus_url: str | None,
    since: str,
    prometheus_token_file: str | None,
    prometheus_ca_file: str | None,
    prometheus_insecure_skip_verify: bool,
    deadline: float = DEFAULT_DEADLINE,
) -> ObserveRequest | None:
    """The request the options describe; a usage error (exit 2) for a bad value."""
    if prometheus_url is None:
        given = [
            name
            for name, value in (
                ("--prometheus-token-file", prometheus_token_file),
                ("--prometheus-ca-file", prometheus_ca_file),
                ("--prometheus-insecure-skip-verify", prometheus_insecure_skip_verify),
            )
            if value
        ]
        if given:
            raise InputError(f"{given[0]} needs --prometheus URL")
        return None
    try:
        seconds = parse_duration(since, days=True)
    except ValueError as exc:
        raise InputError(f"--since: {exc}") from None
    if seconds < 60:
        raise InputError(f"--since {since!r} is shorter than 1m")
    if seconds > MAX_SINCE:
        raise InputError(f"--since {since!r} is longer than 10 years (3650d)")
    settings = PrometheusSettings(
        url=prometheus_url.strip(),
        bearer_token_file=prometheus_token_file,
        ca_file=prometheus_ca_file,
        insecure_skip_verify=prometheus_insecure_skip_verify,
        timeout=min(DEFAULT_TIMEOUT, deadline),
        deadline=deadline,
    )
    problem = settings.validate()
    if problem is not None:
        raise InputError(problem)
    return ObserveRequest(settings=settings, since=since.strip(), window_seconds=seconds)

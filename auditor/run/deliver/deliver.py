"""After a scan's files are written: upload, notify, and the --fail-on-partial gate.

The CLI calls `deliver` with the report and the files it wrote; this returns the exit code the
delivery asks for (None: leave the scan's own) and reports through `say` (one line each).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.base.errors import EXIT_PARTIAL, EXIT_UPLOAD
from auditor.base.outbound import show_origin
from auditor.base.redact import redact_text
from auditor.run.deliver import notify
from auditor.run.deliver.summary import cluster_name, summarize
from auditor.run.deliver.upload import (
    INDEX,
    LATEST_POINTER,
    Target,
    Uploaded,
    UploadError,
    upload_run,
)
from auditor.run.partial import unread_kinds


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    upload: Target | None = None
    cluster: str | None = None  # --cluster-name; default: the context
    notify_url: str | None = None
    notify_format: str = "slack"
    report_base_url: str | None = None  # https base that serves the bucket (for the link)
    fail_on_partial: bool = False
    partial_ok: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.upload or self.notify_url or self.fail_on_partial)


def _link(delivery: Delivery, uploaded: Uploaded | None) -> str | None:
    if uploaded is None:
        return None
    if delivery.report_base_url and uploaded.html_key:
        return delivery.report_base_url.rstrip("/") + "/" + uploaded.html_key
    if uploaded.html_key and delivery.upload is not None:
        return f"s3://{delivery.upload.bucket}/{uploaded.html_key}"
    return uploaded.run_url


def deliver(
    data: Mapping[str, Any],
    written: Sequence[Path],
    delivery: Delivery,
    say: Callable[[str], None],
    *,
    quiet: bool = False,
) -> int | None:
    cluster = cluster_name(data, delivery.cluster)
    summary = summarize(data, cluster)
    code: int | None = None
    uploaded: Uploaded | None = None
    if delivery.upload is not None:
        entry = {k: v for k, v in summary.items() if k not in ("cluster", "new_findings")}
        try:
            uploaded = upload_run(
                delivery.upload,
                cluster,
                str(data["generated_at"]),
                written,
                entry,
                complete=bool(summary["complete"]),
            )
        except UploadError as exc:
            where = written[0].parent if written else "the output directory"
            say(f"mesh-audit: error: {exc}; the report files are kept in {where}")
            code = EXIT_UPLOAD
        else:
            if not summary["complete"]:
                # fail closed: the run is kept for inspection, but nothing points at it
                say(
                    f"Uploaded {len(written)} report files to {uploaded.run_url}; the audit is "
                    f"incomplete, so {LATEST_POINTER} and {INDEX} were left as they were"
                )
            elif not quiet:
                say(
                    f"Uploaded {len(written)} report files to {uploaded.run_url} "
                    f"({LATEST_POINTER} names it)"
                )
    if delivery.notify_url is not None:
        _notify(delivery, summary, uploaded, say)
    if delivery.fail_on_partial:
        unread = unread_kinds(data, delivery.partial_ok)
        for item in unread:
            say(f"mesh-audit: partial audit: not read: {notify_text(item.line())}")
        if unread and code is None:
            code = EXIT_PARTIAL
    return code


def _notify(
    delivery: Delivery,
    summary: Mapping[str, Any],
    uploaded: Uploaded | None,
    say: Callable[[str], None],
) -> None:
    """One warning line when the webhook fails, whatever failed: never the exit code."""
    assert delivery.notify_url is not None
    try:
        body = notify.payload(delivery.notify_format, summary, _link(delivery, uploaded))
        outcome = notify.post(delivery.notify_url, body, backoff=notify.BACKOFF)
    except Exception as exc:  # a webhook never costs the run its exit code
        outcome = notify.Outcome(False, 1, f"{type(exc).__name__}")
    if not outcome.ok:
        say(
            f"mesh-audit: warning: webhook notification to {show_origin(delivery.notify_url)} "
            f"failed after {outcome.attempts} "
            f"attempts ({notify_text(redact_text(outcome.detail))}); the report is unaffected"
        )


def notify_text(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:300]

"""`--notify URL`: post a run's summary to a webhook (Slack-compatible or generic JSON).

It runs after the report files are written (and uploaded): a webhook that is down costs a few
bounded retries and a warning line, never the report, and never changes the exit code. The POST
goes through the outbound HTTP layer (auditor/base/outbound.py) with redirects refused (OWASP's
SSRF guidance: a webhook URL is never a way to reach somewhere else), a per-read timeout and one
deadline over every attempt. The URL's path is a secret (Slack's webhook URLs are): messages
name only its scheme, host and port (`show_origin`).

Resource names in the summary are tenant-written: in the Slack form `&`, `<` and `>` are escaped
(Slack's own rule, which also stops `<!channel>` mentions and `<url|label>` links from being
injected), control characters are dropped and every piece is capped in length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from auditor import __version__
from auditor.base.errors import InputError
from auditor.base.outbound import Limits, OutboundError, parse_url
from auditor.base.outbound import request as send_request
from auditor.base.text import resource_text

FORMATS = ("slack", "json")
TIMEOUT = 10.0
DEADLINE = 60.0  # every attempt and wait together
MAX_ANSWER = 64 * 1024  # headers only are read: the status is the answer
ATTEMPTS = 4
BACKOFF = 1.0  # seconds before the 2nd attempt; doubles each time (1, 2, 4)
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    attempts: int
    detail: str  # HTTP status or the last error


def check_url(url: str) -> str:
    """A usage error (exit 2, one line) for anything but an http(s) URL with a host and port;
    the line never shows the URL's path (the webhook's secret)."""
    try:
        parse_url(url, "--notify")
    except OutboundError as exc:
        raise InputError(exc.reason) from None
    return url


def _clean(text: object, limit: int = 200) -> str:
    s = "".join(ch for ch in str(text) if ch.isprintable())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _slack_escape(text: object, limit: int = 200) -> str:
    s = _clean(text, limit)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def generic_payload(summary: Mapping[str, Any], link: str | None) -> dict[str, Any]:
    return {
        "kind": "MeshAuditSummary",
        "tool": {"name": "mesh-audit", "version": __version__},
        **{k: v for k, v in summary.items()},
        "report_url": link,
    }


def slack_payload(summary: Mapping[str, Any], link: str | None) -> dict[str, Any]:
    counts = summary.get("by_severity") or {}
    sev = ", ".join(f"{counts[s]} {s}" for s in SEVERITY_ORDER if counts.get(s))
    if summary.get("incomplete"):
        # fail closed: an incomplete audit has no score to show, only why it is not an answer
        head = (
            f"mesh-audit {_slack_escape(summary['cluster'], 100)}: AUDIT INCOMPLETE (fail closed): "
            f"{_slack_escape(summary['incomplete'], 300)}"
        )
    else:
        head = (
            f"mesh-audit {_slack_escape(summary['cluster'], 100)}: score {summary['score']} "
            f"(grade {summary['grade']}), {summary['findings']} findings"
            + (f" ({sev})" if sev else "")
        )
    lines = [f"*{head}*"]
    if summary.get("baseline"):
        lines.append(f"New since the previous audit: {summary['new']}")
        for f in summary.get("new_findings") or []:
            where = resource_text(f["resource"]) if isinstance(f.get("resource"), dict) else ""
            lines.append(
                f"• [{_slack_escape(f.get('severity'), 10)}] {_slack_escape(f.get('check'), 12)} "
                f"{_slack_escape(f.get('title'), 120)}: {_slack_escape(where, 160)}"
            )
        if summary["new"] > len(summary.get("new_findings") or []):
            lines.append(f"… and {summary['new'] - len(summary['new_findings'])} more")
    if summary.get("unread"):
        kinds = ", ".join(_slack_escape(k, 60) for k in summary["unread"])
        lines.append(f":warning: Partial audit, not read: {kinds}")
    if link:
        # the link is ours (upload target or --report-base-url), not tenant text
        lines.append(f"Report: <{_clean(link, 500)}>")
    text = "\n".join(lines)
    return {
        "text": head,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
    }


def payload(form: str, summary: Mapping[str, Any], link: str | None) -> dict[str, Any]:
    return slack_payload(summary, link) if form == "slack" else generic_payload(summary, link)


def post(
    url: str,
    body: Mapping[str, Any],
    *,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    timeout: float = TIMEOUT,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """POST JSON; retry on connection errors, 429 and 5xx with doubling waits, all within
    `deadline`; never raise (every failure is the Outcome's one-line detail)."""
    data = orjson.dumps(body)
    deadline = DEADLINE if deadline is None else deadline
    until = clock() + deadline
    limits = Limits(max_body=MAX_ANSWER, read_timeout=timeout, until=until, max_redirects=0)
    headers = {"Content-Type": "application/json", "User-Agent": f"mesh-audit/{__version__}"}
    detail = ""
    for attempt in range(1, attempts + 1):
        try:
            resp = send_request(
                "POST", url, limits=limits, headers=headers, body=data, clock=clock, read_body=False
            )
        except OutboundError as exc:
            detail = exc.reason
            if exc.kind in ("usage", "redirect", "deadline"):
                return Outcome(False, attempt, detail)  # none of these gets better
        else:
            if 200 <= resp.status < 300:
                return Outcome(True, attempt, f"HTTP {resp.status}")
            detail = f"HTTP {resp.status}"
            if resp.status != 429 and resp.status < 500:
                return Outcome(False, attempt, detail)  # a 4xx will not get better
        wait = backoff * 2 ** (attempt - 1)
        if attempt < attempts:
            if clock() + wait >= until:
                return Outcome(False, attempt, f"{detail}; the {deadline:g}s deadline passed")
            sleep(wait)
    return Outcome(False, attempts, detail)

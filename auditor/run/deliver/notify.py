"""`--notify URL`: post a run's summary to a webhook (Slack-compatible or generic JSON).

It runs after the report files are written (and uploaded): a webhook that is down costs a few
bounded retries and a warning line, never the report, and never changes the exit code.

Resource names in the summary are tenant-written: in the Slack form `&`, `<` and `>` are escaped
(Slack's own rule, which also stops `<!channel>` mentions and `<url|label>` links from being
injected), control characters are dropped and every piece is capped in length.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from auditor import __version__
from auditor.base.errors import InputError
from auditor.base.text import resource_text

FORMATS = ("slack", "json")
TIMEOUT = 10.0
ATTEMPTS = 4
BACKOFF = 1.0  # seconds before the 2nd attempt; doubles each time (1, 2, 4)
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    attempts: int
    detail: str  # HTTP status or the last error


def check_url(url: str) -> str:
    scheme = url.partition("://")[0].lower()
    if scheme not in ("http", "https") or "://" not in url:
        raise InputError("--notify: the webhook must be an http:// or https:// URL")
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
    head = (
        f"mesh-audit {_slack_escape(summary['cluster'], 100)}: score {summary['score']} "
        f"(grade {summary['grade']}), {summary['findings']} findings" + (f" ({sev})" if sev else "")
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
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """POST JSON; retry on connection errors, 429 and 5xx with doubling waits; never raise."""
    data = orjson.dumps(body)
    detail = ""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"mesh-audit/{__version__}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return Outcome(True, attempt, f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code}"
            if exc.code != 429 and exc.code < 500:
                return Outcome(False, attempt, detail)  # a 4xx will not get better
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            detail = _clean(reason, 200)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return Outcome(False, attempts, detail)

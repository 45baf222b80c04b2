"""`--upload s3://bucket/prefix`: put a finished run's report files into object storage.

Layout, per cluster (one writer each: a CronJob per cluster with concurrencyPolicy Forbid):

    <prefix>/<cluster>/<UTC timestamp>/report.<ext>   this run, never overwritten
    <prefix>/<cluster>/latest.json                    names the newest complete run's folder
    <prefix>/<cluster>/index.json                     complete runs, newest first, with the
                                                      report's own score and counts

The client is boto3 with its standard configuration chain, so the endpoint (`AWS_ENDPOINT_URL`
or `AWS_ENDPOINT_URL_S3` for S3-compatible stores), region and credentials (environment, shared
files, web identity / IRSA, EKS Pod Identity, instance metadata) come from where AWS tools read
them. Nothing here is AWS-only: the same calls speak to any S3-compatible server.

The run's folder is written first; then one small object, `latest.json`, names it: a single
PUT is atomic, so "latest" switches from one run to the next in one step and a reader never sees
files of two runs (a `latest/` folder of copies, as versions before 0.x wrote, could not switch
in one step; `mesh-audit fleet` still reads one when no `latest.json` exists). The index comes
last. An incomplete audit (fail closed) is uploaded into its own folder only: `latest.json` and
the index are left as they were, so it never stands for the cluster's state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from auditor.base.errors import EXIT_UPLOAD, AuditError, InputError

INDEX = "index.json"
LATEST = "latest"  # the folder of copies older versions wrote (read by fleet, never written)
LATEST_POINTER = "latest.json"
POINTER_KIND = "MeshAuditLatest"
INDEX_KEEP = 1000
MAX_INDEX_BYTES = 64 << 20
CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".sarif": "application/sarif+json",
    ".xml": "application/xml",
    ".csv": "text/csv; charset=utf-8",
}
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class UploadError(AuditError):
    """The report files were written locally but could not be uploaded."""

    exit_code = EXIT_UPLOAD


@dataclass(frozen=True, slots=True)
class Target:
    bucket: str
    prefix: str  # no leading or trailing slash; may be empty

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def url(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"


def parse_target(url: str) -> Target:
    """`s3://bucket[/prefix]`; anything else is an input error (exit 2) before any collection."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "s3":
        raise InputError(
            f"--upload {url}: only s3://bucket/prefix is supported (S3-compatible stores, "
            "including GCS's S3 interoperability endpoint, through AWS_ENDPOINT_URL)"
        )
    bucket, _, prefix = rest.partition("/")
    if not BUCKET.match(bucket):
        raise InputError(f"--upload {url}: {bucket!r} is not a valid bucket name")
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise InputError(f"--upload {url}: the prefix has an empty, '.' or '..' segment")
    return Target(bucket, prefix)


def require_client_library() -> None:
    """Fail before collecting when boto3 is missing (the `upload` extra)."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise InputError("--upload needs boto3: pip install 'mesh-audit[upload]'") from None


def stamp_of(generated_at: str) -> str:
    """`2026-11-29T01:02:03Z` -> `20261129T010203Z` (the folder name the CronJob uses too)."""
    return re.sub(r"[-:]", "", generated_at).replace("+0000", "Z")


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    # Bounded: a dead endpoint costs tens of seconds, not the Job's whole deadline. Path-style
    # addressing when asked (most self-hosted S3-compatible servers want it).
    s3_options: dict[str, str] = {}
    style = os.environ.get("MESH_AUDIT_S3_ADDRESSING_STYLE")
    if style:
        s3_options["addressing_style"] = style
    config = Config(
        connect_timeout=10,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        s3=s3_options or None,
    )
    return boto3.session.Session().client("s3", config=config)


@dataclass(frozen=True, slots=True)
class Uploaded:
    run_url: str  # s3://bucket/prefix/cluster/stamp/
    keys: tuple[str, ...]
    html_key: str | None


def upload_run(
    target: Target,
    cluster: str,
    generated_at: str,
    files: Sequence[Path],
    entry: Mapping[str, Any],
    client: Any | None = None,
    *,
    complete: bool = True,
) -> Uploaded:
    """Upload one run's files; when the audit is complete, point latest.json at them and add
    the run to the cluster's index. UploadError on failure."""
    try:
        return _upload(target, cluster, stamp_of(generated_at), files, entry, client, complete)
    except UploadError:
        raise
    except Exception as exc:  # botocore raises many types; each becomes one line
        raise UploadError(f"upload to {target.url(cluster)} failed: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error") or {}
        code, message = err.get("Code"), err.get("Message")
        if code:
            return f"{code}: {message}" if message else str(code)
    return " ".join(str(exc).split()) or type(exc).__name__


def _upload(
    target: Target,
    cluster: str,
    stamp: str,
    files: Sequence[Path],
    entry: Mapping[str, Any],
    client: Any | None,
    complete: bool,
) -> Uploaded:
    s3 = client if client is not None else s3_client()
    ordered = sorted(files, key=lambda p: p.name)
    keys: list[str] = []
    for path in ordered:
        key = target.key(cluster, stamp, path.name)
        _put(s3, target.bucket, key, path.read_bytes(), path.suffix)
        keys.append(key)
    html = next((p.name for p in ordered if p.suffix == ".html"), None)
    uploaded = Uploaded(
        run_url=target.url(cluster, stamp) + "/",
        keys=tuple(keys),
        html_key=target.key(cluster, stamp, html) if html else None,
    )
    if not complete:
        return uploaded
    pointer = {
        "kind": POINTER_KIND,
        "cluster": cluster,
        "run": stamp,
        "files": [p.name for p in ordered],
        "generated_at": entry.get("generated_at"),
        "score": entry.get("score"),
        "grade": entry.get("grade"),
    }
    pointer_key = target.key(cluster, LATEST_POINTER)
    _put(s3, target.bucket, pointer_key, orjson.dumps(pointer, option=orjson.OPT_INDENT_2), ".json")
    keys.append(pointer_key)
    index_key = target.key(cluster, INDEX)
    index = _read_index(s3, target.bucket, index_key, cluster)
    run = {"timestamp": stamp, "files": [p.name for p in ordered], **entry}
    runs = [r for r in index["runs"] if r.get("timestamp") != stamp]
    index["runs"] = [run, *runs][:INDEX_KEEP]
    body = orjson.dumps(index, option=orjson.OPT_INDENT_2) + b"\n"
    _put(s3, target.bucket, index_key, body, ".json")
    keys.append(index_key)
    return Uploaded(run_url=uploaded.run_url, keys=tuple(keys), html_key=uploaded.html_key)


def _put(s3: Any, bucket: str, key: str, body: bytes, suffix: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=CONTENT_TYPES.get(suffix, "application/octet-stream"),
    )


def _read_index(s3: Any, bucket: str, key: str, cluster: str) -> dict[str, Any]:
    fresh: dict[str, Any] = {"kind": "MeshAuditIndex", "cluster": cluster, "runs": []}
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_INDEX_BYTES + 1)
    except Exception as exc:
        code = ((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code")
        if code in ("NoSuchKey", "404", "NotFound"):
            return fresh
        raise
    if len(body) > MAX_INDEX_BYTES:
        # 1000 runs take well under 1 MiB: a larger index is not ours to rewrite
        raise UploadError(
            f"s3://{bucket}/{key} is larger than {MAX_INDEX_BYTES} bytes; not updated"
        )
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return fresh  # a damaged index is rebuilt from this run on; the runs themselves stay
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        return fresh
    doc["runs"] = [r for r in doc["runs"] if isinstance(r, dict)]
    return doc

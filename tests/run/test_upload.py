"""`--upload s3://...` against a real S3-compatible server process on loopback (moto's), through
the same boto3 client code the CronJob uses, over HTTP; objects are read back byte for byte."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from auditor.base.errors import InputError
from auditor.run.deliver.upload import parse_target, stamp_of
from tests.pipeline_helpers import AFTER, BEFORE, run_cli
from tests.s3.fixture import BUCKET, S3Server

FIRST = "2026-11-25T03:17:00Z"
SECOND = "2026-11-26T03:17:00Z"
FORMATS = "json,html,csv,sarif"
FILES = ["report.csv", "report.html", "report.json", "report.sarif"]


def objects(server: S3Server, prefix: str = "") -> dict[str, bytes]:
    client = server.client()
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents") or []
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def upload_scan(
    monkeypatch: pytest.MonkeyPatch, source: Path, out: Path, clock: str, *extra: str
) -> Any:
    return run_cli(
        [
            "scan",
            "--from",
            str(source),
            "--format",
            FORMATS,
            "--output-dir",
            str(out),
            "--upload",
            f"s3://{BUCKET}/audits",
            "--cluster-name",
            "prod-eu-1",
            *extra,
        ],
        monkeypatch,
        clock,
    )


def test_upload_writes_run_latest_and_index_byte_identical(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = upload_scan(monkeypatch, AFTER, tmp_path / "r1", FIRST)
    assert first.exit_code == 0, first.output
    assert first.stderr == (
        f"Uploaded 4 report files to s3://{BUCKET}/audits/prod-eu-1/20261125T031700Z/ "
        "(latest.json names it)\n"
    )
    stored = objects(s3)
    run1 = [f"audits/prod-eu-1/20261125T031700Z/{name}" for name in FILES]
    pointer, index_key = "audits/prod-eu-1/latest.json", "audits/prod-eu-1/index.json"
    assert sorted(stored) == sorted([*run1, pointer, index_key])
    for name in FILES:
        local = (tmp_path / "r1" / name).read_bytes()
        assert stored[f"audits/prod-eu-1/20261125T031700Z/{name}"] == local
    r1 = json.loads((tmp_path / "r1" / "report.json").read_text())
    # latest switches in one step: one small object names the run's folder
    assert json.loads(stored[pointer]) == {
        "kind": "MeshAuditLatest",
        "cluster": "prod-eu-1",
        "run": "20261125T031700Z",
        "files": FILES,
        "generated_at": FIRST,
        "score": r1["summary"]["score"],
        "grade": r1["summary"]["grade"],
    }
    head = s3.client().head_object(Bucket=BUCKET, Key=run1[1])
    assert head["ContentType"] == "text/html; charset=utf-8"

    # a second run (the mesh with more problems), compared with the first: the index lists
    # both, newest first
    second = upload_scan(
        monkeypatch,
        BEFORE,
        tmp_path / "r2",
        SECOND,
        "--baseline",
        str(tmp_path / "r1" / "report.json"),
    )
    assert second.exit_code == 0, second.output
    stored = objects(s3)
    for name in FILES:
        local = (tmp_path / "r2" / name).read_bytes()
        assert stored[f"audits/prod-eu-1/20261126T031700Z/{name}"] == local
    assert json.loads(stored[pointer])["run"] == "20261126T031700Z"
    assert not [key for key in stored if "/latest/" in key]
    # the first run's objects are untouched
    assert stored[run1[2]] == (tmp_path / "r1" / "report.json").read_bytes()
    index = json.loads(stored["audits/prod-eu-1/index.json"])
    r2 = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert index["kind"] == "MeshAuditIndex" and index["cluster"] == "prod-eu-1"
    assert [r["timestamp"] for r in index["runs"]] == ["20261126T031700Z", "20261125T031700Z"]
    newest, oldest = index["runs"]
    assert newest == {
        "timestamp": "20261126T031700Z",
        "files": FILES,
        "generated_at": SECOND,
        "complete": True,
        "incomplete": None,
        # one score: the report's own (exposure and coverage included), never recomputed
        "score": r2["summary"]["score"],
        "grade": r2["summary"]["grade"],
        "findings": r2["summary"]["total"],
        "by_severity": r2["summary"]["by_severity"],
        "kinds_read": r2["summary"]["coverage"]["kinds_read"],
        "kinds_total": r2["summary"]["coverage"]["kinds_total"],
        "unread": [],
        "baseline": True,
        "new": 3,  # the findings of BEFORE that AFTER had fixed (counted below)
    }
    assert sum(f.get("baseline_status") == "new" for f in r2["findings"]) == 3
    assert (oldest["baseline"], oldest["new"]) == (False, 0)
    assert (oldest["score"], oldest["grade"]) == (r1["summary"]["score"], r1["summary"]["grade"])


def test_failed_upload_keeps_local_files_and_exits_6(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
    result = upload_scan(monkeypatch, BEFORE, tmp_path / "out", FIRST)
    assert result.exit_code == 6
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"mesh-audit: error: upload to s3://{BUCKET}/audits/prod-eu-1 failed: "
        f'Could not connect to the endpoint URL: "http://127.0.0.1:{dead}/'
    )
    assert line.endswith(f"; the report files are kept in {tmp_path / 'out'}")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == FILES
    assert objects(s3) == {}


def test_upload_to_a_missing_bucket_exits_6(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(
        [
            "scan",
            "--from",
            str(BEFORE),
            "--output-dir",
            str(tmp_path / "out"),
            "--upload",
            "s3://no-such-bucket/x",
            "--cluster-name",
            "c1",
        ],
        monkeypatch,
        FIRST,
    )
    assert result.exit_code == 6
    assert result.stderr.splitlines() == [
        "mesh-audit: error: upload to s3://no-such-bucket/x/c1 failed: NoSuchBucket: The "
        f"specified bucket does not exist; the report files are kept in {tmp_path / 'out'}"
    ]
    assert (tmp_path / "out" / "report.json").is_file()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("gs://bucket/x", "only s3://bucket/prefix is supported"),
        ("s3://Bad_Bucket/x", "'Bad_Bucket' is not a valid bucket name"),
        ("s3://bucket/a/../b", "the prefix has an empty, '.' or '..' segment"),
    ],
)
def test_bad_upload_url_is_an_input_error(
    url: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match=problem.replace(".", r"\.").replace("'", "'")):
        parse_target(url)
    result = run_cli(
        ["scan", "--from", str(BEFORE), "--output-dir", str(tmp_path / "o"), "--upload", url],
        monkeypatch,
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and problem in result.stderr
    assert not (tmp_path / "o").exists()  # rejected before anything ran


def test_target_keys_and_stamp() -> None:
    target = parse_target("s3://reports/a/b/")
    assert (target.bucket, target.prefix) == ("reports", "a/b")
    assert target.key("c", "latest", "report.json") == "a/b/c/latest/report.json"
    assert parse_target("s3://reports").key("c", "index.json") == "c/index.json"
    assert stamp_of("2026-11-25T03:17:00Z") == "20261125T031700Z"


def test_an_oversized_index_is_not_rewritten(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.run.deliver import upload

    assert upload_scan(monkeypatch, AFTER, tmp_path / "r1", FIRST).exit_code == 0
    index_key = "audits/prod-eu-1/index.json"
    before = objects(s3)[index_key]
    monkeypatch.setattr(upload, "MAX_INDEX_BYTES", len(before) - 1)
    second = upload_scan(monkeypatch, AFTER, tmp_path / "r2", SECOND)
    assert second.exit_code == 6
    assert second.stderr.splitlines() == [
        f"mesh-audit: error: s3://{BUCKET}/{index_key} is larger than {len(before) - 1} bytes; "
        f"not updated; the report files are kept in {tmp_path / 'r2'}"
    ]
    assert objects(s3)[index_key] == before

"""Incomplete stays incomplete (#28): an audit that failed closed (exit 4) against the loopback
Kubernetes API server is uploaded to the loopback S3-compatible server (moto's) only into its own
folder: `latest.json` and `index.json` stay byte for byte as the last complete run left them; the
webhook says "incomplete" with the reason and no score; `fleet` over the same reports shows it as
incomplete; and a multi-context run with an incomplete context exits 4 by the documented
precedence."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor import cli
from auditor.base.errors import PRECEDENCE, worst
from auditor.cli import options as cli_options
from auditor.run.fleet.scan import ContextRun, exit_code
from tests.hostile_http import peer, send
from tests.kubeapi import FakeKubeAPI
from tests.live_support import load_demo
from tests.run.test_fleet import row, validate_fleet
from tests.s3.fixture import BUCKET, S3Server

COMPLETE = "2026-11-25T03:17:00Z"
INCOMPLETE = "2026-11-26T03:17:00Z"
PREFIX = "audits/prod"
RUN2 = f"{PREFIX}/20261126T031700Z"


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, clock: str) -> Result:
    monkeypatch.setattr(cli_options, "_now", lambda: clock)
    return CliRunner().invoke(cli.main, args, catch_exceptions=False)


def objects(server: S3Server) -> dict[str, bytes]:
    client = server.client()
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents") or []
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def test_an_incomplete_audit_never_becomes_latest_nor_scored(
    kube_api_factory: Callable[..., FakeKubeAPI],
    s3: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = load_demo(kube_api_factory())
    kc = api.write_kubeconfig(tmp_path / "kubeconfig", {"prod": "live"})
    args = ["scan", "--kubeconfig", str(kc), "--context", "prod", "--format", "json,html"]
    args += ["--no-progress", "--upload", f"s3://{BUCKET}/audits", "--cluster-name", "prod"]
    args += ["--request-timeout", "2", "--deadline", "20", "--max-retries", "0"]
    first = invoke([*args, "--output-dir", str(tmp_path / "r1")], monkeypatch, COMPLETE)
    assert first.exit_code == 0, first.output
    before = objects(s3)
    pointer, index = f"{PREFIX}/latest.json", f"{PREFIX}/index.json"
    assert json.loads(before[pointer])["run"] == "20261125T031700Z"

    api.forbid("secrets")
    api.forbid("services")
    hook = lambda h: send(h, 200, b"ok", "text/plain")  # noqa: E731
    with peer(hook) as webhook:
        second = invoke(
            [
                *args,
                "--output-dir",
                str(tmp_path / "r2"),
                "--min-coverage",
                "0.99",
                "--notify",
                webhook.url + "/hook",
                "--notify-format",
                "json",
            ],
            monkeypatch,
            INCOMPLETE,
        )
    assert second.exit_code == 4, second.output
    after = objects(s3)
    # the pointer and the index are exactly as the complete run left them
    assert after[pointer] == before[pointer]
    assert after[index] == before[index]
    # the incomplete run is kept in its own folder, for whoever wants to see what was missed
    assert sorted(k for k in after if k not in before) == [
        f"{RUN2}/report.html",
        f"{RUN2}/report.json",
    ]
    report = json.loads((tmp_path / "r2" / "report.json").read_text())
    reasons = "; ".join(report["audit"]["reasons"])
    assert report["audit"]["complete"] is False and reasons
    assert second.stderr.splitlines() == [
        f"Uploaded 2 report files to s3://{BUCKET}/{RUN2}/; the audit is incomplete, so "
        "latest.json and index.json were left as they were",
        f"mesh-audit: audit incomplete (fail closed): {reasons}",
    ]
    [body] = [json.loads(b) for b in webhook.bodies]
    assert {k: body[k] for k in ("complete", "incomplete", "score", "grade")} == {
        "complete": False,
        "incomplete": reasons,
        "score": None,
        "grade": None,
    }

    # fleet over both runs' local folders: the incomplete one is shown as such, unscored
    fleet_out = tmp_path / "fleet"
    result = invoke(
        ["fleet", str(tmp_path / "r2" / "report.json"), "--output-dir", str(fleet_out)],
        monkeypatch,
        INCOMPLETE,
    )
    assert result.exit_code == 0, result.output
    fleet = json.loads((fleet_out / "fleet.json").read_text())
    validate_fleet(fleet)
    [only] = fleet["clusters"]
    assert (only["complete"], only["incomplete"], only["score"], only["grade"]) == (
        False,
        reasons,
        None,
        None,
    )
    assert fleet["summary"]["incomplete"] == [only["cluster"]]
    assert (fleet["summary"]["lowest_score"], fleet["summary"]["mean_score"]) == (None, None)
    assert f"INCOMPLETE (fail closed, no score): {reasons}" in result.stdout
    html = (fleet_out / "fleet.html").read_text()
    assert "Audit incomplete (fail closed, not a pass): " in html
    assert row(fleet, only["cluster"])["score"] is None


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([0, 1, 5, 6, 4], 4),
        ([1, 4], 4),
        ([6, 4], 4),
        ([2, 4], 2),
        ([3, 2, 4], 3),
        ([5, 6], 6),
        ([1, 5], 5),
        ([0, 1], 1),
        ([0], 0),
    ],
)
def test_worst_exit_code_by_precedence(codes: list[int], expected: int) -> None:
    assert PRECEDENCE == (3, 2, 4, 6, 5, 1, 0)
    assert worst(codes) == expected


def test_multi_context_with_an_incomplete_context_exits_4() -> None:
    complete = {"audit": {"complete": True}, "findings": []}
    incomplete = {"audit": {"complete": False, "reasons": ["x"]}, "findings": []}
    gate_fires: Callable[[dict[str, object]], bool] = lambda data: True  # noqa: E731
    runs = [
        ContextRun(context="a", data=complete, code=6),
        ContextRun(context="b", data=incomplete),
        ContextRun(context="c", data=complete, code=5),
    ]
    assert exit_code(runs, gate_fires) == 4
    assert exit_code([runs[0], runs[2]], gate_fires) == 6
    assert exit_code([ContextRun(context="a", data=complete)], gate_fires) == 1
    dead = ContextRun(context="d", error="cannot reach", error_code=3)
    assert exit_code([*runs, dead], gate_fires) == 3

"""The progress line: shown only to a person at a terminal, never in CI or pipes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from auditor.base import progress as progress_mod
from auditor.base.progress import LineProgress, NoProgress, progress_enabled, progress_for
from auditor.input.cluster.live import LiveOptions, collect
from auditor.input.kinds import KINDS
from tests.kubeapi import FakeKubeAPI
from tests.live_support import kubeconfig, load_demo
from tests.pipeline_helpers import COMMON, run_cli


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("no_progress", "out_tty", "err_tty", "env", "enabled"),
    [
        (False, True, True, {}, True),
        (True, True, True, {}, False),  # --no-progress
        (False, True, True, {"CI": "true"}, False),
        (False, True, True, {"CI": "1"}, False),
        (False, True, True, {"CI": ""}, True),  # set but empty counts as unset
        (False, False, True, {}, False),  # stdout piped or redirected
        (False, True, False, {}, False),  # stderr redirected (CronJob logs)
    ],
)
def test_progress_enabled(
    no_progress: bool, out_tty: bool, err_tty: bool, env: dict[str, str], enabled: bool
) -> None:
    out = Tty() if out_tty else io.StringIO()
    err = Tty() if err_tty else io.StringIO()
    assert progress_enabled(no_progress=no_progress, stdout=out, stderr=err, environ=env) is enabled
    chosen = progress_for(no_progress=no_progress, stdout=out, stderr=err, environ=env)
    assert isinstance(chosen, LineProgress if enabled else NoProgress)


def test_line_progress_output(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([100.0, 100.0, 103.25])
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: next(ticks))
    err = Tty()
    line = LineProgress(err)
    line.start(3)
    line.kind_done("networking.istio.io/Gateway", count=41)
    line.kind_done("Secret", count=0, status="forbidden")
    line.kind_done("Service\x1b[2J", count=7)  # a kind name is printed as data
    line.finish()
    gateway = "[1/3] networking.istio.io/Gateway: 41 objects"
    secret = "[2/3] Secret: forbidden"
    assert err.getvalue() == (
        "\r[0/3] collecting ..."
        f"\r{gateway}"
        f"\r{secret}"
        + " " * (len(gateway) - len(secret))  # the longer previous line is blanked out
        + "\r[3/3] Service\\x1b[2J: 7 objects"  # ESC shown escaped (report/text.py: inert)
        + "\r[3/3] collected 48 objects in 3.2s"
        + "\n"
    )


def test_cli_accepts_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["scan", "--from", str(COMMON), "--no-progress", "-q"], monkeypatch)
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def start(self, total: int) -> None:
        self.calls.append(("start", str(total)))

    def kind_done(self, kind: str, *, count: int, status: str = "ok") -> None:
        self.calls.append((kind, str(count), status))

    def finish(self) -> None:
        self.calls.append(("finish",))


def test_live_collector_reports_each_kind_once(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    load_demo(kube_api)
    recorder = Recorder()
    options = LiveOptions(
        context="prod", kubeconfig=str(kubeconfig(kube_api, tmp_path)), in_cluster=False
    )
    result = collect(options, progress=recorder)
    calls = recorder.calls
    assert calls[0] == ("start", str(len(KINDS)))
    assert calls[-1] == ("finish",)
    done = calls[1:-1]
    assert sorted(c[0] for c in done) == sorted(k.key for k in KINDS)
    snapshot = result.snapshot
    for key, count, status in done:
        assert status == snapshot.status_of(key).status
        assert int(count) == snapshot.count(key), key

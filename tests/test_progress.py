"""The progress line: shown only to a person at a terminal, never in CI or pipes."""

from __future__ import annotations

import io

import pytest

from auditor import progress as progress_mod
from auditor.progress import LineProgress, NoProgress, progress_enabled, progress_for
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
        + "\r[3/3] Service?[2J: 7 objects"
        + "\r[3/3] collected 48 objects in 3.2s"
        + "\n"
    )


def test_cli_accepts_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["scan", "--from", str(COMMON), "--no-progress", "-q"], monkeypatch)
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""

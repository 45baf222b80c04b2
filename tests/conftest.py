"""Shared test options. `pytest --update-golden` rewrites golden files instead of comparing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

pytest_plugins = ["tests.kubeapi.fixture", "tests.s3.fixture"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Regenerate golden files under tests/golden/ (review the diff like code).",
    )


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per test run (PEP 517, isolated, as `python -m build`
    builds it for a release): tests/project/test_wheel.py installs it in a fresh environment,
    tests/report/test_report_wheel.py renders from its templates. One build, not one per test
    file: each costs seconds of CPU."""
    out = tmp_path_factory.mktemp("dist")
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(root)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("mesh_audit-*.whl")
    return whl


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """No silent skips: under the test command (MESH_AUDIT_REQUIRE_TOOLS, set by scripts/test.sh)
    a skipped test fails, with its reason, so a missing tool or a case that stopped applying is
    seen instead of counted as 'skipped'."""
    report = yield
    if (
        report.skipped
        and os.environ.get("MESH_AUDIT_REQUIRE_TOOLS")
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under MESH_AUDIT_REQUIRE_TOOLS (scripts/test.sh): {reason}"
    return report


@pytest.fixture(autouse=True)
def _no_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal summary wraps to COLUMNS when it is set, even piped (auditor/report/
    terminal.py); tests that want a width set it themselves."""
    monkeypatch.delenv("COLUMNS", raising=False)

"""Shared test options. `pytest --update-golden` rewrites golden files instead of comparing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["tests.kubeapi.fixture", "tests.s3.fixture"]

# Property tests are reproducible: the same examples on every run and every machine (derived
# from each test, not drawn at random), no example database carried between runs, and no
# per-example deadline, which a loaded machine or a parallel run (scripts/test.sh) would miss
# by chance. Counts stay each test's own. `--hypothesis-profile explore` draws new examples.
settings.register_profile("reproducible", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile("reproducible")

# Session fixtures that cost seconds to build (a generated mesh scanned and rendered, a server
# process, a wheel): under pytest-xdist (`./scripts/test.sh -n auto --dist loadgroup`) every test
# that uses one runs in the same worker, so each is built once per run, not once per worker
# (and two workers never build the wheel in one source tree at once). Tests that share a
# module-scoped fixture stay together for the same reason.
SHARED_SESSION_FIXTURES = {
    "mesh15k": "mesh15k",
    "mesh15k_data": "mesh15k",
    "art": "mesh15k",
    "s3_process": "s3",
    "built_wheel": "wheel",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Regenerate golden files under tests/golden/ (review the diff like code).",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with the xdist group of the expensive fixtures it uses (see
    SHARED_SESSION_FIXTURES); groups that meet in one test are one group. Without xdist the
    mark changes nothing. Runs before xdist's own hook, which reads the mark."""
    merged: dict[str, str] = {}

    def root(name: str) -> str:
        while merged.get(name, name) != name:
            name = merged[name]
        return name

    wanted: list[tuple[pytest.Item, list[str]]] = []
    for item in items:
        names = getattr(item, "fixturenames", ())
        groups = sorted({SHARED_SESSION_FIXTURES[n] for n in names if n in SHARED_SESSION_FIXTURES})
        if not groups:
            info = getattr(item, "_fixtureinfo", None)
            defs = info.name2fixturedefs.values() if info is not None else ()
            if any(d[-1].scope in ("module", "class", "package") for d in defs if d):
                groups = [item.nodeid.split("::", 1)[0]]
        for other in groups[1:]:
            merged[root(other)] = root(groups[0])
        if groups:
            wanted.append((item, groups))
    loadgroup = bool(getattr(config.option, "loadgroup", False))  # set in xdist's workers
    for item, groups in wanted:
        group = root(groups[0])
        item.add_marker(pytest.mark.xdist_group(group))
        if loadgroup:
            _suffix_node_id(item, group)


def _suffix_node_id(item: pytest.Item, group: str) -> None:
    """What pytest-xdist does with the mark: `@group` after the node id, which its scheduler
    reads. xdist 3.8 writes it to `item._nodeid`, which pytest 9.2 no longer reads (the id is a
    structured `_id`; pytest-dev/pytest-xdist#1386, open): groups were silently ignored. Written
    where pytest keeps the id; on a pytest that still reads `_nodeid`, xdist's own write works."""
    node_id = getattr(item, "_id", None)
    if node_id is None or str(node_id).endswith(f"@{group}"):
        return
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{node_id}@{group}")


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

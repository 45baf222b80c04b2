"""benchmarks/stages.py: the stage-by-stage profile names every stage, its stages add up to the
process's CPU time, and the report it builds stage by stage is the one `scan` builds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import orjson

from auditor.checks import all_checks
from tests.helpers import DEMO, FIXED_CLOCK, ROOT, scan_paths


def _load_stages() -> ModuleType:
    path = ROOT / "benchmarks" / "stages.py"
    spec = importlib.util.spec_from_file_location("mesh_stages", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mesh_stages"] = module
    spec.loader.exec_module(module)
    return module


stages = _load_stages()


def test_table_names_every_stage_and_the_stages_add_up(tmp_path: Path) -> None:
    out = tmp_path / "stages.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "stages.py"), str(DEMO), "--json", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.read_text())
    names = [row["stage"] for row in data["stages"]]
    families = {c.fn.__module__.rsplit(".", 1)[-1] for c in all_checks()}
    expected = [
        "import",
        "load",
        "index",
        *(f"model {name}" for name, _ in stages.models()),
        *(f"family {f}" for f in families),
        "report",
        "free",
        *(f"render {r}" for r in ("json", "html", "sarif", "junit", "csv", "terminal")),
    ]
    assert sorted(names) == sorted(expected)
    assert names[:3] == ["import", "load", "index"]
    assert names[-1] == "render terminal"
    # every model a check reads is forced before the families run
    assert data["built_during_checks"] == []
    total = sum(row["cpu_s"] for row in data["stages"])
    # the stages cover the process's CPU time after start-up, bar the table's own printing
    assert data["process_cpu_s"] * 0.9 - 0.05 <= total <= data["process_cpu_s"] + 0.01
    assert data["scan_cpu_s"] == sum(
        row["cpu_s"] for row in data["stages"] if stages.in_scan(row["stage"])
    )
    # the printed table: one row per stage, with its share of the scan
    lines = done.stdout.splitlines()
    for name in names:
        assert any(line.startswith(f"| {name} | ") for line in lines), name
    assert any(line.startswith("| family authz_outside | ") for line in lines)


def test_the_stage_by_stage_report_is_the_scan_report(tmp_path: Path) -> None:
    profiled, report, late = stages.profile(str(DEMO), pdf=False, output_dir=tmp_path)
    assert late == []
    assert stages.CLOCK == FIXED_CLOCK
    expected = scan_paths(DEMO)
    assert orjson.dumps(report.data) == orjson.dumps(expected.data)
    assert (tmp_path / "report.json").is_file()
    assert [n for n, _ in profiled.rows][-1] == "render terminal"

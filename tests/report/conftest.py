"""Report fixtures shared by the report tests: the demo mesh's report and a generated
15,000-object mesh (`benchmarks/generate.py --objects 15000 --seed 1`, the mesh issue #27 was
measured on), generated once per session in a temporary folder (about 3 s, scanned in about 4 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DEMO, ROOT, scan_paths


@pytest.fixture(scope="session")
def demo_data() -> dict[str, Any]:
    return dict(scan_paths(DEMO).data)


@pytest.fixture(scope="session")
def mesh15k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated 15k-object mesh as a snapshot file (`scan --from` reads it)."""
    out = tmp_path_factory.mktemp("mesh15k") / "mesh15k.json.gz"
    generate = [sys.executable, str(ROOT / "benchmarks" / "generate.py")]
    subprocess.run(
        [*generate, "--objects", "15000", "--seed", "1", "-o", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def mesh15k_data(mesh15k: Path) -> dict[str, Any]:
    return dict(scan_paths(mesh15k).data)

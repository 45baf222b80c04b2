"""Shared by the pipeline tests: the before/after mesh, the CLI with a fixed clock, the schema."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from auditor import cli
from auditor.cli import options as cli_options
from tests.helpers import CASES, FIXED_CLOCK

PIPE = CASES / "pipeline"
COMMON = PIPE / "common.yaml"
BEFORE = PIPE / "before.yaml"
AFTER = PIPE / "after.yaml"
WAIVERS = PIPE / "waivers.yaml"

# Finding ids are stable (check + resource + detail): the pipeline mesh's findings, all checks.
EGR001 = "EGR001-240d52e26839c195"  # ConfigMap istio-system/istio ALLOW_ANY (before and after)
GW005 = "GW005-e05eef56fa6fa62c"  # Gateway shop/shop-gateway selects a shared gateway (both)
MTLS001 = "MTLS001-93dbc95c13d47ff3"  # no mesh-wide PeerAuthentication (both)
GW001 = "GW001-a3d63cbc0570f40f"  # Gateway shop/ghost-gateway selects nothing (before and after)
EGR003 = "EGR003-086a3cf88818ed1e"  # VirtualService shop/legacy unregistered host (before only)
VS001 = "VS001-191b63ccba78b7e5"  # VirtualService shop/legacy -> missing Gateway (before only)
VS002 = "VS002-3e07ccea45102fbc"  # the same reference, seen by VS002 (before only)
GW002 = "GW002-312922dd2ffbe8c8"  # Gateway shop/shop-gateway port 9443 not on Service (after only)
BEFORE_IDS = [EGR001, MTLS001, EGR003, GW001, GW005, VS001, VS002]  # report order
# report order: worst first (auditor/report/risk.py); GW005's Gateway is reachable from the
# internet, GW001's and GW002's only inside the cluster
AFTER_IDS = [EGR001, MTLS001, GW005, GW001, GW002]


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, clock: str = FIXED_CLOCK) -> Result:
    monkeypatch.setattr(cli_options, "_now", lambda: clock)
    return CliRunner().invoke(cli.main, args, catch_exceptions=False)


def ours(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All findings: the tests name every finding of the pipeline mesh exactly."""
    return list(findings)


def validate_report(data: dict[str, Any]) -> None:
    schema = json.loads(files("auditor").joinpath("schema/report.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(data)


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data

"""Every YAML input goes through the one safe loader (#28): `--config`, `.mesh-audit.yaml`,
`--framework-file` and a kubeconfig's contexts get the alias budget (a billion-laughs file is
refused in under a second, where `yaml.safe_load` plus jsonschema ran for minutes), one-line
errors for bad tags, and the same date handling for inline waivers as for a waivers file."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.run.config import load_config
from auditor.run.fleet.scan import kubeconfig_contexts
from tests.helpers import DEMO


def bomb(key: str, levels: int = 9) -> str:
    """`key:` holding a list whose aliases expand 9**levels times (under 600 bytes)."""
    lines = [f"{key}:", '  - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnop"
    for prev, name in itertools.pairwise(names[:levels]):
        lines.append(f"  - &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def run(*args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr, time.monotonic() - started


@pytest.mark.parametrize("option", ["--config", "--framework-file"])
def test_an_alias_bomb_is_refused_in_under_a_second(option: str, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    text = bomb("format" if option == "--config" else "controls")
    assert len(text) < 600
    path.write_text(text)
    code, err, took = run("scan", "--from", str(DEMO), option, str(path), "-q")
    assert code == 2
    assert took < 1.0 + 2.0  # under a second of loading; the rest is the CLI starting up
    assert err == (
        f"mesh-audit: error: {path} document 1: YAML aliases expand to more than 10000 extra "
        "nodes (an alias bomb?); refused (docs/limits.md)\n"
    )


def test_the_alias_bomb_alone_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / ".mesh-audit.yaml"
    path.write_text(bomb("format"))
    started = time.monotonic()
    with pytest.raises(Exception) as err:
        load_config(path)
    assert time.monotonic() - started < 1.0
    assert "alias bomb" in str(err.value)


def test_a_python_tag_in_the_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("fail_under: !!python/object/apply:os.system [ls]\n")
    code, err, _ = run("scan", "--from", str(DEMO), "--config", str(path), "-q")
    assert code == 2
    assert err.startswith(f"mesh-audit: error: {path}:1:13: invalid YAML: ")
    assert err.count("\n") == 1


def test_inline_waiver_dates_parse_as_in_a_waivers_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "waivers:\n"
        "  - check: GW001\n    reason: accepted\n    expires: 2099-01-01\n"
        "  - check: TLS003\n    reason: accepted\n    expires: '2099-02-01'\n"
    )
    cfg = load_config(path)
    assert cfg.waivers is not None
    assert [w.expires.isoformat() if w.expires else None for w in cfg.waivers] == [
        "2099-01-01",
        "2099-02-01",
    ]
    code, err, _ = run("scan", "--from", str(DEMO), "--config", str(path), "-q")
    assert (code, err) == (0, "")


def test_a_kubeconfig_alias_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(bomb("contexts"))
    with pytest.raises(Exception) as err:
        kubeconfig_contexts(str(path))
    assert "alias bomb" in str(err.value)

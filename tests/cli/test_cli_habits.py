"""kubectl and istioctl habits: -A, durations with units, `--from -`, `-o FORMAT`, istioctl's
suppressions (annotation and --suppress) and the config file."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import cli
from auditor.base.durations import parse_duration
from auditor.cli import options as cli_options
from tests.pipeline_helpers import (
    AFTER,
    BEFORE,
    COMMON,
    EGR001,
    EGR003,
    GW005,
    MTLS001,
    VS001,
    VS002,
    read_json,
    run_cli,
    validate_report,
)

PIPE_ARGS = ["scan", "--from", str(COMMON), "--from", str(AFTER)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("30s", 30.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("1h", 3600.0),
        ("0.5", 0.5),
        ("1.5m", 90.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "30x", "2m30", "m2", "-1s", "1 m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_time_options_take_units_and_all_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(
        context: Any,
        kubeconfig: Any,
        in_cluster: Any,
        namespaces: Any,
        timeout: float,
        deadline: float,
        progress: Any = None,
        limits: Any = None,
    ) -> Any:
        seen.update(namespaces=namespaces, timeout=timeout, deadline=deadline)
        from auditor.input.files import load_paths

        return load_paths([str(COMMON)])

    monkeypatch.setattr(cli_options, "_collect_live", fake)
    args = ["scan", "--context", "prod", "-A", "--request-timeout", "30s", "--deadline", "2m"]
    result = run_cli([*args, "-q"], monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert seen == {"namespaces": (), "timeout": 30.0, "deadline": 120.0}
    result = run_cli(["scan", "--context", "prod", "--all-namespaces", "-q"], monkeypatch)
    assert result.exit_code == 0
    assert (seen["timeout"], seen["deadline"]) == (30.0, 600.0)  # defaults 30s and 10m


def test_all_namespaces_and_namespace_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["scan", "--context", "prod", "-A", "-n", "shop"], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        "mesh-audit: error: -A/--all-namespaces and -n/--namespace cannot be combined\n"
    )


def test_bad_duration_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["scan", "--context", "prod", "--request-timeout", "3x"], monkeypatch)
    assert result.exit_code == 2
    assert "'3x' is not a duration" in result.stderr


def test_from_stdin_reads_yaml_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    monkeypatch.setattr(cli_options, "_now", lambda: "2026-11-25T10:00:00Z")
    text = COMMON.read_text() + "\n---\n" + AFTER.read_text()
    files = run_cli([*PIPE_ARGS, "-o", "json"], monkeypatch)
    piped = CliRunner().invoke(cli.main, ["scan", "--from", "-", "-o", "json"], input=text)
    assert piped.exit_code == 0, piped.stderr
    from_files, from_stdin = json.loads(files.stdout), json.loads(piped.stdout)
    assert [f["id"] for f in from_stdin["findings"]] == [f["id"] for f in from_files["findings"]]
    assert {f["origin"].split("#")[0] for f in from_stdin["findings"]} == {"<stdin>"}
    # JSON on stdin (a kubectl List) works too
    docs = [d for d in yaml.safe_load_all(text) if d]
    as_json = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    piped = CliRunner().invoke(cli.main, ["scan", "--from", "-", "-o", "json"], input=as_json)
    assert piped.exit_code == 0
    got = [f["id"] for f in json.loads(piped.stdout)["findings"]]
    assert got == [f["id"] for f in from_files["findings"]]


def test_output_one_format_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    result = run_cli(
        [*PIPE_ARGS, "-o", "json", "--format", "json", "--output-dir", str(out)], monkeypatch
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == read_json(out / "report.json")  # nothing else on stdout
    sarif = json.loads(run_cli([*PIPE_ARGS, "-o", "sarif"], monkeypatch).stdout)
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["results"]) == 5
    rows = list(csv.reader(io.StringIO(run_cli([*PIPE_ARGS, "-o", "csv"], monkeypatch).stdout)))
    assert [r[0] for r in rows[1:]] == [f["id"] for f in json.loads(result.stdout)["findings"]]
    junit = ET.fromstring(run_cli([*PIPE_ARGS, "--output", "junit"], monkeypatch).stdout_bytes)
    assert junit.tag == "testsuites"
    bad = run_cli([*PIPE_ARGS, "-o", "yaml"], monkeypatch)
    assert bad.exit_code == 2


def _annotated(tmp_path: Path, value: str) -> Path:
    """before.yaml with VirtualService shop/legacy annotated as the istioctl analyze docs show
    (istio/istio.io content/en/docs/ops/diagnostic-tools/istioctl-analyze/index.md, "Ignoring
    specific analyzer messages via annotations")."""
    docs = [d for d in yaml.safe_load_all(BEFORE.read_text()) if d]
    for doc in docs:
        if doc["kind"] == "VirtualService" and doc["metadata"]["name"] == "legacy":
            doc["metadata"]["annotations"] = {"galley.istio.io/analyze-suppress": value}
    path = tmp_path / "before-annotated.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _scan(
    paths: list[Path], out: Path, monkeypatch: pytest.MonkeyPatch, *extra: str
) -> tuple[int, dict[str, Any], str]:
    args = ["scan", *[a for p in paths for a in ("--from", str(p))], "--output-dir", str(out)]
    result = run_cli([*args, *extra], monkeypatch)
    data = read_json(out / "report.json")
    validate_report(data)
    return result.exit_code, data, result.stderr


def _waived(data: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["waiver"]["source"] for f in data["findings"] if f.get("waiver")}


@pytest.mark.parametrize(
    ("value", "suppressed"),
    [
        # VS001 and EGR003 carry IST0101 (referenced resource not found); VS002 carries IST0132
        ("IST0101", {VS001, EGR003}),
        ("IST0132", {VS002}),
        ("IST0107,IST0132,IST0101", {VS001, VS002, EGR003}),
        ("*", {VS001, VS002, EGR003}),
        (" IST0101", set()),  # istioctl splits on commas and does not trim
        ("IST0234", set()),
        (",,some text, in here1!,", set()),
    ],
)
def test_analyze_suppress_annotation(
    value: str, suppressed: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data, stderr = _scan(
        [COMMON, _annotated(tmp_path, value)], tmp_path / "out", monkeypatch, "--fail-on", "low"
    )
    assert _waived(data) == dict.fromkeys(suppressed, "annotation")
    assert data["summary"].get("waived", 0) == len(suppressed)
    audit = [(w["source"], w["findings"], w["status"]) for w in data.get("waiver_audit", [])]
    assert sorted(audit) == sorted(("annotation", [i], "matched") for i in suppressed)
    for f in data["findings"]:
        if f["id"] in suppressed:
            assert f["waiver"]["reason"].startswith(
                f"suppressed by annotation galley.istio.io/analyze-suppress={value} on "
                "VirtualService legacy.shop (istioctl analyze code IST0"
            )
    assert code == 1  # other findings still gate
    assert "VS001" not in stderr if VS001 in suppressed else "VS001" in stderr


@pytest.mark.parametrize(
    ("flag", "suppressed"),
    [
        ("IST0101=VirtualService legacy.shop", {VS001, EGR003}),
        ("IST0101=VirtualService *.shop", {VS001, EGR003}),
        ("IST0132=VirtualService leg*", {VS002}),
        ("IST0101=VirtualService legacy.other", set()),
        ("IST0101=Gateway *", set()),  # no Gateway finding of the before mesh carries IST0101
    ],
)
def test_suppress_flag(
    flag: str, suppressed: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _code, data, _ = _scan([COMMON, BEFORE], tmp_path / "out", monkeypatch, "--suppress", flag)
    waived = {f["id"] for f in data["findings"] if f.get("waiver")}
    # GW001 (shop/ghost-gateway) carries IST0101 too: "Gateway *" matches it
    if flag == "IST0101=Gateway *":
        suppressed = {f["id"] for f in data["findings"] if f["check"] == "GW001"}
        assert suppressed
    assert waived == suppressed
    [entry] = data["waiver_audit"]
    assert (entry["source"], entry["reason"]) == ("--suppress", f"suppressed by --suppress {flag}")
    assert entry["status"] == ("matched" if suppressed else "unused")
    assert sorted(entry["findings"]) == sorted(suppressed)


def test_bad_suppress_value(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli([*PIPE_ARGS, "--suppress", "IST0101"], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        "mesh-audit: error: --suppress 'IST0101': expected CODE=RESOURCE, e.g. "
        '"IST0102=Namespace frod" or "IST0107=Pod *.baz"\n'
    )


def test_config_file_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".mesh-audit.yaml").write_text(
        "format: [json, junit]\n"
        "output_dir: reports\n"
        "fail_on: medium\n"
        "fail_under: 50\n"
        "suppress: ['IST0101=VirtualService legacy.shop']\n"
        "waivers:\n"
        "- check: MTLS001\n"
        "  reason: mesh-wide STRICT rolls out in Q3\n"
    )
    result = run_cli(["scan", "--from", str(COMMON), "--from", str(BEFORE)], monkeypatch)
    data = read_json(tmp_path / "reports" / "report.json")
    assert (tmp_path / "reports" / "report.junit.xml").is_file()
    validate_report(data)
    assert data["gates"] == {"fail_on": "medium", "fail_on_new": None, "fail_under": 50}
    assert {
        f["id"]: (f["waiver"] or {}).get("source", "file")
        for f in data["findings"]
        if f.get("waiver")
    } == {MTLS001: "file", VS001: "--suppress", EGR003: "--suppress"}
    assert result.exit_code == 1
    assert result.stderr == ("mesh-audit: 1 unwaived finding at or above medium (EGR001)\n")
    # the command line wins over the file
    result = run_cli(
        ["scan", "--from", str(COMMON), "--fail-on", "high", "--output-dir", "o2"], monkeypatch
    )
    assert result.exit_code == 0
    assert read_json(tmp_path / "o2" / "report.json")["gates"]["fail_on"] == "high"


def test_explicit_config_paths_are_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "ci" / "audit.yaml"
    conf.parent.mkdir()
    (conf.parent / "waivers.yaml").write_text(
        "waivers:\n- check: GW005\n  reason: shared gateway by design\n"
    )
    conf.write_text("waivers: waivers.yaml\nformat: json\noutput_dir: out\n")
    run_cli([*PIPE_ARGS, "--config", str(conf), "-q"], monkeypatch)
    data = read_json(conf.parent / "out" / "report.json")
    assert [f["id"] for f in data["findings"] if f.get("waiver")] == [GW005]
    assert EGR001 in {f["id"] for f in data["findings"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("fail_on: hgh\n", "at fail_on: 'hgh' is not one of"),
        ("colour: true\n", "at (top level): Additional properties are not allowed ('colour'"),
        ("fail_under: 101\n", "at fail_under: 101 is greater than the maximum of 100"),
        ("suppress: [IST0101]\n", "at suppress/0: 'IST0101' does not match"),
        ("format: [json, docx]\n", "at format: ['json', 'docx'] is not valid under any"),
        ("fail_on: [\n", "invalid YAML"),  # the one YAML loader's line, as for manifests
        ("waivers:\n- check: GW001\n", "waivers[0]: 'reason' is required"),
    ],
)
def test_bad_config_is_one_line(
    content: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "bad.yaml"
    conf.write_text(content)
    result = run_cli([*PIPE_ARGS, "--config", str(conf)], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mesh-audit: error: {conf}")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_config_schema_is_shipped_and_valid() -> None:
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("auditor.schema").joinpath("config.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {
        "format",
        "output_dir",
        "fail_on",
        "fail_on_new",
        "fail_under",
        "baseline",
        "waivers",
        "suppress",
    }

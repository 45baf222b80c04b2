"""Fleets: `scan --context a --context b` / `--all-contexts` against two loopback API servers,
and `mesh-audit fleet SOURCE...` over report folders and an s3:// prefix of uploads, with the
fleet report read back as JSON, HTML and PDF."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pypdf
import pytest
import yaml
from click.testing import CliRunner, Result

from auditor import cli
from auditor.cli import options as cli_options
from tests.kubeapi import FakeKubeAPI
from tests.live_support import load_demo
from tests.pipeline_helpers import AFTER, BEFORE, run_cli
from tests.s3.fixture import BUCKET, S3Server

SECRET_CHECKS = {"TLS003", "TLS004", "TLS007"}
NOW = "2026-11-26T12:00:00Z"


def merged_kubeconfig(tmp_path: Path, east: FakeKubeAPI, west: FakeKubeAPI) -> Path:
    """One kubeconfig with `east` and `west` (two API servers) and `dead` (nothing listens)."""
    a = yaml.safe_load(east.write_kubeconfig(tmp_path / "a", {"east": "live"}).read_text())
    b = yaml.safe_load(
        west.write_kubeconfig(tmp_path / "b", {"west": "live", "dead": "dead"}).read_text()
    )
    for key in ("clusters", "users", "contexts"):
        a[key] += b[key]
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(a))
    return path


@pytest.fixture
def two_clusters(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> tuple[FakeKubeAPI, FakeKubeAPI, Path]:
    east = load_demo(kube_api_factory())
    west = load_demo(kube_api_factory())
    west.forbid("secrets")  # west runs the least-privilege base install: a partial audit
    return east, west, merged_kubeconfig(tmp_path, east, west)


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, clock: str = NOW) -> Result:
    monkeypatch.setattr(cli_options, "_now", lambda: clock)
    return CliRunner().invoke(cli.main, args, catch_exceptions=False)


def checks_of(data: dict[str, Any]) -> set[str]:
    return {f["check"] for f in data["findings"]}


def validate_fleet(data: dict[str, Any]) -> None:
    schema = json.loads(files("auditor").joinpath("schema/fleet.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(data)


def row(fleet: dict[str, Any], cluster: str) -> dict[str, Any]:
    [found] = [r for r in fleet["clusters"] if r["cluster"] == cluster]
    return found


def test_multi_context_scan_writes_a_folder_per_context_and_a_fleet_summary(
    two_clusters: tuple[FakeKubeAPI, FakeKubeAPI, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    east, west, kc = two_clusters
    out = tmp_path / "out"
    result = invoke(
        [
            "scan",
            "--kubeconfig",
            str(kc),
            "--context",
            "east",
            "--context",
            "west",
            "--context",
            "dead",
            "--format",
            "json,html",
            "--output-dir",
            str(out),
            "--parallel",
            "2",
        ],
        monkeypatch,
    )
    # one context could not be read: exit 3, the others' reports are written
    assert result.exit_code == 3, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "east",
        "fleet.html",
        "fleet.json",
        "west",
    ]  # fleet.pdf only with pdf in --format (the s3 test below reads one back)
    reports = {
        name: json.loads((out / name / "report.json").read_text()) for name in ("east", "west")
    }
    for name in ("east", "west"):
        assert sorted(p.name for p in (out / name).iterdir()) == ["report.html", "report.json"]
        assert reports[name]["source"]["context"] == name
    assert reports["east"]["source"]["server"] == east.url
    assert reports["west"]["source"]["server"] == west.url
    # both servers were read, each by its own context
    assert east.requests and west.requests
    assert reports["west"]["collection"]["Secret"]["status"] == "forbidden"
    assert checks_of(reports["east"]) - checks_of(reports["west"]) == {"TLS003"}

    fleet = json.loads((out / "fleet.json").read_text())
    validate_fleet(fleet)
    assert fleet["kind"] == "MeshAuditFleet"
    assert fleet["summary"]["clusters"] == 2
    assert fleet["summary"]["partial"] == ["west"]
    assert fleet["summary"]["stale"] == []
    assert fleet["summary"]["failed"] == ["dead"]
    [error] = fleet["errors"]
    assert error["cluster"] == "dead"
    assert error["error"].startswith("cannot reach https://127.0.0.1:1 (context dead)")
    for name, data in reports.items():
        r = row(fleet, name)
        # one score: the report's own (exposure and coverage included), copied
        assert (r["score"], r["grade"]) == (data["summary"]["score"], data["summary"]["grade"])
        assert (r["complete"], r["incomplete"]) == (True, None)
        assert r["findings"] == data["summary"]["total"]
        assert (r["kinds_read"], r["kinds_total"]) == (
            data["summary"]["coverage"]["kinds_read"],
            data["summary"]["coverage"]["kinds_total"],
        )
        assert r["age_hours"] == 0.0
    assert row(fleet, "west")["unread"][0].startswith("Secret (forbidden): ")
    assert row(fleet, "east")["unread"] == []
    # recurring: every check that fires in both clusters, and only those
    both = checks_of(reports["east"]) & checks_of(reports["west"])
    assert {r["check"] for r in fleet["recurring"]} == both
    assert all(r["clusters"] == ["east", "west"] for r in fleet["recurring"])
    assert "  dead: NO REPORT: cannot reach https://127.0.0.1:1" in result.stdout

    html = (out / "fleet.html").read_text()
    parsed = FleetHTML.parse(html)
    assert parsed.clusters == [r["cluster"] for r in fleet["clusters"]]
    assert parsed.recurring == [r["check"] for r in fleet["recurring"]]


def test_all_contexts_scans_every_context_of_the_kubeconfig(
    two_clusters: tuple[FakeKubeAPI, FakeKubeAPI, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, kc = two_clusters
    out = tmp_path / "out"
    result = invoke(
        [
            "scan",
            "--kubeconfig",
            str(kc),
            "--all-contexts",
            "--output-dir",
            str(out),
            "--fail-on-partial",
            "--partial-ok",
            "Secret",
        ],
        monkeypatch,
    )
    assert result.exit_code == 3  # `dead`
    fleet = json.loads((out / "fleet.json").read_text())
    assert [r["cluster"] for r in fleet["clusters"]] == sorted(
        ["east", "west"], key=lambda c: (row(fleet, c)["score"], c)
    )
    assert fleet["summary"]["failed"] == ["dead"]
    assert sorted(p.name for p in out.iterdir()) == ["east", "fleet.html", "fleet.json", "west"]


def test_multi_context_partial_exits_5_when_every_context_was_read(
    kube_api_factory: Callable[..., FakeKubeAPI],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    east = load_demo(kube_api_factory())
    west = load_demo(kube_api_factory())
    west.forbid("secrets")
    kc = merged_kubeconfig(tmp_path, east, west)
    result = invoke(
        [
            "scan",
            "--kubeconfig",
            str(kc),
            "--context",
            "east",
            "--context",
            "west",
            "--output-dir",
            str(tmp_path / "out"),
            "--fail-on-partial",
        ],
        monkeypatch,
    )
    assert result.exit_code == 5
    assert result.stderr.startswith("mesh-audit: partial audit: not read: Secret (forbidden)")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--context", "a", "--context", "b", "--from", "x"], "cannot be combined"),
        (["--context", "a", "--context", "b", "--baseline", "x.json"], "--baseline"),
        (["--context", "a", "--context", "b", "--cluster-name", "x"], "--cluster-name"),
    ],
)
def test_multi_context_rejects_single_cluster_options(
    args: list[str], problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(["scan", *args], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and problem in result.stderr


def write_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path, name: str, clock: str
) -> Path:
    out = tmp_path / "reports" / name
    result = run_cli(
        ["scan", "--from", str(source), "--output-dir", str(out), "--cluster-name", name],
        monkeypatch,
        clock,
    )
    assert result.exit_code == 0, result.output
    return out / "report.json"


def test_fleet_command_over_report_folders_marks_stale_clusters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write_report(tmp_path, monkeypatch, BEFORE, "alpha", "2026-11-26T06:00:00Z")
    write_report(tmp_path, monkeypatch, AFTER, "beta", "2026-11-20T06:00:00Z")  # 6 days old
    out = tmp_path / "fleet"
    result = invoke(
        ["fleet", str(tmp_path / "reports"), "--output-dir", str(out), "--format", "json,html"],
        monkeypatch,
    )
    assert result.exit_code == 0, result.output
    fleet = json.loads((out / "fleet.json").read_text())
    validate_fleet(fleet)
    assert fleet["summary"]["stale"] == ["beta"]
    assert (row(fleet, "alpha")["age_hours"], row(fleet, "beta")["age_hours"]) == (6.0, 150.0)
    assert row(fleet, "alpha")["origin"] == str(a)
    before = json.loads(a.read_text())
    after = json.loads((tmp_path / "reports" / "beta" / "report.json").read_text())
    assert {r["check"] for r in fleet["recurring"]} == checks_of(before) & checks_of(after)
    assert "beta: score" in result.stdout and "[stale]" in result.stdout
    parsed = FleetHTML.parse((out / "fleet.html").read_text())
    assert parsed.flags == {"alpha": ["current"], "beta": ["stale"]}

    # a damaged fleet.json would fail the schema
    with pytest.raises(jsonschema.ValidationError):
        validate_fleet({**fleet, "clusters": [{**fleet["clusters"][0], "grade": "Z"}]})

    # a newer report of the same cluster given as a file wins over the folder's
    newer = write_report(tmp_path / "x", monkeypatch, AFTER, "alpha", "2026-11-26T11:00:00Z")
    result = invoke(
        ["fleet", str(tmp_path / "reports"), str(newer), "--output-dir", str(out)],
        monkeypatch,
    )
    assert result.exit_code == 0, result.output
    fleet = json.loads((out / "fleet.json").read_text())
    assert row(fleet, "alpha")["origin"] == str(newer)


def test_fleet_command_over_an_s3_prefix(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, source, clock in (
        ("prod-eu", BEFORE, "2026-11-26T03:17:00Z"),
        ("prod-us", AFTER, "2026-11-26T04:17:00Z"),
    ):
        result = run_cli(
            [
                "scan",
                "--from",
                str(source),
                "--output-dir",
                str(tmp_path / name),
                "--upload",
                f"s3://{BUCKET}/fleet",
                "--cluster-name",
                name,
            ],
            monkeypatch,
            clock,
        )
        assert result.exit_code == 0, result.output
    out = tmp_path / "fleet"
    result = invoke(
        ["fleet", f"s3://{BUCKET}/fleet", "--output-dir", str(out), "--format", "json,html,pdf"],
        monkeypatch,
    )
    assert result.exit_code == 0, result.output
    fleet = json.loads((out / "fleet.json").read_text())
    validate_fleet(fleet)
    assert sorted(r["cluster"] for r in fleet["clusters"]) == ["prod-eu", "prod-us"]
    # through the pointer object to the run's folder
    assert row(fleet, "prod-eu")["origin"] == (
        f"s3://{BUCKET}/fleet/prod-eu/20261126T031700Z/report.json"
    )
    assert (row(fleet, "prod-eu")["age_hours"], row(fleet, "prod-us")["age_hours"]) == (8.7, 7.7)
    text = pdf_text((out / "fleet.pdf").read_bytes())
    for expected in ("prod-eu", "prod-us", "Weaknesses in more than one cluster", "Clusters"):
        assert expected in text
    assert FleetHTML.parse((out / "fleet.html").read_text()).clusters == [
        r["cluster"] for r in fleet["clusters"]
    ]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p / "missing", "no such file or directory"),
        (lambda p: p, "no report.json in it or its cluster folders"),
    ],
)
def test_fleet_bad_sources_are_one_line_errors(
    make: Callable[[Path], Path], problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(["fleet", str(make(tmp_path))], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and problem in result.stderr


def test_fleet_rejects_a_file_that_is_not_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "report.json"
    bad.write_text('{"hello": 1}')
    result = invoke(["fleet", str(bad)], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        f"mesh-audit: error: {bad}: not a mesh-audit report.json (no findings list)\n"
    )


def test_fleet_html_escapes_tenant_cluster_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.report.fleet_render import render_fleet_html
    from auditor.run.fleet.model import build_fleet
    from auditor.run.fleet.sources import ClusterReport

    data = json.loads(write_report(tmp_path, monkeypatch, AFTER, "a", NOW).read_text())
    fleet = build_fleet([ClusterReport("<script>x</script>", "o", data)], generated_at=NOW)
    html = render_fleet_html(fleet)
    assert "<script>x" not in html and "&lt;script&gt;x" in html


class FleetHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.clusters: list[str] = []
        self.recurring: list[str] = []
        self.flags: dict[str, list[str]] = {}
        self._cluster: str | None = None

    @classmethod
    def parse(cls, html: str) -> FleetHTML:
        parser = cls()
        parser.feed(html)
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "cluster-row":
            self._cluster = str(a["data-cluster"])
            self.clusters.append(self._cluster)
            self.flags[self._cluster] = []
        if tag == "tr" and a.get("class") == "recurring-row":
            self.recurring.append(str(a["data-check"]))
        if tag == "span" and self._cluster and (a.get("class") or "").startswith("flag "):
            self.flags[self._cluster].append(str(a["class"]).split()[1].replace("fresh", "current"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._cluster = None


def pdf_text(raw: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(raw))
    return "\n".join(page.extract_text() for page in reader.pages)

"""CPU seconds per stage of one scan, in a fresh process: where a scan's time goes.

    python benchmarks/stages.py SNAPSHOT [--pdf] [--json OUT.json] [--output-dir DIR]

Stages, in the order `mesh-audit scan --from SNAPSHOT --format ...` runs them:

- import: mesh-audit's modules (what `scan` pays before it reads anything);
- load: `load_paths` (read, decode, shape, compact: auditor/input/);
- index: the mesh config and `MeshIndex` (auditor/mesh/index.py);
- model <name>: each model the checks and the report share, forced once (`MODELS` below), so
  that a check family's time is its own and not that of the first family to ask for a model;
- family <module>: the checks of one module of auditor/checks/, run through the runner;
- report: the rest of `auditor/run/scan.py` (exposure, egress, mTLS and access sections,
  `build_report`, evidence digest, suppressions, post-processing);
- free: releasing the index (as `scan` does), dropping the snapshot and `gc.collect()`, as the
  CLI does before rendering;
- render <format>: each renderer of auditor/report/formats.py (PDF with `--pdf`), and the
  terminal summary.

The scan is every stage up to and including `render json` (what `scan --format json` does); each
stage's share of it is printed beside it. CPU time is `time.process_time()` (this process only).
The report built here is the one `auditor.run.scan.scan` builds (tests/project/test_stages.py
compares them), so the stages measure the real pipeline.

A model a check builds that `MODELS` does not force is charged to that check's family; the table
names such models ("built during checks") so the list can be kept complete.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

CLOCK = "2026-11-25T12:00:00Z"  # fixed, as in tests/helpers.py: the report is compared there
SCAN_END = "render json"  # the last stage of `scan --format json`


class Stages:
    """Named CPU-time intervals, in order."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []
        self.started = time.process_time()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.process_time()
        try:
            yield
        finally:
            self.rows.append((name, time.process_time() - start))

    def scan_seconds(self) -> float:
        return sum(seconds for name, seconds in self.rows if in_scan(name))


def in_scan(stage: str) -> bool:
    """Whether `scan --format json` runs this stage (every stage but the other renderers)."""
    return not stage.startswith("render ") or stage == SCAN_END


def models() -> list[tuple[str, Callable[[Any], object]]]:
    """Every model built on the index that checks or the report read, as (name, build)."""
    from auditor.mesh.authorization import (
        authz_lookup,
        build_authorization,
        by_namespace,
        policies,
    )
    from auditor.mesh.egress import build_egress, egress_model
    from auditor.mesh.egress_routing import egress_routing
    from auditor.mesh.entrypoints import build_entry_points, gateway_service_keys
    from auditor.mesh.exposure import build_exposure, dropped_servers, server_reaches
    from auditor.mesh.identity_mtls import identity_model
    from auditor.mesh.mtls import build_mtls, disable_clients
    from auditor.mesh.outside import outside
    from auditor.mesh.plaintext_senders import mesh_callers
    from auditor.mesh.waypoints import waypoint_map
    from auditor.mesh.ztunnel import ztunnel_policies

    return [
        ("membership", lambda index: [index.mesh_status(w) for w in index.workloads]),
        ("ports", lambda index: index.ports),
        ("peer authentication", lambda index: index.peer_authentication),
        ("value warnings", lambda index: index.value_warnings),
        ("network policies", lambda index: index.network_policies),
        ("waypoints", waypoint_map),
        (
            "exposure",
            lambda index: (
                dropped_servers(index),
                build_exposure(index),
                [server_reaches(index, gw) for gw in index.gateways.values()],
            ),
        ),
        ("entry points", lambda index: (gateway_service_keys(index), build_entry_points(index))),
        (
            "authorization",
            lambda index: (
                policies(index),
                build_authorization(index),
                authz_lookup(index),
                by_namespace(index),
            ),
        ),
        ("egress", lambda index: (egress_model(index), egress_routing(index), build_egress(index))),
        ("outside", outside),
        ("identity", identity_model),
        ("mtls", lambda index: (disable_clients(index), build_mtls(index))),
        ("ztunnel", ztunnel_policies),
        ("plaintext senders", mesh_callers),
    ]


def _collector_paused() -> AbstractContextManager[None]:
    """scan()'s pause of the cyclic collector; none on a tree from before it (a "before" run)."""
    try:
        from auditor.base.collector import collector_paused
    except ImportError:
        return nullcontext()
    return collector_paused()


def profile(snapshot_path: str, *, pdf: bool, output_dir: Path) -> tuple[Stages, Any, list[str]]:
    """Run the stages; returns them, the report, and the models checks built themselves."""
    stages = Stages()
    with stages.stage("import"):
        from auditor.checks import all_checks
        from auditor.checks.registry import CheckContext
        from auditor.checks.runner import run_checks
        from auditor.input.files import load_paths
        from auditor.mesh.index import MeshIndex
        from auditor.mesh.mesh_config_source import resolve_mesh_config
        from auditor.report import terminal
        from auditor.report.formats import RENDERERS

    with stages.stage("load"):
        snapshot = load_paths([snapshot_path])
    # as auditor/run/scan.py runs them: without the cyclic collector from index to report
    with _collector_paused():
        with stages.stage("index"):
            mesh, notes = resolve_mesh_config(snapshot)
            index = MeshIndex(snapshot, mesh)
        for name, build in models():
            with stages.stage(f"model {name}"):
                build(index)
        before = set(index._models)

        checks = all_checks()
        ctx = CheckContext(snapshot=snapshot, index=index, as_of=CLOCK, observed=None)
        families: dict[str, list[Any]] = {}
        for chk in checks:
            families.setdefault(chk.fn.__module__.rsplit(".", 1)[-1], []).append(chk)
        found: dict[str, Any] = {}
        runs: dict[str, Any] = {}
        for family, members in families.items():
            with stages.stage(f"family {family}"):
                family_findings, family_runs = run_checks(ctx, members)
            for f in family_findings:
                found.setdefault(f.id, f)
            runs.update((r.check, r) for r in family_runs)
        late = sorted(getattr(b, "__qualname__", repr(b)) for b in set(index._models) - before)

        with stages.stage("report"):
            report = _report(snapshot, index, mesh, notes, checks, found, runs)
    with stages.stage("free"):
        # as scan() and the CLI do: the index released (where the tree has `release`), then
        # the snapshot dropped and a full collection
        getattr(index, "release", lambda: None)()
        del snapshot, index, ctx
        gc.collect()
    formats = ["json", "html", "sarif", "junit", "csv", *(["pdf"] if pdf else [])]
    for name in formats:
        with stages.stage(f"render {name}"):
            RENDERERS[name](report, output_dir)
    with stages.stage("render terminal"):
        terminal.render(report.data, [], width=100, color=False)
    return stages, report, late


def _report(
    snapshot: Any,
    index: Any,
    mesh: Any,
    notes: list[str],
    checks: list[Any],
    found: dict[str, Any],
    runs: dict[str, Any],
) -> Any:
    """auditor/run/scan.py `scan` after its checks, with no waivers, baseline or scope."""
    from auditor.base.model import ExposureEntry, Finding
    from auditor.mesh.egress import build_egress
    from auditor.mesh.entrypoints import build_entry_points
    from auditor.mesh.exposure import build_exposure
    from auditor.mesh.identity_mtls import access_json
    from auditor.mesh.mtls import build_mtls
    from auditor.report.model import Report, build_report
    from auditor.run.compliance import input_digest
    from auditor.run.scan import post_process
    from auditor.run.suppress import suppression_waivers

    report = build_report(
        snapshot=snapshot,
        mesh=mesh,
        checks=checks,
        findings=sorted(found.values(), key=Finding.sort_key),
        runs=[runs[c.meta.id] for c in checks],
        exposure=sorted(
            build_exposure(index) + build_entry_points(index), key=ExposureEntry.sort_key
        ),
        egress=[e.to_json() for e in build_egress(index)],
        mtls=[e.to_json() for e in build_mtls(index)],
        authorization=access_json(index),
        generated_at=CLOCK,
        notes=notes,
        value_warnings=index.value_warnings,
    )
    report = Report({**report.data, "evidence": input_digest(snapshot)})
    suppressed = suppression_waivers(report.data["findings"], snapshot, (), first_index=0)
    return post_process(report, waivers=suppressed or None)


def table(stages: Stages) -> list[str]:
    """The markdown table: stage, CPU s, share of the scan."""
    scan = stages.scan_seconds()
    lines = ["| stage | cpu s | % of scan |", "|---|---:|---:|"]
    for name, seconds in stages.rows:
        share = f"{100 * seconds / scan:.1f}" if in_scan(name) and scan > 0 else "-"
        lines.append(f"| {name} | {seconds:.3f} | {share} |")
    total = sum(s for _, s in stages.rows)
    lines.append(f"| **scan (import to render json)** | {scan:.3f} | 100.0 |")
    lines.append(f"| **all stages** | {total:.3f} | - |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("snapshot", help="snapshot file or manifests directory")
    parser.add_argument("--pdf", action="store_true", help="also render the PDF")
    parser.add_argument("--json", type=Path, help="also write the stages as JSON here")
    parser.add_argument("--output-dir", type=Path, help="where renderers write (default: temp)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mesh-stages-") as tmp:
        out = args.output_dir or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        stages, _, late = profile(args.snapshot, pdf=args.pdf, output_dir=out)
        measured = time.process_time() - stages.started
    print("\n".join(table(stages)))
    if late:
        print(f"models built during checks (charged to their family): {', '.join(late)}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "stages": [{"stage": n, "cpu_s": s} for n, s in stages.rows],
                    "scan_cpu_s": stages.scan_seconds(),
                    "process_cpu_s": measured,
                    "built_during_checks": late,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

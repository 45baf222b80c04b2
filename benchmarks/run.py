"""Measure mesh-audit against the floor of reading its input, per step, in fresh processes.

    python benchmarks/run.py --sizes small,medium,large [--workdir DIR] [--repeat 3]
    python benchmarks/run.py SNAPSHOT.json.gz [--yaml-dir DIR] ...

Each step runs in its own subprocess, so its peak RSS is its own (read from `os.wait4`'s rusage)
and its wall time includes interpreter start-up and imports, as a user sees them:

- floor: read the snapshot, gunzip, `orjson.loads` (what any tool reading the file must pay);
- floor-nogc: the same with the cyclic garbage collector off (CPython's GC walks the growing
  heap again and again while a big document is parsed; mesh-audit's loader turns it off);
- import: import mesh-audit's modules and nothing else (start-up cost inside `scan`);
- scan: `mesh-audit scan --from SNAPSHOT --format json` (load, index, checks, report.json);
- html / pdf: `mesh-audit scan --format html|pdf` (scan plus render; "n/a" while the format is
  not available); the render-only time is the difference from `scan`;
- yaml-parse: the `--yaml-dir` form parsed with libyaml's CSafeLoader (the YAML floor);
- yaml-scan: `mesh-audit scan --from YAML_DIR --format json` (YAML files parsed in worker
  processes, one per CPU: auditor/input/yamlpool.py; wall time and peak RSS are the scan's,
  CPU time includes the workers');
- yaml-scan-1: the same with `--jobs 1`, every file parsed in the scan's own process;
- yaml-file-scan / yaml-file-scan-1: the same objects as one file, `kind: List` with every
  object in its `items` (what `kubectl get -A -o yaml > all.yaml` writes; made once from the YAML
  directory, beside it), scanned with workers / with `--jobs 1` (the file is cut into pieces
  either way: auditor/input/yamlsplit.py);
- collect / collect-floor (only for `--collect-sizes`): the snapshot's objects served by the
  loopback test API server (benchmarks/collect_bench.py, in a process of its own that is not
  measured), read by the live collector (`collect`: discovery, paged lists, the Snapshot) and by
  plain paged GETs of the very same list pages, each parsed with orjson and kept
  (`collect-floor`).

Steps are repeated round-robin (so a burst of load from elsewhere spreads over all steps) and the
median is reported. `--sizes` generates missing meshes into the work directory with
benchmarks/generate.py (small ~1k, medium ~20k, large ~100k objects, seed 1).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from run_report import ALL_STEPS, Result, Sample, growth, summary, table

# the report's other names, importable from run as before run_report.py held them
from run_report import GROWTH as GROWTH
from run_report import PEAK_MB as PEAK_MB
from run_report import YAML_VS_JSON as YAML_VS_JSON
from run_report import collect_summary as collect_summary
from run_report import fmt as fmt

HERE = Path(__file__).resolve().parent
SIZES = {
    "small": 1_000,
    "10k": 10_000,
    "medium": 20_000,
    "large": 100_000,
    "250k": 250_000,
    "1m": 1_000_000,
}
COLLECT_STEPS = {"collect": "collector", "collect-floor": "baseline-orjson"}  # collect_bench
NOT_AVAILABLE = "not yet available"

FLOOR = """
import gc, gzip, sys
if sys.argv[2:] == ["nogc"]:
    gc.disable()
from pathlib import Path
import orjson
data = Path(sys.argv[1]).read_bytes()
if data[:2] == b"\\x1f\\x8b":
    data = gzip.decompress(data)
doc = orjson.loads(data)
print(len(doc["objects"]))
"""

IMPORT = """
import auditor.cli, auditor.run.scan, auditor.input.files, auditor.report.formats
import auditor.checks.registry
auditor.checks.all_checks()
"""

YAML_PARSE = """
import sys
from pathlib import Path
import yaml
loader = getattr(yaml, "CSafeLoader", None)
assert loader is not None, "PyYAML without libyaml"
n = 0
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
        n += len(doc.get("items") or ()) if isinstance(doc, dict) and "items" in doc else 1
print(n)
"""


def mesh_audit_cmd() -> list[str]:
    script = Path(sys.executable).with_name("mesh-audit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from auditor.cli import main; main()"]


def measure(cmd: list[str], cwd: Path) -> tuple[Sample, int, str, str]:
    """Run one command; wall time, user+sys CPU and peak RSS of that child alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    # Linux reports ru_maxrss in KiB
    sample = Sample(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024)
    return sample, proc.returncode, stdout, stderr


def step_command(step: str, snapshot: Path, yaml_dir: Path | None, out: Path) -> list[str] | None:
    py = sys.executable
    scan = [*mesh_audit_cmd(), "scan", "--quiet", "--output-dir", str(out)]
    if step == "floor":
        return [py, "-c", FLOOR, str(snapshot)]
    if step == "floor-nogc":
        return [py, "-c", FLOOR, str(snapshot), "nogc"]
    if step == "import":
        return [py, "-c", IMPORT]
    if step == "scan":
        return [*scan, "--from", str(snapshot), "--format", "json"]
    if step in ("html", "pdf"):
        return [*scan, "--from", str(snapshot), "--format", step]
    if yaml_dir is None:
        return None
    if step == "yaml-parse":
        return [py, "-c", YAML_PARSE, str(yaml_dir)]
    if step == "yaml-scan":
        return [*scan, "--from", str(yaml_dir), "--format", "json"]
    if step == "yaml-scan-1":
        return [*scan, "--from", str(yaml_dir), "--format", "json", "--jobs", "1"]
    if step in ("yaml-file-scan", "yaml-file-scan-1"):
        one = one_file(yaml_dir)
        jobs = ["--jobs", "1"] if step.endswith("-1") else []
        return [*scan, "--from", str(one), "--format", "json", *jobs]
    raise ValueError(step)


def pdf_pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(str(path)).pages)


def ensure_mesh(size: str, workdir: Path, seed: int, with_yaml: bool) -> tuple[Path, Path | None]:
    snapshot = workdir / f"{size}.json.gz"
    yaml_dir = workdir / f"{size}-yaml"
    if not snapshot.exists() or (with_yaml and not yaml_dir.exists()):
        cmd = [
            sys.executable,
            str(HERE / "generate.py"),
            "--objects",
            str(SIZES[size]),
            "--seed",
            str(seed),
            "-o",
            str(snapshot),
        ]
        if with_yaml:
            cmd += ["--yaml-dir", str(yaml_dir)]
        print(f"generating {size} mesh: {' '.join(cmd[1:])}", file=sys.stderr)
        subprocess.run(cmd, check=True)
    return snapshot, (yaml_dir if yaml_dir.exists() else None)


def one_file(yaml_dir: Path) -> Path:
    """The YAML directory's objects as one `kind: List` file (made once, beside the directory):
    the items of every namespace's List, in file order."""
    one = yaml_dir.with_name(yaml_dir.name + "-one.yaml")
    if one.exists():
        return one
    partial = one.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(b"apiVersion: v1\nitems:\n")
        for path in sorted(yaml_dir.glob("*.yaml")):
            data = b"\n" + path.read_bytes()
            start = data.find(b"\nitems:\n")
            if start != -1:  # a List with items (`items: []` has none)
                out.write(data[start + len(b"\nitems:\n") : data.rindex(b"\nkind: List\n") + 1])
        out.write(b"kind: List\nmetadata:\n  resourceVersion: ''\n")
    partial.rename(one)
    return one


def object_count(snapshot: Path) -> int | None:
    planted = snapshot.with_name(snapshot.name.removesuffix(".gz").removesuffix(".json"))
    sidecar = planted.with_name(planted.name + ".planted.json")
    if sidecar.exists():
        return int(json.loads(sidecar.read_text())["objects"])
    return None


@contextlib.contextmanager
def collect_server(
    size: str, snapshot: Path, steps: list[str], workdir: Path
) -> Iterator[Path | None]:
    """The loopback API server serving `snapshot` while the collect steps run (its own process,
    started, loaded and warmed up by benchmarks/collect_bench.py; not measured)."""
    if not any(s in COLLECT_STEPS for s in steps):
        yield None
        return
    import collect_bench

    print(f"  {size:7} starting the loopback API server for the collect steps", file=sys.stderr)
    server = collect_bench.start_server(workdir, str(snapshot))
    try:
        yield workdir
    finally:
        server.stop()


def run_size(
    size: str,
    snapshot: Path,
    yaml_dir: Path | None,
    steps: list[str],
    repeat: int,
    yaml_repeat: int,
) -> list[Result]:
    results = {s: Result(size=size, step=s) for s in steps}
    rounds = max(repeat, yaml_repeat)
    with (
        tempfile.TemporaryDirectory(prefix="mesh-bench-") as tmp,
        collect_server(size, snapshot, steps, Path(tmp) / "kubeapi") as kubeapi,
    ):
        tmp_path = Path(tmp)
        for r in range(rounds):
            for step in steps:
                res = results[step]
                limit = yaml_repeat if step.startswith("yaml") else repeat
                if r >= limit or res.unavailable or res.error:
                    continue
                out = tmp_path / f"{step}-{r}"
                if step in COLLECT_STEPS and kubeapi is not None:
                    import collect_bench

                    cmd = collect_bench.read_command(COLLECT_STEPS[step], kubeapi)
                else:
                    cmd = step_command(step, snapshot, yaml_dir, out)
                if cmd is None:
                    res.unavailable = "no --yaml-dir"
                    continue
                sample, code, stdout, stderr = measure(cmd, HERE.parent)
                if code != 0:
                    if NOT_AVAILABLE in stderr:
                        res.unavailable = "not yet available"
                    else:
                        res.error = (stderr.strip().splitlines() or [f"exit {code}"])[-1]
                    continue
                res.samples.append(sample)
                if step == "floor":
                    res.extra["objects"] = int(stdout.strip() or 0)
                if step == "pdf" and "pages" not in res.extra:
                    pages = pdf_pages(out / "report.pdf")
                    if pages is not None:
                        res.extra["pages"] = pages
                if step == "scan" and "findings" not in res.extra:
                    data = json.loads((out / "report.json").read_bytes())
                    res.extra["findings"] = len(data["findings"])
                    res.extra["report_mb"] = (out / "report.json").stat().st_size / 1e6
                if step in COLLECT_STEPS:
                    read = json.loads(stdout.strip().splitlines()[-1])
                    res.extra.update({k: read[k] for k in ("requests", "items", "objects")})
                shutil.rmtree(out, ignore_errors=True)
                print(
                    f"  {size:7} {step:10} round {r + 1}: {sample.wall:7.2f} s wall "
                    f"{sample.cpu:7.2f} s cpu {sample.rss_mb:8.1f} MB",
                    file=sys.stderr,
                )
    return list(results.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshots", nargs="*", type=Path, help="snapshot files to measure")
    parser.add_argument("--yaml-dir", type=Path, action="append", default=[], help="per snapshot")
    parser.add_argument("--sizes", default=None, help=f"comma list of {','.join(SIZES)}")
    parser.add_argument(
        "--yaml-sizes",
        default=None,
        help="sizes that get the YAML steps too (default: every size given)",
    )
    parser.add_argument(
        "--collect-sizes",
        default="",
        help="sizes that also get the live-collection steps (collect, collect-floor), e.g. 250k",
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mesh-bench")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--yaml-repeat", type=int, default=1)
    parser.add_argument("--steps", default=",".join(ALL_STEPS))
    parser.add_argument(
        "--skip", default="", help="comma list of size:step pairs not to run (e.g. 250k:pdf)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    args = parser.parse_args(argv)

    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in ALL_STEPS and s not in COLLECT_STEPS]
    if unknown:
        parser.error(f"unknown step {unknown[0]} (choose from {', '.join(ALL_STEPS)})")
    with_yaml = any(s.startswith("yaml") for s in steps)
    if any(s.startswith("yaml-scan") for s in steps) and importlib.util.find_spec("ryml") is None:
        # the scan would quietly take the PyYAML reference path for every file (it did, once)
        parser.error(
            "rapidyaml is not installed in this environment, so yaml-scan would measure the "
            "PyYAML fallback: pip install -e . first"
        )
    yaml_sizes = None if args.yaml_sizes is None else set(args.yaml_sizes.split(","))
    meshes: list[tuple[str, Path, Path | None]] = []
    if args.sizes:
        args.workdir.mkdir(parents=True, exist_ok=True)
        for size in (s.strip() for s in args.sizes.split(",")):
            wants_yaml = with_yaml and (yaml_sizes is None or size in yaml_sizes)
            snapshot, yaml_dir = ensure_mesh(size, args.workdir, args.seed, wants_yaml)
            meshes.append((size, snapshot, yaml_dir if wants_yaml else None))
    for i, snapshot in enumerate(args.snapshots):
        yaml_dir = args.yaml_dir[i] if i < len(args.yaml_dir) else None
        label = snapshot.name.removesuffix(".gz").removesuffix(".json")
        meshes.append((label, snapshot, yaml_dir))
    if not meshes:
        parser.error("give snapshot files or --sizes")

    load_before = os.getloadavg()
    started = time.time()
    results: list[Result] = []
    objects: dict[str, int] = {}
    sizes_mb: dict[str, float] = {}
    for label, snapshot, yaml_dir in meshes:
        print(f"{label}: {snapshot}", file=sys.stderr)
        sizes_mb[label] = snapshot.stat().st_size / 1e6
        skipped = {p.split(":", 1)[1] for p in args.skip.split(",") if p.startswith(f"{label}:")}
        size_steps = [s for s in steps if s not in skipped]
        if label in args.collect_sizes.split(","):
            size_steps += [s for s in COLLECT_STEPS if s not in size_steps and s not in skipped]
        size_results = run_size(
            label, snapshot, yaml_dir, size_steps, args.repeat, args.yaml_repeat
        )
        results.extend(size_results)
        count = object_count(snapshot)
        for r in size_results:
            if r.step == "floor" and r.extra.get("objects"):
                count = int(r.extra["objects"])
        if count:
            objects[label] = count
    load_after = os.getloadavg()

    print(
        f"\nmachine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; load average "
        f"before {load_before[0]:.2f}/{load_before[1]:.2f}, after {load_after[0]:.2f}/"
        f"{load_after[1]:.2f} (1/5 min); {time.time() - started:.0f} s total\n"
    )
    print(table(results, objects, sizes_mb))
    labels = [m[0] for m in meshes]
    for a, b in itertools.pairwise(labels):
        text = growth(results, objects, a, b)
        if text:
            print()
            print(text)
    print()
    print(summary(results, objects))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "load_before": load_before,
                    "load_after": load_after,
                    "objects": objects,
                    "results": [
                        {
                            "size": r.size,
                            "step": r.step,
                            "unavailable": r.unavailable,
                            "error": r.error,
                            "extra": r.extra,
                            "samples": [vars(s) for s in r.samples],
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark live collection from the loopback FakeKubeAPI against plain paged GETs + parse.

    .venv/bin/python benchmarks/collect_bench.py --snapshot /work/bench/250k.json.gz
    .venv/bin/python benchmarks/collect_bench.py --copies 200

The server runs in its own process (started by this script, never a child of a measured process,
so neither its CPU nor its memory is counted) and serves `--copies` renamed copies of
fixtures/demo-mesh (each copy in its own namespaces) or the objects of `--snapshot FILE` (e.g. a
mesh of benchmarks/generate.py). Each way of reading the cluster then runs in a fresh process, and
its wall time, CPU (user+sys) and peak RSS (`os.wait4`'s rusage, as benchmarks/run.py measures its
steps) are reported with the requests it sent and the objects it read:

  collector        auditor.input.cluster.live.collect (discovery, concurrent paged lists, orjson,
                   Pod trimming, metadata-only Secrets) plus the Snapshot the checks read
  baseline         exactly the list URLs the collector read (same paths, selectors, Accept, limit,
                   so the same pages), paged one after the other through urllib3, each page parsed
                   with json.loads and kept: no discovery, no Snapshot
  baseline-orjson  the same with orjson.loads
  models           (only when asked for) Pods only, through the client's generated CoreV1Api

Before anything is measured one collector read warms the server up (it records the list URLs the
baselines replay). The fake server answers a list page from a cache of serialized pages filled on
first request (`CachedKubeAPI`): the test server sorts and serializes every object of a kind for
each page, which at 250k objects made the server, not the reader, what was measured.

`benchmarks/run.py` runs the same measurement as its `collect` and `collect-floor` steps
(`start_server`, `read_command`).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubeapi_cache import cached_api_class

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "fixtures" / "demo-mesh"
CLUSTER_SCOPED = {"Namespace", "GatewayClass"}
METHODS = ("collector", "baseline", "baseline-orjson", "models")
DEFAULT_METHODS = ("collector", "baseline", "baseline-orjson")
SERVER_READY_TIMEOUT = 1800.0


# ------------------------------------------------------------------------------ objects served


def demo_objects() -> list[dict[str, Any]]:
    import yaml

    out: list[dict[str, Any]] = []
    for path in sorted(DEMO.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc:
                continue
            out.extend(doc["items"] if str(doc.get("kind", "")).endswith("List") else [doc])
    return out


def generate(copies: int) -> Iterator[dict[str, Any]]:
    """Copy i of every demo object, its namespace (and cluster-scoped names) suffixed with -i."""
    base = demo_objects()
    for i in range(copies):
        for obj in base:
            new = copy.deepcopy(obj)
            meta = new.setdefault("metadata", {})
            for key in ("uid", "resourceVersion"):
                meta.pop(key, None)
            if new["kind"] in CLUSTER_SCOPED:
                meta["name"] = f"{meta['name']}-{i}"
            else:
                meta["namespace"] = f"{meta.get('namespace') or 'default'}-{i}"
            yield new


def snapshot_objects(path: str) -> Iterator[dict[str, Any]]:
    """The objects of a snapshot file, server-set fields left for the fake server to assign."""
    import gzip

    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc = json.loads(data)
    del data
    objects = doc.pop("objects")
    while objects:
        obj = objects.pop()
        meta = obj.setdefault("metadata", {})
        for key in ("uid", "resourceVersion"):
            meta.pop(key, None)
        yield obj


# ------------------------------------------------------------------------------ the server


def serve(workdir: Path, snapshot: str | None, copies: int) -> None:
    """Serve until stdin closes; writes workdir/kubeconfig, server.json, then ready (a count)."""
    import gc
    import logging

    api_class = cached_api_class()
    gc.disable()  # hundreds of thousands of long-lived dicts: nothing cyclic to collect
    with api_class() as api:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        count = api.load_objects(snapshot_objects(snapshot) if snapshot else generate(copies))
        gc.collect()
        gc.freeze()
        api.write_kubeconfig(workdir / "kubeconfig")
        server = {"url": api.url, "ca": str(api.ca_path), "token": api.token}
        (workdir / "server.json").write_text(json.dumps(server))
        (workdir / "ready").write_text(str(count))
        sys.stdin.read()  # the parent closes our stdin (or dies): stop serving


class Server:
    """A running CachedKubeAPI process (see `start_server`); `stop()` ends it."""

    def __init__(self, proc: subprocess.Popen[bytes] | None, workdir: Path, objects: int) -> None:
        self.proc = proc
        self.workdir = workdir
        self.objects = objects
        self.warmup: dict[str, Any] = {}

    def stop(self) -> None:
        if self.proc is None:
            return  # attached to a server this process did not start
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(workdir: Path, snapshot: str | None = None, copies: int = 0) -> Server:
    """Start the server process and warm it up with one collector read (not measured), which
    also records the list URLs the baselines replay (workdir/lists.json)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "ready").unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE), "serve", "--dir", str(workdir), "--copies", str(copies)]
    if snapshot:
        cmd += ["--snapshot", snapshot]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + SERVER_READY_TIMEOUT
    while not (workdir / "ready").exists():
        if proc.poll() is not None:
            raise RuntimeError(f"collect_bench server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("collect_bench server not ready in time")
        time.sleep(0.2)
    time.sleep(0.1)
    server = Server(proc, workdir, int((workdir / "ready").read_text() or 0))
    started = time.perf_counter()
    out = subprocess.run(
        read_command("collector", workdir), cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        server.stop()
        raise RuntimeError(f"warm-up read failed: {out.stderr.strip()[-500:]}")
    server.warmup = {**json.loads(out.stdout.strip().splitlines()[-1]), "seconds": 0.0}
    server.warmup["seconds"] = time.perf_counter() - started
    return server


# ------------------------------------------------------------------------------ the readers


def read_command(method: str, workdir: Path) -> list[str]:
    """The measured process: one read of the served cluster; prints one JSON line."""
    return [sys.executable, str(HERE), "read", method, "--dir", str(workdir)]


def read_collector(workdir: Path) -> dict[str, Any]:
    from auditor.input.cluster import lists as cluster
    from auditor.input.cluster.lists import CollectOptions
    from auditor.input.cluster.live import ClientTransport, LiveOptions, collect

    lists: list[tuple[str, list[list[str]], str]] = []
    list_requests = [0]
    original = ClientTransport.get

    def recording(self: Any, path: str, query: Any, accept: str, *args: Any, **kw: Any) -> Any:
        params = [list(p) for p in query]
        if any(k == "limit" for k, _ in params):
            list_requests[0] += 1
            if not any(k == "continue" for k, _ in params):
                lists.append((path, params, accept))
        return original(self, path, query, accept, *args, **kw)

    items = [0]
    list_page = cluster._list_page

    def counting(doc: Any, list_kind: str) -> Any:
        got = list_page(doc, list_kind)
        items[0] += len(got[0])
        return got

    ClientTransport.get = recording  # type: ignore[method-assign]
    cluster._list_page = counting
    # The default deadline (600 s) is for real clusters; a loaded benchmark machine may need more.
    options = LiveOptions(
        context="prod",
        kubeconfig=str(workdir / "kubeconfig"),
        collect=CollectOptions(deadline=3600.0),
    )
    live = collect(options)
    read = sum(1 for _ in live.snapshot.all_objects())
    failed = {k: s.message for k, s in live.snapshot.collection.items() if s.status != "ok"}
    tmp = workdir / f"lists.json.{os.getpid()}"
    tmp.write_text(json.dumps(lists))
    tmp.replace(workdir / "lists.json")
    return {
        "requests": live.requests,
        "list_requests": list_requests[0],
        "lists": len(lists),
        "items": items[0],
        "objects": read,
        "not_ok": failed,
    }


def read_baseline(workdir: Path, parser: str) -> dict[str, Any]:
    """The list URLs the collector read, paged in turn, each page parsed and kept."""
    import urllib.parse

    import urllib3

    if parser == "orjson":
        import orjson

        loads: Any = orjson.loads
    else:
        loads = json.loads
    server = json.loads((workdir / "server.json").read_text())
    lists = json.loads((workdir / "lists.json").read_text())
    pool = urllib3.PoolManager(ca_certs=server["ca"])
    auth = f"Bearer {server['token']}"
    pages: list[Any] = []
    requests = 0
    for path, params, accept in lists:
        token = ""
        while True:
            query = [tuple(p) for p in params] + ([("continue", token)] if token else [])
            url = f"{server['url']}{path}?{urllib.parse.urlencode(query)}"
            resp = pool.request("GET", url, headers={"Authorization": auth, "Accept": accept})
            requests += 1
            if resp.status != 200:
                raise SystemExit(f"{url}: HTTP {resp.status}")
            page = loads(resp.data)
            pages.append(page)
            token = page["metadata"].get("continue") or ""
            if not token:
                break
    items = sum(len(p.get("items") or []) for p in pages)
    return {
        "requests": requests,
        "list_requests": requests,
        "lists": len(lists),
        "items": items,
        "objects": items,
    }


def read_models(workdir: Path) -> dict[str, Any]:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(workdir / "kubeconfig"), context="prod")
    core = client.CoreV1Api(api)
    pods: list[Any] = []
    requests = 0
    token = None
    while True:
        page = core.list_pod_for_all_namespaces(limit=500, _continue=token)
        requests += 1
        pods.extend(page.items)
        token = page.metadata._continue
        if not token:
            break
    return {
        "requests": requests,
        "list_requests": requests,
        "lists": 1,
        "items": len(pods),
        "objects": len(pods),
    }


def read(method: str, workdir: Path) -> dict[str, Any]:
    if method == "collector":
        return read_collector(workdir)
    if method in ("baseline", "baseline-orjson"):
        return read_baseline(workdir, "orjson" if method.endswith("orjson") else "json")
    if method == "models":
        return read_models(workdir)
    raise ValueError(method)


# ------------------------------------------------------------------------------ measuring


def measure(cmd: list[str]) -> tuple[float, float, float, int, str, str]:
    """Wall s, CPU s (user+sys) and peak RSS MB of one child process alone; code, out, err."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), stdout, stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "serve", "read"))
    parser.add_argument("method", nargs="?", default="", help="read: one of " + ", ".join(METHODS))
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--snapshot", default=None, help="serve this snapshot's objects instead")
    parser.add_argument("--dir", type=Path, default=None, help="server work directory")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per method (median)")
    parser.add_argument(
        "--attach",
        action="store_true",
        help="measure against the server already running in --dir (its lists.json recorded)",
    )
    args = parser.parse_args(argv)

    if args.mode == "serve":
        serve(args.dir, args.snapshot, args.copies)
        return 0
    if args.mode == "read":
        print(json.dumps(read(args.method, args.dir)))
        return 0

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method {unknown[0]} (choose from {', '.join(METHODS)})")
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="collect-bench-"))
    what = args.snapshot or f"{args.copies} copies of demo-mesh"
    started = time.perf_counter()
    if args.attach:
        server = Server(None, workdir, int((workdir / "ready").read_text() or 0))
        what = f"server in {workdir}"
    else:
        server = start_server(workdir, args.snapshot, args.copies)
        took = time.perf_counter() - started
        print(
            f"{server.objects} objects served ({what}); server ready and warmed up in "
            f"{took:.0f} s (warm-up read {server.warmup['seconds']:.1f} s)",
            file=sys.stderr,
        )
    rows: list[tuple[str, dict[str, Any], float, float, float]] = []
    try:
        samples: dict[str, list[tuple[float, float, float, dict[str, Any]]]] = {}
        for r in range(args.repeat):
            for method in methods:
                wall, cpu, rss, code, out, err = measure(read_command(method, workdir))
                if code != 0:
                    print(f"{method}: exit {code}: {err.strip()[-500:]}", file=sys.stderr)
                    return 1
                info = json.loads(out.strip().splitlines()[-1])
                samples.setdefault(method, []).append((wall, cpu, rss, info))
                print(
                    f"  {method:16} round {r + 1}: {wall:7.2f} s wall {cpu:7.2f} s cpu "
                    f"{rss:8.1f} MB",
                    file=sys.stderr,
                )
        import statistics

        for method in methods:
            got = samples[method]
            med = [statistics.median(s[i] for s in got) for i in range(3)]
            rows.append((method, got[0][3], med[0], med[1], med[2]))
    finally:
        server.stop()

    lists = len(json.loads((workdir / "lists.json").read_text()))
    print(f"{server.objects} objects served ({what}); {lists} lists")
    print(
        "| method | requests | list pages | wall s | cpu s | peak RSS MB | items on pages "
        "| objects kept |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, info, wall, cpu, rss in rows:
        print(
            f"| {method} | {info['requests']} | {info['list_requests']} | {wall:.2f} | {cpu:.2f} "
            f"| {rss:.0f} | {info['items']} | {info['objects']} |"
        )
        if info.get("not_ok"):
            print(f"  (not read: {info['not_ok']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

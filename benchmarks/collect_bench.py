"""Benchmark live collection from the loopback FakeKubeAPI against plain paged GETs + json.loads.

    .venv/bin/python -m benchmarks.collect_bench --copies 200

The server runs in a child process (so its work neither shares the GIL with nor is counted in the
memory of the measured process) with `--copies` renamed copies of fixtures/demo-mesh (each copy
in its own namespaces). Three ways of reading the same cluster are measured, each once for time
and once under tracemalloc for peak Python memory:

  collector   auditor.collect.live.collect (discovery, concurrent paged lists, orjson, Pod trimming,
              metadata-only Secrets) plus building the Snapshot the checks read
  baseline    the same list URLs (what the collector listed), paged with limit=500 one after the
              other through urllib3, each page parsed with json.loads and kept
  models      Pods only, through the client's generated API (CoreV1Api, model deserialization)

`--snapshot FILE` serves the objects of a mesh-audit snapshot instead, e.g. the large mesh of
benchmarks/generate.py (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing as mp
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import urllib3
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "fixtures" / "demo-mesh"
CLUSTER_SCOPED = {"Namespace", "GatewayClass"}


def demo_objects() -> list[dict[str, Any]]:
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
    for obj in json.loads(data)["objects"]:
        meta = obj.setdefault("metadata", {})
        for key in ("uid", "resourceVersion"):
            meta.pop(key, None)
        yield obj


def serve(copies: int, kubeconfig: str, ready: Any, stop: Any, snapshot: str | None = None) -> None:
    from tests.kubeapi import FakeKubeAPI

    with FakeKubeAPI() as api:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        count = api.load_objects(snapshot_objects(snapshot) if snapshot else generate(copies))
        api.write_kubeconfig(kubeconfig)
        ready.put(count)
        stop.wait()


def measure(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    del result
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--snapshot", default=None, help="serve this snapshot's objects instead")
    args = parser.parse_args()

    from kubernetes import client, config

    from auditor.collect.cluster import CollectOptions
    from auditor.collect.live import LiveOptions, collect, configure

    tmp = Path(tempfile.mkdtemp(prefix="collect-bench-"))
    kubeconfig = str(tmp / "kubeconfig")
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(
        target=serve, args=(args.copies, kubeconfig, ready, stop, args.snapshot), daemon=True
    )
    server.start()
    objects = ready.get(timeout=600)
    try:
        options = LiveOptions(context="prod", kubeconfig=kubeconfig, collect=CollectOptions())
        seconds, peak, live = measure(lambda: collect(options))
        lists = sorted({path for path, _ in _listed(live)})
        read = sum(1 for _ in live.snapshot.all_objects())
        rows = [("collector", live.requests, seconds, peak, read)]

        cfg, _ = configure(options)
        pool = urllib3.PoolManager(ca_certs=cfg.ssl_ca_cert)
        headers = {"Authorization": cfg.auth_settings()["BearerToken"]["value"]}
        counter = [0]

        def baseline() -> list[Any]:
            pages: list[Any] = []
            counter[0] = 0
            for path, accept in _listed(live):
                token = ""
                while True:
                    url = f"{cfg.host}{path}?limit=500" + (f"&continue={token}" if token else "")
                    resp = pool.request("GET", url, headers={**headers, "Accept": accept})
                    counter[0] += 1
                    page = json.loads(resp.data)
                    pages.append(page)
                    token = page["metadata"].get("continue") or ""
                    if not token:
                        break
            return pages

        seconds, peak, pages = measure(baseline)
        items = sum(len(p.get("items") or []) for p in pages)
        rows.append(("baseline", counter[0], seconds, peak, items))

        api = config.new_client_from_config(config_file=kubeconfig, context="prod")
        core = client.CoreV1Api(api)

        def models() -> list[Any]:
            pods: list[Any] = []
            counter[0] = 0
            token = None
            while True:
                page = core.list_pod_for_all_namespaces(limit=500, _continue=token)
                counter[0] += 1
                pods.extend(page.items)
                token = page.metadata._continue
                if not token:
                    return pods

        seconds, peak, pods = measure(models)
        rows.append(("models (Pods only)", counter[0], seconds, peak, len(pods)))
    finally:
        stop.set()
        server.join(timeout=10)

    what = args.snapshot or f"{args.copies} copies of demo-mesh"
    print(f"{objects} objects served ({what}); {len(lists)} lists")
    print(f"{'method':<20}{'requests':>10}{'seconds':>10}{'peak MiB':>10}{'objects':>10}")
    for name, requests, secs, mem, count in rows:
        print(f"{name:<20}{requests:>10}{secs:>10.2f}{mem / 2**20:>10.1f}{count:>10}")


def _listed(live: Any) -> list[tuple[str, str]]:
    """The list URLs the collector read (one per kind; Secrets as metadata, plus two typed)."""
    from auditor.collect.cluster import METADATA_LIST
    from auditor.kinds import KINDS

    out: list[tuple[str, str]] = []
    for spec in KINDS:
        status = live.snapshot.collection[spec.key]
        if status.status != "ok":
            continue
        prefix = f"/apis/{spec.group}/{status.version}" if spec.group else f"/api/{status.version}"
        if spec.kind == "ConfigMap":
            out.append((f"{prefix}/namespaces/istio-system/configmaps", "application/json"))
        elif spec.metadata_only:
            out.append((f"{prefix}/{spec.plural}", METADATA_LIST))
        else:
            out.append((f"{prefix}/{spec.plural}", "application/json"))
    return out


if __name__ == "__main__":
    main()

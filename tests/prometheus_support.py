"""A real Prometheus on loopback, loaded with backfilled series (Debian package `prometheus`).

The series are written as OpenMetrics, turned into TSDB blocks by
`promtool tsdb create-blocks-from openmetrics`, and served by `prometheus` started on a free
loopback port with a retention that keeps them. scripts/test.sh installs the package; without
it the tests skip, unless MESH_AUDIT_REQUIRE_TOOLS is set (test.sh sets it), when they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CONFIG = "global:\n  scrape_interval: 1h\nscrape_configs: []\n"


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        reason = "prometheus/promtool not installed (Debian package `prometheus`)"
        if os.environ.get("MESH_AUDIT_REQUIRE_TOOLS"):
            pytest.fail(reason + "; scripts/test.sh installs it")
        pytest.skip(reason)
    return prometheus, promtool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prometheus_with(openmetrics: str, workdir: Path, *, retention: str = "30d") -> Iterator[str]:
    """Start Prometheus over the series; yield its base URL; stop it."""
    prometheus, promtool = binaries()
    data = workdir / "tsdb"
    data.mkdir(parents=True)
    source = workdir / "series.om"
    source.write_text(openmetrics, encoding="utf-8")
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = workdir / "prometheus.yml"
    config.write_text(CONFIG, encoding="utf-8")
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--storage.tsdb.retention.time={retention}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, workdir)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                "prometheus exited: " + (workdir / "prometheus.log").read_text()[-2000:]
            )
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("prometheus did not become ready in 60s")

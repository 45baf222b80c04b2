#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls exactly this).
# Creates .venv if needed, installs mesh-audit with its test tools (kubectl and MkDocs come with
# the `test` extra), then lint, types, the documentation site, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# --no-compile: nothing byte-compiled ahead; the modules the run imports compile as they are
# first imported (most installed files never are: about 15 CPU-seconds less on a fresh clone)
.venv/bin/python -m pip install -q --no-compile -e '.[test]'
# Real services and tools the tests run on loopback: Prometheus and promtool (Debian package
# `prometheus`; tests/prometheus_support.py), pdftotext (`poppler-utils`; PDFs read back), and
# chromium with a word list (`chromium`, `wamerican`; report.html laid out in a real browser by
# tests/report/test_report_browser.py through Playwright, never `playwright install`).
# Installed here when missing and apt-get can. Under MESH_AUDIT_REQUIRE_TOOLS every skipped test
# fails (tests/conftest.py): the run reports 0 skipped or fails. A package's own service is not
# started (policy-rc.d).
need=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/dict/words ] || need+=(wamerican)
if ((${#need[@]})) && command -v apt-get >/dev/null 2>&1; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  policy=""
  if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  fi
  install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
    --no-install-recommends "${need[@]}")
  if ! "${install[@]}" >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -q >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1 ||
      echo "scripts/test.sh: could not install ${need[*]}; the tests that need them fail" >&2
  fi
  [ -z "$policy" ] || rm -f "$policy"
fi
export MESH_AUDIT_REQUIRE_TOOLS=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The documentation site: a broken link or anchor, or a page missing from the navigation, fails.
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet  # into site/, git-ignored
# In this one process: the fewest CPU-seconds (benchmarks/README.md, "#33 test suite"). On a machine
# with idle cores, `./scripts/test.sh -n auto --dist loadgroup` runs a worker per core
# (pytest-xdist; tests that share an expensive fixture stay in one worker, tests/conftest.py):
# less wall time, more CPU time.
.venv/bin/pytest "$@"

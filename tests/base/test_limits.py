"""The limits docs/limits.md states, each at its edge (issue #20, item 5): the file count of a
directory, the --mesh-config size, YAML and JSON nesting, a 50 MB scalar, a 10,000-file
directory; and the hostile-string corpus through HTML and PDF (item 3).

Limits are lowered with monkeypatch where the real value would need gigabytes on disk; the
10,000-file directory and the 50 MB scalar are real.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.base.limits import LIMITS
from auditor.input.files import load_paths
from auditor.input.kinds import kind_key
from auditor.report.terminal_text import MESSAGE_CAP_FACTOR
from tests.robustness_support import CONTROL, HOSTILE, assert_clean_exit, demo_copy, run

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: tenant\n"


def scan(*args: str, codes: tuple[int, ...] = (0,)) -> Any:
    result = run("scan", *args)
    assert_clean_exit(result, codes)
    return result


def error_line(*args: str) -> str:
    result = scan(*args, codes=(2,))
    return result.stderr.strip().removeprefix("mesh-audit: error: ")


# ---- files under one --from directory -------------------------------------------------------


def test_a_directory_over_the_file_cap_is_refused_not_half_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LIMITS, "max_files", 20)
    mesh = tmp_path / "mesh"
    (mesh / "sub").mkdir(parents=True)
    for i in range(20):
        (mesh / "sub" / f"cm-{i:02}.yaml").write_text(CONFIGMAP.format(name=f"cm-{i}"))
    out = tmp_path / "out"
    scan("--from", str(mesh), "--format", "json", "--output-dir", str(out))  # 20: read
    (mesh / "cm-20.yaml").write_text(CONFIGMAP.format(name="cm-20"))  # 21: refused
    assert error_line("--from", str(mesh), "--format", "json", "--output-dir", str(out)) == (
        f"{mesh}: more than 20 files to read (docs/limits.md)"
    )


def test_a_ten_thousand_file_directory_is_read_whole(tmp_path: Path) -> None:
    """kubectl's per-object dumps (one file per object) of a small cluster: every file is read."""
    mesh = tmp_path / "mesh"
    mesh.mkdir()
    for i in range(10_000):
        (mesh / f"cm-{i:05}.yaml").write_text(CONFIGMAP.format(name=f"cm-{i:05}"))
    out = tmp_path / "out"
    scan("--from", str(mesh), "--format", "json", "--output-dir", str(out))
    data = json.loads((out / "report.json").read_text())
    assert data["inventory"] == {"ConfigMap": 10_000}
    assert data["warnings"] == []


# ---- --mesh-config ---------------------------------------------------------------------------


def test_mesh_config_over_its_cap_is_refused_not_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LIMITS, "max_mesh_config_bytes", 4096)
    mesh = demo_copy(tmp_path)
    config = tmp_path / "mesh.yaml"
    head = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
    config.write_text(head + "#" * (4096 - len(head) - 1) + "\n")  # exactly at the cap: read
    out = tmp_path / "out"
    scan("--from", str(mesh), "--mesh-config", str(config), "--output-dir", str(out))
    # one byte more: refused, so a setting past the cap can never be silently dropped
    config.write_text(head + "#" * (4096 - len(head)) + "\n")
    assert error_line("--from", str(mesh), "--mesh-config", str(config)) == (
        f"{config}: larger than 4,096 bytes (docs/limits.md)"
    )


def test_mesh_config_that_is_a_fifo_or_device_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "mesh.fifo"
    os.mkfifo(fifo)
    assert error_line("--from", str(tmp_path), "--mesh-config", str(fifo)) == (
        f"{fifo}: not a regular file"
    )
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert error_line("--from", str(tmp_path), "--mesh-config", str(link)) == (
        f"{link}: not a regular file"
    )


# ---- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "where", "problem"),
    [
        # libyaml refuses flow and block nesting past 1,000 levels, with line and column
        (
            "flow.yaml",
            "data:\n  x: " + "[" * 1001 + "]" * 1001 + "\n",
            "8:1004",
            "invalid YAML: exceeded maximum nesting depth "
            "(while increasing flow level started at line 8, column 1004)",
        ),
        (
            "block.yaml",
            "data:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 1100)) + "  v: 1\n",
            "1006:2003",
            "invalid YAML: exceeded maximum nesting depth "
            "(while increasing block level started at line 1006, column 2003)",
        ),
    ],
)
def test_yaml_nesting_past_libyamls_depth_is_one_line(
    tmp_path: Path, name: str, body: str, where: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(CONFIGMAP.format(name="deep") + "  labels: {}\n" + body)
    assert error_line("--from", str(path)) == f"{path}:{where}: {problem}"


def test_json_nesting_past_the_parsers_depth_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"b"},'
        '"data":{"x":' + "[" * 2000 + "]" * 2000 + "}}"
    )
    assert error_line("--from", str(path)) == f"{path}:1:1114: invalid JSON: depth limit exceeded"


# ---- a 50 MB scalar --------------------------------------------------------------------------


def test_a_50_mb_scalar_ends_in_a_bounded_run(tmp_path: Path) -> None:
    """A 50 MB annotation value leaves its object out (over the API server's 256 KiB); a 50 MB
    Gateway host is kept whole in report.json and shown capped in HTML and the terminal."""
    huge = "a" * (50 * 1024 * 1024)
    mesh = demo_copy(
        tmp_path,
        {
            "40-shop.yaml": [
                (  # into the cart Deployment's own annotations (a repeated key is refused)
                    '    deployment.kubernetes.io/revision: "1"\n  creationTimestamp: '
                    '"2025-01-20T10:35:18Z"\n  generation: 2\n  labels:\n    app: cart\n',
                    f'    deployment.kubernetes.io/revision: "1"\n    note: {huge}\n'
                    '  creationTimestamp: "2025-01-20T10:35:18Z"\n  generation: 2\n  labels:\n'
                    "    app: cart\n",
                )
            ],
            "20-istio-ingress.yaml": [
                (
                    "      - shop.example.com\n      port:\n        name: https-shop",
                    f"      - shop.example.com\n      - {huge}.com\n      port:\n"
                    "        name: https-shop",
                )
            ],
        },
    )
    out = tmp_path / "out"
    result = scan("--from", str(mesh), "--format", "json,html", "--output-dir", str(out))
    data = json.loads((out / "report.json").read_text())
    assert [(w["kind"], w["name"], w["problem"]) for w in data["warnings"]] == [
        (
            "Deployment",
            "cart",
            "metadata.annotations: 52428838 characters in all, over the API server's limit of "
            "262144; object skipped",
        )
    ]
    assert [e["host"] for e in data["exposure"] if len(e["host"]) > 253] == [f"{huge}.com"]
    html = (out / "report.html").read_text()
    assert "a" * 1001 not in html
    assert html.count("a" * 1000 + "… (52,427,804 more characters in report.json)") == 1
    # the terminal prints a finding's message whole up to four times the rendered-text cap (room
    # for several tenant strings; here ISO001 names the host) and says what report.json holds
    cap = LIMITS.max_rendered_chars * MESSAGE_CAP_FACTOR
    assert "a" * (cap + 1) not in result.stdout
    assert re.search(r"a{1000} \[[\d,]+ more characters in report\.json\]", result.stdout)


# ---- hostile strings in HTML and PDF ---------------------------------------------------------


def test_hostile_strings_are_inert_in_html_and_pdf(tmp_path: Path) -> None:
    """The corpus the text outputs are tested with, as hosts: HTML escapes markup (autoescape)
    and shows control and bidi characters as visible escapes; the PDF renders and reads back
    with the same escapes; report.json keeps every value whole."""
    from pypdf import PdfReader

    yaml_hosts = "".join(
        f'  - "h{i}.example.com{json.dumps(text)[1:-1]}"\n' for i, text in enumerate(HOSTILE)
    )
    mesh = demo_copy(
        tmp_path,
        {"50-payments.yaml": [("    - api.github.com\n", yaml_hosts.replace("  -", "    -"))]},
    )
    out = tmp_path / "out"
    scan("--from", str(mesh), "--format", "json,html,pdf", "--output-dir", str(out))
    raw = (out / "report.json").read_text()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not CONTROL.search(html.replace("\n", "").replace("\t", ""))
    assert "<b>&amp;</script>" not in html
    assert "&lt;b&gt;&amp;amp;&lt;/script&gt;" in html.replace("<wbr>", "")
    assert "\\x1b]0;pwned\\x07" in html.replace("<wbr>", "")  # hosts are lowercased
    assert "\\u202egnp.exe" in html.replace("<wbr>", "")
    assert "h3.example.com\u202egnp.exe" in json.loads(raw)["egress"][0]["host"] or any(
        e["host"] == "h3.example.com\u202egnp.exe" for e in json.loads(raw)["egress"]
    )
    text = "".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    assert not CONTROL.search(text.replace("\n", "").replace("\t", ""))
    flat = re.sub(r"\s", "", text)
    assert "h0.example.com\\x1b]0;pwned\\x07" in flat
    assert "h3.example.com\\u202egnp.exe" in flat


def test_a_json_manifest_with_an_unpaired_surrogate_escape_is_one_line(tmp_path: Path) -> None:
    """JSON input (files, snapshots, API answers) goes through orjson, which refuses a lone
    surrogate escape, so no object in memory ever holds one (the fuzz suite relies on this)."""
    path = tmp_path / "svc.json"
    path.write_text(
        '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},'
        '"spec":{"ports":[{"port":80,"protocol":"\\ud800"}]}}'
    )
    assert error_line("--from", str(path)) == (
        f"{path}:1:122: invalid JSON: no low surrogate in string"
    )


# ---- found by the 22,000-example fuzz run ------------------------------------------------------


def test_mistyped_endpointslice_and_webhook_fields_skip_the_object(tmp_path: Path) -> None:
    """EndpointSlices and webhook configurations get the same shape check as every other kind;
    `endpoints: null` and `ports: null`, which the API server writes for an empty slice, are
    read as absent without a warning."""
    path = tmp_path / "objects.yaml"
    path.write_text(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: partner-1, namespace: shop, labels: "
        "{kubernetes.io/service-name: partner}}\n"
        "addressType: IPv4\nendpoints:\n- addresses: 614\nports: null\n"
        "---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: empty-1, namespace: shop}\naddressType: IPv4\n"
        "endpoints: null\nports: null\n"
        "---\n"
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n"
        "metadata: {name: istio-sidecar-injector}\n"
        "webhooks:\n- name: rev.namespace.sidecar-injector.istio.io\n"
        "  namespaceSelector: 7\n"
    )
    snapshot = load_paths([str(path)])
    assert sorted((w.kind, w.name, w.problem) for w in snapshot.warnings) == [
        (
            "EndpointSlice",
            "partner-1",
            "endpoints[0].addresses: expected a list, got number; object skipped",
        ),
        (
            "MutatingWebhookConfiguration",
            "istio-sidecar-injector",
            "webhooks[0].namespaceSelector: expected a mapping, got number; object skipped",
        ),
    ]
    assert [o.name for o in snapshot.objects(kind_key("discovery.k8s.io", "EndpointSlice"))] == [
        "empty-1"
    ]

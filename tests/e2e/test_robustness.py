"""Every reproducer of issue #20, each a regression case: exit 0 or 2, one line, no traceback;
tenant strings inert in the terminal, CSV, SARIF and JUnit; bombs and limits bounded."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from auditor.base.limits import LIMITS
from auditor.base.text import inert, safe_file_name
from auditor.input.files import load_paths
from auditor.report import formats
from tests.helpers import DEMO
from tests.robustness_support import CONTROL, HOSTILE, assert_clean_exit, demo_copy, run

INGRESS = "20-istio-ingress.yaml"
SHOP = "40-shop.yaml"
ESC = "\\e]0;PWNED\\a"  # as a YAML double-quoted escape
FORMATS = "json,csv,sarif,junit,html"


def scan_ok(mesh: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = run("scan", "--from", str(mesh), "--format", FORMATS, "--output-dir", str(out), *extra)
    assert_clean_exit(result, (0,))
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    return data


def scan_error(*args: str) -> str:
    result = run("scan", *args)
    assert_clean_exit(result, (2,))
    return result.stderr.strip().removeprefix("mesh-audit: error: ")


def warnings_of(data: dict[str, Any]) -> list[str]:
    return [f"{w['kind']} {w['name']}: {w['problem']}" for w in data["warnings"]]


# ---- the text outputs never carry a control character -------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_leaves_no_control_character(text: str) -> None:
    out = inert(text)
    assert not CONTROL.search(out)
    assert "\x1b" not in out
    assert inert("plain text, ünïcode 名前") == "plain text, ünïcode 名前"
    assert inert("a\x1bb") == "a\\x1bb"
    assert inert("x" * 50, 10) == "x" * 9 + "…"
    assert inert("line\nnext", keep="\n") == "line\nnext"
    assert inert("\ud800") == "\\ud800"


def test_safe_file_name() -> None:
    assert safe_file_name("../../etc/passwd\x1b]0;x\x07") == "_.._etc_passwd_x1b]0;x_x07"
    assert safe_file_name("..") == "_"
    assert len(safe_file_name("a" * 500)) == 100


def test_terminal_csv_sarif_junit_carry_no_escape_from_hosts_and_protocols(
    tmp_path: Path,
) -> None:
    mesh = demo_copy(
        tmp_path,
        {
            INGRESS: [
                (
                    "      - shop.example.com\n      port:\n        name: https-shop\n"
                    "        number: 443\n        protocol: HTTPS",
                    f'      - "shop.example.com{ESC}"\n      port:\n        name: https-shop\n'
                    f'        number: 443\n        protocol: "HTTPS{ESC}"',
                )
            ],
            SHOP: [("  - shop.example.com\n  http:", f'  - "shop.example.com{ESC}"\n  http:')],
            # an egress host: the terminal lists every external host (the exposure list is capped
            # at 10 lines, and the hostile listener is no longer among the first ten)
            "50-payments.yaml": [("    - api.github.com\n", f'    - "api.github.com{ESC}"\n')],
        },
    )
    out = tmp_path / "out"
    result = run("scan", "--from", str(mesh), "--format", FORMATS, "--output-dir", str(out))
    assert_clean_exit(result, (0,))
    assert "pwned" in result.stdout.lower()  # the host is shown (hosts are lowercased) ...
    assert not CONTROL.search(result.stdout)  # ... but cannot act
    assert "\\u001b]0;PWNED" in (out / "report.json").read_text()  # full value kept there
    for name in ("report.csv", "report.sarif", "report.junit.xml"):
        text = (out / name).read_text(encoding="utf-8")
        assert "\x1b" not in text, name
        assert not CONTROL.search(text.replace("\r", "").replace("\t", "")), name


def test_baseline_and_diff_strings_are_inert(tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = scan_ok(DEMO, out)
    evil = dict(data)
    evil["generated_at"] = "2026-01-01T00:00:00Z\x1b]0;PWNED\x07"
    evil["source"] = {**data["source"], "paths": ["/x\x1b[2J"]}
    finding = dict(data["findings"][0])
    finding["path"] = "spec\x1b]0;PWNED\x07"
    finding["id"] = "GW001-00000000000000aa"
    evil["findings"] = [finding]
    old = tmp_path / "old.json"
    old.write_bytes(orjson.dumps(evil))
    result = run("diff", str(old), str(out / "report.json"))
    assert_clean_exit(result, (0,))
    assert "PWNED" in result.stdout
    assert not CONTROL.search(result.stdout)
    result = run("scan", "--from", str(DEMO), "--baseline", str(old))
    assert_clean_exit(result, (0,))
    assert not CONTROL.search(result.stdout)


# ---- manifests: shapes that could never reach a cluster --------------------------------------


@pytest.mark.parametrize(
    ("edits", "warning"),
    [
        pytest.param(
            {
                INGRESS: [
                    (
                        "    servers:\n    - hosts:\n      - shop.example.com",
                        "    servers:\n    - null\n    - hosts:\n      - shop.example.com",
                    )
                ]
            },
            "Gateway shop-gateway: spec.servers[0]: is null; object skipped",
            id="null-list-item",
        ),
        pytest.param(
            {SHOP: [("  - name: http\n    port: 80\n", "  - name: http\n    port: null\n")]},
            None,
            id="null-service-port",
        ),
        pytest.param(
            {
                INGRESS: [
                    (
                        "    ownerReferences:\n    - apiVersion: apps/v1\n"
                        "      blockOwnerDeletion: true\n      controller: true\n"
                        "      kind: ReplicaSet\n      name: istio-ingressgateway-7d4f9c8b6\n"
                        "      uid: 59388aef-bc17-5420-abaa-6655cb3c6711\n",
                        "    ownerReferences: true\n",
                    )
                ]
            },
            "Pod istio-ingressgateway-7d4f9c8b6-k2mzq: metadata.ownerReferences: "
            "expected a list, got boolean; object skipped",
            id="ownerReferences-true",
        ),
        pytest.param(
            {SHOP: [("  - name: http\n    port: 80\n", f"  - name: http\n    port: {2**70}\n")]},
            "Service frontend: spec.ports[0].port: expected an integer, got number; object skipped",
            id="port-2^70",
        ),
        pytest.param(
            {SHOP: [("  - name: http\n    port: 80\n", "  - name: http\n    port: 70000\n")]},
            "Service frontend: spec.ports[0].port: port 70000 is outside 1-65535; object skipped",
            id="port-out-of-range",
        ),
        pytest.param(
            {
                SHOP: [
                    (
                        "  - name: http\n    port: 80\n",
                        "  - name: http\n    port: !!timestamp 2024-13-01\n",
                    )
                ]
            },
            "Service frontend: spec.ports[0].port: expected an integer, got string "
            "'2024-13-01'; object skipped",
            id="timestamp-tag-kept-as-text",
        ),
    ],
)
def test_mistyped_fields_skip_the_object_with_a_warning(
    tmp_path: Path, edits: dict[str, list[tuple[str, str]]], warning: str | None
) -> None:
    data = scan_ok(demo_copy(tmp_path, edits), tmp_path / "out")
    if warning is not None:
        assert warning in warnings_of(data)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!bool maybe", ":6:11: invalid YAML: 'maybe' is not a boolean (tag !!bool)"),
        ("!!int abc", ":6:11: invalid YAML: 'abc' is not an integer (tag !!int)"),
        ("!!float x1", ":6:11: invalid YAML: 'x1' is not a number (tag !!float)"),
        ("!!binary aGk=", ":6:11: invalid YAML: !!binary values are not read"),
    ],
)
def test_explicit_tags_that_do_not_construct_are_one_line(
    tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
        f"spec:\n  ports:\n  - port: {value}\n"
    )
    assert message in scan_error("--from", str(path))


def test_non_string_keys_are_read_as_kubectl_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
        "  labels: {8080: port, null: x, 1.5: f}\n"
    )
    snapshot = load_paths([str(path)])
    [ns] = snapshot.objects("Namespace")
    assert ns.labels == {"8080": "port", "null": "x", "1.5": "f"}


def test_surrogates_are_refused_in_yaml_and_in_saved_reports(tmp_path: Path) -> None:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text('outboundTrafficPolicy:\n  mode: "\\ud800"\n')
    message = scan_error("--from", str(DEMO), "--mesh-config", str(mesh))
    assert message.startswith(f"{mesh}:2:12: invalid YAML: found invalid Unicode character")
    out = tmp_path / "out"
    scan_ok(DEMO, out)
    text = (out / "report.json").read_text().replace("istio-system", "istio\\ud800system", 1)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    result = run("render", str(bad), "--output-dir", str(tmp_path / "r"))
    assert_clean_exit(result, (2,))
    assert "not valid JSON" in result.stderr


def test_mesh_config_fields_are_typed(tmp_path: Path) -> None:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("outboundTrafficPolicy:\n  mode: [REGISTRY_ONLY]\n")
    assert scan_error("--from", str(DEMO), "--mesh-config", str(mesh)) == (
        f"{mesh}: outboundTrafficPolicy.mode: expected a string, got list"
    )
    mesh.write_text("outboundTrafficPolicy:\n  mode: REGISTRY_ONLYY\n")
    assert scan_error("--from", str(DEMO), "--mesh-config", str(mesh)) == (
        f"{mesh}: outboundTrafficPolicy.mode: 'REGISTRY_ONLYY' is not one of "
        "ALLOW_ANY, REGISTRY_ONLY"
    )


# ---- waivers and baselines -------------------------------------------------------------------


def test_waivers_latin1_surrogate_and_impossible_date(tmp_path: Path) -> None:
    w = tmp_path / "waivers.yaml"
    w.write_bytes("waivers:\n- check: GW001\n  reason: café\n".encode("latin-1"))
    assert scan_error("--from", str(DEMO), "--waivers", str(w)) == (
        f"{w}: not UTF-8 text (byte 37)"
    )
    w.write_text('waivers:\n- check: GW001\n  reason: "\\ud800"\n')
    assert "invalid Unicode character escape" in scan_error(
        "--from", str(DEMO), "--waivers", str(w)
    )
    entries = "".join(f"- check: GW00{i}\n  reason: r\n" for i in range(1, 4))
    w.write_text(f"waivers:\n{entries}- check: GW001\n  reason: r\n  expires: 2026-02-30\n")
    assert scan_error("--from", str(DEMO), "--waivers", str(w)) == (
        f"{w}: waivers[3].expires: 2026-02-30 is not a date (YYYY-MM-DD)"
    )


def test_baseline_with_a_string_tool_or_partial_findings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = scan_ok(DEMO, out)
    base = tmp_path / "base.json"
    base.write_bytes(orjson.dumps({**data, "tool": "mesh-audit"}))
    assert scan_error("--from", str(DEMO), "--baseline", str(base)) == (
        f"{base}: not a mesh-audit report.json (no tool.name 'mesh-audit')"
    )
    partial = [{"id": "GW001-00000000000000aa", "check": "GW001"}]
    base.write_bytes(orjson.dumps({**data, "findings": partial}))
    message = scan_error("--from", str(DEMO), "--baseline", str(base))
    assert message.startswith(f"{base}: findings[0]: 'category' is a required property")
    result = run("diff", str(base), str(out / "report.json"))
    assert_clean_exit(result, (2,))


# ---- bombs and bounds ------------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    levels = ['  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        levels.append(f"  {name}: &{name} [{','.join(['*' + prev] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: bomb, namespace: shop}\nspec:\n  hosts: [x]\n" + "\n".join(levels) + "\n"
    )
    assert scan_error("--from", str(path)) == (
        f"{path} document 1: YAML aliases expand to more than 10000 extra nodes "
        "(an alias bomb?); refused (docs/limits.md)"
    )
    recursive = tmp_path / "recursive.yaml"
    recursive.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\nloop: &l [*l]\n")
    assert "alias bomb" in scan_error("--from", str(recursive))


def test_a_few_anchors_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
        "  labels: &l {team: a, tier: b}\n  annotations: *l\n"
    )
    [ns] = load_paths([str(path)]).objects("Namespace")
    assert ns.annotations == {"team": "a", "tier": "b"}


def test_gzip_bomb_and_long_snapshot_lines_are_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LIMITS, "max_file_bytes", 1 << 16)
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b"[" + b" " * (1 << 20) + b"]"))
    assert scan_error("--from", str(bomb)) == (
        f"{bomb}: decompressed content is larger than 65536 bytes, the input limit (docs/limits.md)"
    )
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (1 << 17) + "\n")
    assert scan_error("--from", str(big)) == (
        f"{big}: file is larger than 65536 bytes, the input limit (docs/limits.md)"
    )
    monkeypatch.setattr(LIMITS, "max_file_bytes", 1 << 30)
    monkeypatch.setattr(LIMITS, "max_object_line_bytes", 1 << 12)
    snap = tmp_path / "snap.json"
    head = b'{"apiVersion":"mesh-audit.dev/v1","kind":"MeshAuditSnapshot","objects":[\n'
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x" * 5000}}
    snap.write_bytes(head + orjson.dumps(obj) + b"\n]}\n")
    assert scan_error("--from", str(snap)) == (
        f"{snap}: an object line is longer than 4096 bytes, the limit for one object "
        "(docs/limits.md)"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_device_links_in_an_input_dir_are_skipped_with_a_warning(tmp_path: Path) -> None:
    mesh = demo_copy(tmp_path)
    os.mkfifo(mesh / "pipe.yaml")
    (mesh / "zero.yaml").symlink_to("/dev/zero")
    (mesh / "dangling.yaml").symlink_to(tmp_path / "missing")
    data = scan_ok(mesh, tmp_path / "out")
    problems = {w["source"]: w["problem"] for w in data["warnings"] if w["kind"] is None}
    assert problems[str(mesh / "pipe.yaml")] == "a FIFO, not a regular file; not read"
    assert problems[str(mesh / "zero.yaml")] == (
        "a device (through a symbolic link), not a regular file; not read"
    )
    assert problems[str(mesh / "dangling.yaml")].startswith("broken symbolic link")
    only = tmp_path / "only"
    only.mkdir()
    os.mkfifo(only / "pipe.yaml")
    assert scan_error("--from", str(only)) == (
        f"nothing could be read from {only}: {only / 'pipe.yaml'}: "
        "a FIFO, not a regular file; not read"
    )


def test_unreadable_subdirectory_and_file_are_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root in CI, where chmod 000 does not stop reading: the OS refusal is faked.
    mesh = demo_copy(tmp_path)
    (mesh / "secret-dir").mkdir()
    (mesh / "secret-dir" / "x.yaml").write_text("apiVersion: v1\n")
    locked_dir, locked_file = mesh / "secret-dir", mesh / "40-shop.yaml"
    real_scandir, real_open = os.scandir, Path.open

    def scandir(path: Any = ".") -> Any:
        if isinstance(path, str | os.PathLike) and Path(path) == locked_dir:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == locked_file:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "open", open_)
    out = tmp_path / "out"
    result = run("scan", "--from", str(mesh), "--format", "json", "--output-dir", str(out))
    assert_clean_exit(result, (0,))
    assert f"{locked_dir}: cannot read: Permission denied; not read" in result.stdout
    data = json.loads((out / "report.json").read_text())
    problems = {w["source"]: w["problem"] for w in data["warnings"] if w["kind"] is None}
    assert problems == {
        str(locked_dir): "cannot read: Permission denied; not read",
        str(locked_file): "cannot read: Permission denied; not read",
    }


# ---- outputs: atomic, isolated ----------------------------------------------------------------


def test_a_failing_renderer_leaves_the_old_file_and_the_other_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    scan_ok(DEMO, out)
    before = (out / "report.html").read_bytes()
    (out / "report.json").unlink()

    def broken(report: Any, output_dir: Path) -> Path:
        (output_dir / "report.html").write_text("<html>half")
        raise RuntimeError("template exploded")

    monkeypatch.setitem(formats.RENDERERS, "html", broken)
    result = run("scan", "--from", str(DEMO), "--format", "html,json", "--output-dir", str(out))
    assert_clean_exit(result, (2,))
    assert result.stderr == (
        "mesh-audit: error: html: renderer failed: RuntimeError: template exploded "
        "(written: report.json)\n"
    )
    assert (out / "report.html").read_bytes() == before
    assert (out / "report.json").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "report.csv",
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.sarif",
    ]


def test_unicode_digit_port_annotation_is_a_warning(tmp_path: Path) -> None:
    # parsed by auditor/istio/annotations.py (#21); asserted here as the first reproducer
    mesh = demo_copy(
        tmp_path,
        {
            SHOP: [
                (
                    "      labels:\n        app: frontend\n        version: v1\n",
                    "      annotations:\n"
                    '        traffic.sidecar.istio.io/excludeOutboundPorts: "8080,\u00b2"\n'
                    "      labels:\n        app: frontend\n        version: v1\n",
                )
            ]
        },
    )
    data = scan_ok(mesh, tmp_path / "out")
    assert any("\u00b2" in w["problem"] for w in data["warnings"]), warnings_of(data)


def test_pdf_of_tenant_sized_strings_is_capped(tmp_path: Path) -> None:
    """Annotation values up to the API server's 256 KiB and a 20,000-character name: the PDF
    shows them capped (its time is measured in benchmarks/README.md, not here), report.json
    keeps them whole; annotations over 256 KiB in all leave the object out, as the API would."""
    from pypdf import PdfReader

    long_name = "n" * 20_000
    big = "x" * (250 * 1024)
    mesh = demo_copy(
        tmp_path,
        {
            INGRESS: [("    name: shop-gateway\n", f"    name: {long_name}\n")],
            SHOP: [
                (
                    "      labels:\n        app: frontend\n        version: v1\n",
                    f"      annotations:\n        note: {big}\n"
                    "      labels:\n        app: frontend\n        version: v1\n",
                ),
                (  # into the cart Deployment's own annotations (a repeated key is refused)
                    '    deployment.kubernetes.io/revision: "1"\n  creationTimestamp: '
                    '"2025-01-20T10:35:18Z"\n  generation: 2\n  labels:\n    app: cart\n',
                    f'    deployment.kubernetes.io/revision: "1"\n    a: {big}\n    b: {big}\n'
                    '  creationTimestamp: "2025-01-20T10:35:18Z"\n  generation: 2\n  labels:\n'
                    "    app: cart\n",
                ),
                ("  - istio-ingress/shop-gateway\n", f"  - istio-ingress/{long_name}\n"),
            ],
        },
    )
    for other in mesh.glob("*.yaml"):  # a smaller PDF: the gateway, its namespace, the shop
        if other.name not in (INGRESS, SHOP, "00-cluster.yaml", "10-istio-system.yaml"):
            other.unlink()
    out = tmp_path / "out"
    result = run("scan", "--from", str(mesh), "--format", "json,pdf,html", "--output-dir", str(out))
    assert_clean_exit(result, (0,))
    data = json.loads((out / "report.json").read_text())
    assert long_name in (out / "report.json").read_text()
    assert any(
        "characters in all, over the API server's limit of 262144" in w for w in warnings_of(data)
    )
    pages = PdfReader(out / "report.pdf").pages
    text = re.sub(r"\s", "", "".join(page.extract_text() for page in pages))
    # the PDF's inventories lead with what carries a weakness and point to report.json for the
    # rest; whatever it shows of the 20,000-character name is capped, as the HTML shows it
    assert "n" * 1001 not in text
    html = (out / "report.html").read_text()
    assert "n" * 1001 not in html
    assert "n" * 1000 + "… (19,000 more characters in report.json)" in html


def test_fuzz_found_cases(tmp_path: Path) -> None:
    """Crashes the fuzz suite found, kept as cases."""
    # an integer of 262,144 digits: Python refuses int() past 4,300 digits
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
        f"spec:\n  ports:\n  - port: {'9' * 262_144}\n"
    )
    snapshot = load_paths([str(path)])
    assert [w.problem for w in snapshot.warnings] == [
        "spec.ports[0].port: expected an integer, got number; object skipped"
    ]
    # a baseline whose generated_at is false (it was copied into report.json's baseline block)
    out = tmp_path / "out"
    data = scan_ok(DEMO, out)
    base = tmp_path / "base.json"
    base.write_bytes(orjson.dumps({**data, "generated_at": False}))
    assert scan_error("--from", str(DEMO), "--baseline", str(base)) == (
        f"{base}: generated_at: expected a string"
    )


def test_a_streamed_snapshot_may_pass_the_whole_file_limit_up_to_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streamed layout is read object by object, so it has its own larger cap; the same
    objects in one JSON document are held whole and keep the file limit."""
    head = b'{"apiVersion":"mesh-audit.dev/v1","kind":"MeshAuditSnapshot","objects":[\n'
    lines = [
        orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{i}"}})
        for i in range(200)
    ]
    streamed = tmp_path / "streamed.json.gz"
    streamed.write_bytes(gzip.compress(head + b",\n".join(lines) + b"\n]}\n"))
    size = len(gzip.decompress(streamed.read_bytes()))
    whole = tmp_path / "whole.json"
    whole.write_bytes(head.rstrip(b"\n") + b",".join(lines) + b"]}")
    monkeypatch.setattr(LIMITS, "max_file_bytes", size // 2)
    monkeypatch.setattr(LIMITS, "max_streamed_bytes", size)
    data = scan_ok(streamed, tmp_path / "out")
    assert data["inventory"]["Namespace"] == 200
    assert scan_error("--from", str(whole)) == (
        f"{whole}: file is larger than {size // 2} bytes, the input limit (docs/limits.md)"
    )
    monkeypatch.setattr(LIMITS, "max_streamed_bytes", size - 1)
    assert scan_error("--from", str(streamed)) == (
        f"{streamed}: decompressed content is larger than {size - 1} bytes, the input limit "
        "(docs/limits.md)"
    )

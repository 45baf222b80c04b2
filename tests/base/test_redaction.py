"""Issue #21: no credential from the kubeconfig appears in any output.

One test per credential form a kubeconfig can hold (user-info in the server URL, a bearer
token, client key data, exec-plugin arguments and environment, basic-auth password), each
checked over every output: the terminal, the one-line error, report.json and the HTML report
(the PDF is WeasyPrint over that same HTML; rendering it here cost ~10 s, so it is not repeated).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
import yaml
from click.testing import CliRunner, Result

from auditor.base.redact import (
    REDACTED,
    forget_secrets,
    kubeconfig_user_secrets,
    redact_argv,
    redact_text,
    register_secret,
)
from auditor.cli import main
from tests.kubeapi import FakeKubeAPI
from tests.live_support import load_demo


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def demo(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    return load_demo(kube_api)


def edit_kubeconfig(api: FakeKubeAPI, tmp_path: Path, **user: Any) -> Path:
    """The fake's kubeconfig with context prod's server and user entry changed."""
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    config = yaml.safe_load(path.read_text())
    server = user.pop("server", None)
    if server:
        config["clusters"][0]["cluster"]["server"] = server
    config["users"][0]["user"].update(user)
    for key in [k for k, v in user.items() if v is None]:
        del config["users"][0]["user"][key]
    path.write_text(yaml.safe_dump(config))
    return path


def run(kc: Path, out: Path, *extra: str, formats: str = "json,html") -> Result:
    args = ["--context", "prod", "--kubeconfig", str(kc), "--no-progress", *extra]
    args += ["--format", formats, "--output-dir", str(out)]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def outputs(result: Result, out: Path) -> dict[str, str]:
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for name in ("report.json", "report.html"):
        if (out / name).exists():
            texts[name] = (out / name).read_text(encoding="utf-8")
    if (out / "report.pdf").exists():
        pdf = pypdf.PdfReader(io.BytesIO((out / "report.pdf").read_bytes()))
        texts["report.pdf"] = "\n".join(page.extract_text() for page in pdf.pages)
    return texts


def assert_nowhere(secret: str, texts: dict[str, str]) -> None:
    leaked = [name for name, text in texts.items() if secret in text]
    assert leaked == [], f"{secret!r} leaked into {leaked}"


def test_user_info_in_the_server_url(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    demo = kube_api
    url = demo.url.replace("https://", "https://admin:Pa55-url-secret@")
    kc = edit_kubeconfig(demo, tmp_path, server=url)
    result = run(kc, tmp_path / "out")
    assert result.exit_code == 0, result.output
    texts = outputs(result, tmp_path / "out")
    assert set(texts) == {"stdout", "stderr", "report.json", "report.html"}
    assert_nowhere("Pa55-url-secret", texts)
    assert_nowhere("admin:", texts)
    data = json.loads(texts["report.json"])
    assert data["source"]["server"] == demo.url.replace("https://", f"https://{REDACTED}@")
    assert f"https://{REDACTED}@127.0.0.1" in texts["report.html"].replace("<wbr>", "")


def test_user_info_in_the_error_line(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = edit_kubeconfig(demo, tmp_path, server="https://admin:Pa55-dead@127.0.0.1:1")
    result = run(kc, tmp_path / "out")
    assert result.exit_code == 3
    assert result.stderr == (
        f"mesh-audit: error: cannot reach https://{REDACTED}@127.0.0.1:1 (context prod): "
        "connection refused\n"
    )
    traced = run(kc, tmp_path / "out", "--debug")  # the traceback goes through redaction too
    assert traced.exit_code == 3
    assert "Traceback" in traced.stderr
    assert_nowhere("Pa55-dead", outputs(traced, tmp_path / "out"))


def test_bearer_token(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = edit_kubeconfig(demo, tmp_path)
    result = run(kc, tmp_path / "out", "--debug")
    assert result.exit_code == 0
    assert_nowhere(demo.token, outputs(result, tmp_path / "out"))
    # a wrong token, refused (exit 3): nor in the error line
    kc = edit_kubeconfig(demo, tmp_path, token="wrong-token-value-123")
    result = run(kc, tmp_path / "out2")
    assert result.exit_code == 3
    assert_nowhere("wrong-token-value-123", outputs(result, tmp_path / "out2"))


def test_client_key_data(demo: FakeKubeAPI, tmp_path: Path) -> None:
    from tests.kubeapi.tls import write_tls_files

    (tmp_path / "client").mkdir()
    tls = write_tls_files(tmp_path / "client")
    key = base64.b64encode(tls.server_key.read_bytes()).decode()
    cert = base64.b64encode(tls.server_cert.read_bytes()).decode()
    kc = edit_kubeconfig(
        demo, tmp_path, **{"client-key-data": key, "client-certificate-data": cert}
    )
    result = run(kc, tmp_path / "out")
    assert result.exit_code == 0, result.output
    texts = outputs(result, tmp_path / "out")
    assert_nowhere(key[:40], texts)
    pem_body = tls.server_key.read_text().splitlines()[1]
    assert_nowhere(pem_body, texts)
    # a broken key: the client's own error must not quote it
    kc = edit_kubeconfig(
        demo, tmp_path, **{"client-key-data": "bm90LWEta2V5LXNlY3JldC12YWx1ZQ==", "token": None}
    )
    result = run(kc, tmp_path / "out2")
    assert result.exit_code in (0, 3)
    assert_nowhere("bm90LWEta2V5LXNlY3JldC12YWx1ZQ==", outputs(result, tmp_path / "out2"))
    assert_nowhere("not-a-key-secret-value", outputs(result, tmp_path / "out2"))


def exec_user(script: str, *args: str) -> dict[str, Any]:
    return {
        "token": None,
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "/bin/sh",
            "args": ["-c", script, *args],
            "env": [{"name": "PLUGIN_API_TOKEN", "value": "env-secret-value-789"}],
            "interactiveMode": "Never",
        },
    }


def test_exec_plugin_arguments_and_environment(demo: FakeKubeAPI, tmp_path: Path) -> None:
    credential = json.dumps(
        {
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"token": demo.token},
        }
    )
    script = f"echo '{credential}'"
    kc = edit_kubeconfig(demo, tmp_path, **exec_user(script, "--token", "exec-arg-secret-456"))
    result = run(kc, tmp_path / "out")
    assert result.exit_code == 0, result.output
    texts = outputs(result, tmp_path / "out")
    for secret in ("exec-arg-secret-456", "env-secret-value-789", demo.token):
        assert_nowhere(secret, texts)
    # a failing plugin that prints its arguments and environment: the error line hides them
    failing = 'echo "login failed for $0 with $PLUGIN_API_TOKEN" >&2; exit 1'
    kc = edit_kubeconfig(demo, tmp_path, **exec_user(failing, "--password=exec-arg-secret-457"))
    result = run(kc, tmp_path / "out2")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    texts = outputs(result, tmp_path / "out2")
    for secret in ("exec-arg-secret-457", "env-secret-value-789"):
        assert_nowhere(secret, texts)


def test_basic_auth_password(demo: FakeKubeAPI, tmp_path: Path) -> None:
    kc = edit_kubeconfig(demo, tmp_path, username="admin", password="basic-secret-pw-1")
    result = run(kc, tmp_path / "out")
    assert_nowhere("basic-secret-pw-1", outputs(result, tmp_path / "out"))


def test_command_line_credentials_are_redacted_in_the_report(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    url = demo.url.replace("https://", "https://u:cli-secret@")
    kc = edit_kubeconfig(demo, tmp_path, server=url)
    result = run(kc, tmp_path / "out", "--baseline-token-x", formats="json")
    assert result.exit_code == 2  # an unknown option: still nothing leaks
    assert_nowhere("cli-secret", outputs(result, tmp_path / "out"))


# ---- the one function --------------------------------------------------------------------


def test_redact_text_patterns_and_registered_values() -> None:
    assert redact_text("https://a:b@h:1/x?access_token=t0k&y=1") == (
        "https://***@h:1/x?access_token=***&y=1"
    )
    assert redact_text("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    register_secret("hunter2-registered")
    register_secret("ab")  # too short to redact safely: ignored
    assert redact_text("login hunter2-registered failed, ab") == "login *** failed, ab"
    assert redact_argv(["mesh-audit", "--token", "x", "https://u:p@h"]) == [
        "mesh-audit",
        "--token",
        "***",
        "https://***@h",
    ]


def test_kubeconfig_user_secrets_every_form() -> None:
    user = {
        "token": "tok-1",
        "password": "pw-1",
        "username": "admin",
        "client-key-data": "key-1",
        "client-certificate-data": "cert-public",
        "exec": {
            "command": "aws",
            "args": [
                "eks",
                "get-token",
                "--cluster-name",
                "prod",
                "--token",
                "arg-1",
                "--secret=s-1",
            ],
            "env": [
                {"name": "API_KEY", "value": "env-1"},
                {"name": "AWS_PROFILE", "value": "prod"},
            ],
        },
        "auth-provider": {
            "name": "oidc",
            "config": {
                "id-token": "id-1",
                "refresh-token": "ref-1",
                "client-secret": "cs-1",
                "idp-issuer-url": "https://issuer",
            },
        },
    }
    assert sorted(kubeconfig_user_secrets(user)) == sorted(
        ["tok-1", "pw-1", "key-1", "arg-1", "s-1", "env-1", "id-1", "ref-1", "cs-1"]
    )


def test_server_messages_quoting_a_credential_are_redacted(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    kc = edit_kubeconfig(demo, tmp_path)
    status = {"kind": "Status", "message": f"proxy rejected token {demo.token}", "code": 500}
    demo.answer_raw("services", json.dumps(status), status=500)
    result = run(kc, tmp_path / "out", "--max-retries", "0")
    assert result.exit_code == 0, result.output
    texts = outputs(result, tmp_path / "out")
    assert_nowhere(demo.token, texts)
    data = json.loads(texts["report.json"])
    assert data["collection"]["Service"]["message"] == f"proxy rejected token {REDACTED}"

"""Credentials never leave the process: the one redaction function for every output.

Everything mesh-audit prints, logs or writes (the one-line errors, the terminal summary, the
report's `source.server` and `command`, warnings, HTML and PDF) goes through `redact_text`,
`redact_url` or `redact_argv`. Two layers:

- patterns: user-info in URLs (`https://admin:pass@host`), secret-looking query parameters
  (`?access_token=`), `Bearer <token>` / `Basic <b64>` header values, and the values of
  secret-looking command-line options (`--token`, `--password=...`, `--client-key ...`);
- known values: the credentials the kubeconfig holds for the context in use (token, password,
  client key data, exec-plugin arguments and environment values, auth-provider config) are
  registered with `register_secret` as the kubeconfig is read, and any occurrence of them is
  replaced wherever it appears.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

REDACTED = "***"
SECRET_OPTION = re.compile(
    r"^--?[\w-]*(token|password|passwd|secret|key|credential|auth)[\w-]*$", re.I
)
# Options whose whole value is a credential: a webhook URL's path is its secret.
SECRET_VALUE_OPTIONS = frozenset({"--notify"})
URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
SECRET_PARAM = re.compile(
    r"(?P<name>[?&;][^=&;]*(token|password|secret|key|sig)[^=&;]*=)[^&;\s]*", re.I
)
AUTH_HEADER = re.compile(r"(?P<scheme>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+", re.I)
MIN_SECRET = 4  # shorter values ("true", "v1") would redact ordinary words

_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: object) -> None:
    """Remember a credential value so that it is redacted wherever it appears."""
    if isinstance(value, str) and len(value.strip()) >= MIN_SECRET:
        with _lock:
            _known.add(value.strip())


def register_secrets(values: Iterable[object]) -> None:
    for value in values:
        register_secret(value)


def forget_secrets() -> None:
    """For tests: drop the registered values."""
    with _lock:
        _known.clear()


def redact_text(text: str) -> str:
    """`text` with every registered credential and credential-looking pattern replaced."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    text = URL_USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
    text = SECRET_PARAM.sub(lambda m: m.group("name") + REDACTED, text)
    return AUTH_HEADER.sub(lambda m: m.group("scheme") + REDACTED, text)


def redact_url(url: str | None) -> str | None:
    """A server URL without its user-info or secret query parameters."""
    return None if url is None else redact_text(url)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Values of secret-looking options, URL credentials and secret query parameters become ***."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        if SECRET_OPTION.match(name) or name in SECRET_VALUE_OPTIONS:
            if eq:
                out.append(f"{name}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg))
    return out


def redact_data(value: Any) -> Any:
    """A JSON-ready structure with every string redacted (for whole report mappings)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    return value


SECRET_NAME = re.compile(r"token|password|passwd|secret|key|credential|auth", re.I)


def _exec_arg_secrets(args: list[Any]) -> list[str]:
    """Values of secret-looking options among exec-plugin args (`--token X`, `--password=X`)."""
    found: list[str] = []
    texts = [a for a in args if isinstance(a, str)]
    for i, arg in enumerate(texts):
        name, eq, value = arg.partition("=")
        if SECRET_OPTION.match(name) or name in SECRET_VALUE_OPTIONS:
            if eq:
                found.append(value)
            elif i + 1 < len(texts):
                found.append(texts[i + 1])
    return found


def kubeconfig_user_secrets(user: Mapping[str, Any]) -> list[str]:
    """The credential values of a kubeconfig `users[].user` entry, in each form it can hold:
    `token`, `password`, `client-key-data`, exec-plugin secret-looking args and env values,
    and auth-provider config values (OIDC id/refresh tokens, client secrets)."""
    found: list[str] = []
    for key in ("token", "password", "client-key-data"):
        value = user.get(key)
        if isinstance(value, str):
            found.append(value)
    exec_conf = user.get("exec")
    if isinstance(exec_conf, Mapping):
        args = exec_conf.get("args")
        if isinstance(args, list):
            found.extend(_exec_arg_secrets(args))
        env = exec_conf.get("env")
        if isinstance(env, list):
            found.extend(
                str(e.get("value"))
                for e in env
                if isinstance(e, Mapping)
                and e.get("value")
                and SECRET_NAME.search(str(e.get("name") or ""))
            )
    provider = user.get("auth-provider")
    if isinstance(provider, Mapping) and isinstance(provider.get("config"), Mapping):
        found.extend(
            str(v)
            for k, v in provider["config"].items()
            if isinstance(v, str) and SECRET_NAME.search(str(k))
        )
    return found

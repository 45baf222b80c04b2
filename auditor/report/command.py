"""The command line shown on the report cover, with anything that looks secret redacted."""

from __future__ import annotations

import re
from collections.abc import Sequence

REDACTED = "***"
SECRET_OPTION = re.compile(
    r"^--?[\w-]*(token|password|passwd|secret|key|credential|auth)[\w-]*$", re.I
)
# Options whose whole value is a credential: a webhook URL's path is its secret.
SECRET_VALUE_OPTIONS = frozenset({"--notify"})
URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
SECRET_PARAM = re.compile(
    r"(?P<name>[?&;][^=&;]*(token|password|secret|key|sig)[^=&;]*=)[^&;]*", re.I
)


def _scrub(value: str) -> str:
    value = URL_USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", value)
    return SECRET_PARAM.sub(lambda m: m.group("name") + REDACTED, value)


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
        out.append(_scrub(arg))
    return out

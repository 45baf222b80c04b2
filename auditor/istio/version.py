"""Istio versions: parsing them and the defaults that changed between releases. The version itself
is read from the input by auditor/input/istiod_image.py."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.input.istiod_image import discovery_containers

VERSION_PATTERN = re.compile(r"^v?(\d+)\.(\d+)")
# Istio 1.21 turned on VERIFY_CERTIFICATE_AT_CLIENT and ENABLE_AUTO_SNI by default (istio.io,
# news/releases/1.21.x/announcing-1.21/upgrade-notes; istioctl's upgrade precheck tests
# `minor <= 20` for them). istiod's environment overrides the default either way (the 1.20
# compatibility profile sets both to false).
VERIFY_DEFAULT_SINCE = (1, 21)
VERIFY_ENV = "VERIFY_CERTIFICATE_AT_CLIENT"
AUTO_SNI_ENV = "ENABLE_AUTO_SNI"


def minor_versions(version: str | None) -> list[tuple[int, int]]:
    """(major, minor) of each version in `1.24.2` or `1.23.1, 1.24.2`; unparsable ones dropped."""
    out: list[tuple[int, int]] = []
    for part in (version or "").split(","):
        m = VERSION_PATTERN.match(part.strip())
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


def valid_version(text: str) -> bool:
    return bool(VERSION_PATTERN.match(text.strip()))


def istiod_env(deployments: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Values of the TLS feature flags set on istiod's discovery container, per flag."""
    out: dict[str, set[str]] = {}
    for container in discovery_containers(deployments):
        for env in container.get("env") or []:
            if isinstance(env, Mapping) and env.get("name") in (VERIFY_ENV, AUTO_SNI_ENV):
                out.setdefault(str(env["name"]), set()).add(str(env.get("value")).lower())
    return out


@dataclass(frozen=True, slots=True)
class OriginationDefaults:
    """What istiod does for a DestinationRule that originates TLS without caCertificates or
    subjectAltNames: True/False when known, None when the version is unknown or mixed."""

    verify: bool | None  # server certificate verified against the proxy's system roots
    auto_san: bool | None  # SAN verified against the request's Host (auto SNI + verify)
    basis: str  # for messages: "Istio 1.24.2", "istiod env VERIFY_CERTIFICATE_AT_CLIENT=false"


def _flag(env: Mapping[str, set[str]], name: str) -> bool | None:
    values = env.get(name)
    if not values or len(values) > 1:
        return None
    return next(iter(values)) == "true"


def origination_defaults(
    version: str | None, deployments: Iterable[Mapping[str, Any]] = ()
) -> OriginationDefaults:
    env = istiod_env(deployments)
    versions = minor_versions(version)
    new = [v >= VERIFY_DEFAULT_SINCE for v in versions]
    by_version: bool | None = None
    if new and all(new):
        by_version = True
    elif new and not any(new):
        by_version = False
    verify_env, sni_env = _flag(env, VERIFY_ENV), _flag(env, AUTO_SNI_ENV)
    verify = verify_env if verify_env is not None else by_version
    auto_sni = sni_env if sni_env is not None else by_version
    auto_san = None if verify is None or auto_sni is None else verify and auto_sni
    parts = [f"Istio {version}"] if versions else []
    parts += [f"istiod env {k}={'/'.join(sorted(v))}" for k, v in sorted(env.items())]
    return OriginationDefaults(verify=verify, auto_san=auto_san, basis="; ".join(parts))

"""RequestAuthentication semantics: where JWT keys come from, and Istio's published test key.

Sources: https://istio.io/latest/docs/reference/config/security/request_authentication/ (a
request without a token is accepted unless an AuthorizationPolicy requires a request principal;
`jwksUri` is fetched by istiod, and without `jwks`/`jwksUri` the keys are discovered at
`<issuer>/.well-known/openid-configuration`), and istio/istio
`security/tools/jwt/samples/jwks.json` with its private key `key.pem` published beside it (used
by the authz-jwt and authn-policy tasks): anyone can sign tokens that key verifies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# The JWK of istio/istio security/tools/jwt/samples/jwks.json (key.pem is its private half).
SAMPLE_KID = "DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ"
SAMPLE_N_PREFIX = "xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9Vsw"
# raw.githubusercontent.com/istio/istio/<ref>/security/tools/jwt/samples/jwks.json, and the
# github.com blob/raw spellings of the same file.
SAMPLE_URL = re.compile(
    r"^https?://(raw\.githubusercontent\.com/istio/istio/[^/]+(/[^/]+)*?"
    r"|github\.com/istio/istio/(raw|blob)/[^/]+(/[^/]+)*?)"
    r"/security/tools/jwt/samples/[^/]+\.json$",
    re.IGNORECASE,
)

IN_CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local", ".local")


def sample_key_evidence(rule: Mapping[str, Any]) -> str:
    """Why a jwtRules entry trusts Istio's published sample key ("" when it does not)."""
    uri = str(rule.get("jwksUri") or "")
    if uri and SAMPLE_URL.match(uri.strip()):
        return f"jwksUri {uri} is Istio's published sample key set"
    jwks = rule.get("jwks")
    if isinstance(jwks, str) and jwks.strip():
        try:
            data = json.loads(jwks)
        except ValueError:
            data = None
        keys = data.get("keys") if isinstance(data, Mapping) else None
        for key in keys if isinstance(keys, list) else ():
            if not isinstance(key, Mapping):
                continue
            if key.get("kid") == SAMPLE_KID:
                return f"inline jwks holds kid {SAMPLE_KID} (Istio's published sample key)"
            if str(key.get("n") or "").startswith(SAMPLE_N_PREFIX):
                return "inline jwks holds the modulus of Istio's published sample key"
    return ""


def host_in_cluster(host: str) -> bool:
    """A host that resolves inside the cluster: a short name, `*.svc`, `*.cluster.local`, or
    loopback."""
    host = host.lower().rstrip(".")
    if not host or "." not in host or host == "localhost" or host.startswith("127."):
        return True
    return host.endswith(IN_CLUSTER_SUFFIXES)


def plain_http_fetches(rule: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, URL) of key material fetched over plain http from outside the cluster: `jwksUri`,
    or the `issuer` when neither `jwks` nor `jwksUri` is set (OIDC discovery at the issuer)."""
    out: list[tuple[str, str]] = []
    uri = rule.get("jwksUri")
    candidates: list[tuple[str, Any]] = [("jwksUri", uri)]
    if not uri and not rule.get("jwks"):
        candidates.append(("issuer", rule.get("issuer")))
    for name, value in candidates:
        if not isinstance(value, str) or not value:
            continue
        parts = urlsplit(value.strip())
        if parts.scheme.lower() == "http" and not host_in_cluster(parts.hostname or ""):
            out.append((name, value))
    return out

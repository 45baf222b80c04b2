"""What Istio's injector puts into a pod, read back from the pod (plain data).

Ground truth: istio/istio@86c9f01 (2026-08-22),
manifests/charts/istio-control/istio-discovery/files/injection-template.yaml:
- without the CNI plugin (`pilot.cni.enabled` false, the chart's default) the init container is
  `istio-init`, running istio-iptables as root with capabilities NET_ADMIN and NET_RAW added;
  with it, `istio-validation` runs as 1337 with every capability dropped and only checks the
  rules the CNI node agent wrote. Ambient pods get no init container (ztunnel redirects).
  Older charts read `istio_cni.enabled` instead of `pilot.cni.enabled`.
- the proxy's credential towards istiod is the projected volume `istio-token`
  (serviceAccountToken with `audience: {{ .Values.global.sds.token.aud }}`, default istio-ca,
  expirationSeconds 43200). Until Istio 1.21, `global.jwtPolicy: first-party-jwt` left it out and
  the proxy used the pod's regular service account token; 1.22 dropped that option
  (istio/istio#49520, commit 7b9d76d).
- the injector's values are the `values` key (JSON) of ConfigMap istio-sidecar-injector[-<rev>]
  (templates/istiod-injector-configmap.yaml).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

INIT = "istio-init"
VALIDATION = "istio-validation"
TOKEN_VOLUME = "istio-token"
CAPTURE_CAPS = ("NET_ADMIN", "NET_RAW")
INJECTOR_CONFIGMAP = "istio-sidecar-injector"
FIRST_PARTY_DROPPED = (1, 22)


def _init_containers(pod_spec: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [
        (i, c) for i, c in enumerate(pod_spec.get("initContainers") or ()) if isinstance(c, Mapping)
    ]


def capture_init(pod_spec: Mapping[str, Any]) -> tuple[int, list[str]] | None:
    """(index, added capabilities among NET_ADMIN/NET_RAW) of the istio-init container that
    adds them, or None (no istio-init, or one that adds neither)."""
    for i, c in _init_containers(pod_spec):
        if c.get("name") != INIT:
            continue
        caps = ((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or ()
        added = sorted({str(x).upper().removeprefix("CAP_") for x in caps} & set(CAPTURE_CAPS))
        privileged = (c.get("securityContext") or {}).get("privileged") is True
        if added or privileged:
            return i, added or ["privileged"]
    return None


def shows_injection(pod_spec: Mapping[str, Any]) -> bool:
    """The pod carries what the sidecar injector adds (istio-init or istio-validation)."""
    return any(c.get("name") in (INIT, VALIDATION) for _, c in _init_containers(pod_spec))


def token_mount(pod_spec: Mapping[str, Any]) -> str:
    """ "third-party" when an `istio-token` volume projects a service account token with an
    audience, else "first-party" (the proxy falls back to the pod's own token)."""
    for vol in pod_spec.get("volumes") or ():
        if not isinstance(vol, Mapping) or vol.get("name") != TOKEN_VOLUME:
            continue
        for source in (vol.get("projected") or {}).get("sources") or ():
            sat = source.get("serviceAccountToken") if isinstance(source, Mapping) else None
            if isinstance(sat, Mapping) and sat.get("audience"):
                return "third-party"
    return "first-party"


def injector_values(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The injector's values from an istio-sidecar-injector ConfigMap's data, or None."""
    text = data.get("values")
    if not isinstance(text, str):
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    return values if isinstance(values, Mapping) else None


def _get(values: Mapping[str, Any], *path: str) -> Any:
    node: Any = values
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def cni_enabled(values: Mapping[str, Any]) -> bool:
    """Whether the injector's template uses the CNI plugin (pilot.cni.enabled, or the older
    istio_cni.enabled)."""
    return _get(values, "pilot", "cni", "enabled") is True or (
        _get(values, "istio_cni", "enabled") is True
    )


def jwt_policy(values: Mapping[str, Any]) -> str:
    return str(_get(values, "global", "jwtPolicy") or "")

"""istiod's merge of a shared mesh-config ConfigMap under the revision's own
(auditor/istio/meshconfig_merge.py), table-tested against istio/istio@86c9f01f
pkg/config/mesh/mesh.go ApplyMeshConfig and pilot/pkg/bootstrap/mesh.go, and the selection of
which ConfigMaps are merged (auditor/mesh/mesh_config_source.py)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.input.snapshot import Snapshot, SourceInfo
from auditor.istio import meshconfig_merge as M
from auditor.mesh.mesh_config_source import resolve_mesh_config


@pytest.mark.parametrize(
    ("shared", "own", "merged"),
    [
        # a top-level field the revision's own sets wins; one it leaves unset comes from shared
        (
            {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}, "accessLogFile": "/dev/stdout"},
            {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}},
            {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}, "accessLogFile": "/dev/stdout"},
        ),
        # nested messages are replaced whole (jsonpb sets a new field value)
        (
            {
                "meshMTLS": {"minProtocolVersion": "TLSV1_3"},
                "tlsDefaults": {"ecdhCurves": ["P-256"]},
            },
            {"tlsDefaults": {"minProtocolVersion": "TLSV1_2"}},
            {
                "meshMTLS": {"minProtocolVersion": "TLSV1_3"},
                "tlsDefaults": {"minProtocolVersion": "TLSV1_2"},
            },
        ),
        # null leaves the earlier value
        ({"trustDomain": "example.org"}, {"trustDomain": None}, {"trustDomain": "example.org"}),
        # defaultConfig merges field by field, proxyMetadata key by key (MergeProxyConfig)
        (
            {
                "defaultConfig": {
                    "holdApplicationUntilProxyStarts": True,
                    "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true", "A": "1"},
                }
            },
            {"defaultConfig": {"discoveryAddress": "istiod:15012", "proxyMetadata": {"A": "2"}}},
            {
                "defaultConfig": {
                    "holdApplicationUntilProxyStarts": True,
                    "discoveryAddress": "istiod:15012",
                    "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true", "A": "2"},
                }
            },
        ),
        # extensionProviders merge by name; trustDomainAliases are the union
        (
            {
                "extensionProviders": [{"name": "authz", "envoyExtAuthzHttp": {"port": 1}}],
                "trustDomainAliases": ["b.org"],
            },
            {
                "extensionProviders": [
                    {"name": "authz", "envoyExtAuthzHttp": {"port": 2}},
                    {"name": "otel", "opentelemetry": {"port": 4317}},
                ],
                "trustDomainAliases": ["a.org", "b.org"],
            },
            {
                "extensionProviders": [
                    {"name": "authz", "envoyExtAuthzHttp": {"port": 2}},
                    {"name": "otel", "opentelemetry": {"port": 4317}},
                ],
                "trustDomainAliases": ["a.org", "b.org"],
            },
        ),
    ],
)
def test_merge_follows_apply_mesh_config(
    shared: dict[str, Any], own: dict[str, Any], merged: dict[str, Any]
) -> None:
    assert M.merge([shared, own]) == merged


def test_configmap_names() -> None:
    assert M.revision_configmap("") == "istio"
    assert M.revision_configmap("default") == "istio"
    assert M.revision_configmap("asm-1-24") == "istio-asm-1-24"
    assert M.aks_shared_name("istio-asm-1-24") == "istio-shared-configmap-asm-1-24"
    assert M.aks_shared_name("istio") is None
    assert M.aks_shared_name("istio-shared-configmap-asm-1-24") is None
    env = [{"name": "REVISION", "value": "canary"}, {"name": "SHARED_MESH_CONFIG", "value": "x"}]
    assert M.shared_from_env(env) == ("istio-canary", "x")
    assert M.shared_from_env([{"name": "SHARED_MESH_CONFIG", "value": "x"}]) == ("istio", "x")
    assert M.shared_from_env([{"name": "REVISION", "value": "canary"}]) is None


def _cm(namespace: str, name: str, mesh: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"mesh": mesh},
    }


def _snapshot(*objects: dict[str, Any]) -> Snapshot:
    snapshot = Snapshot(SourceInfo(type="files", paths=[]))
    for i, obj in enumerate(objects):
        snapshot.add(obj, origin="test", document=i)
    return snapshot


def test_the_revision_s_own_takes_precedence_over_the_shared_one() -> None:
    mesh, notes = resolve_mesh_config(
        _snapshot(
            _cm("aks-istio-system", "istio-asm-1-24", "outboundTrafficPolicy: {mode: ALLOW_ANY}"),
            _cm(
                "aks-istio-system",
                "istio-shared-configmap-asm-1-24",
                "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\ntrustDomain: example.org",
            ),
        )
    )
    assert mesh.outbound_mode == "ALLOW_ANY"
    assert mesh.trust_domain == "example.org"
    assert mesh.outbound_mode_from == "aks-istio-system/istio-asm-1-24"
    assert mesh.configmaps == (
        "aks-istio-system/istio-asm-1-24",
        "aks-istio-system/istio-shared-configmap-asm-1-24",
    )
    assert notes == []


def test_a_shared_configmap_no_istiod_names_is_not_merged() -> None:
    """Upstream istiod merges only the ConfigMap its SHARED_MESH_CONFIG names: another
    ConfigMap with a `mesh` key beside it is a candidate, never a layer."""
    mesh, notes = resolve_mesh_config(
        _snapshot(
            _cm("istio-system", "istio", "trustDomain: a.org"),
            _cm("istio-system", "istio-user", "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"),
        )
    )
    assert (mesh.outbound_mode, mesh.configmaps) == ("ALLOW_ANY", ("istio-system/istio",))
    assert notes == [
        "several mesh-config ConfigMaps found; using istio-system/istio "
        "(also present: istio-system/istio-user)"
    ]


def test_a_broken_shared_configmap_is_ignored_as_istiod_ignores_it() -> None:
    mesh, notes = resolve_mesh_config(
        _snapshot(
            _cm("aks-istio-system", "istio-asm-1-24", "trustDomain: a.org"),
            _cm("aks-istio-system", "istio-shared-configmap-asm-1-24", "- not a mapping"),
        )
    )
    assert (mesh.trust_domain, mesh.configmaps) == ("a.org", ("aks-istio-system/istio-asm-1-24",))
    assert len(notes) == 1 and "istio-shared-configmap-asm-1-24" in notes[0]
    assert notes[0].endswith("ignored, as istiod ignores it")

"""Smoke tests: the official kubernetes client, through a kubeconfig, against ``FakeKubeAPI``.

If these pass, collector tests can trust that the fake answers like a cluster does.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.kubeapi import FakeKubeAPI

PARTIAL_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

FIXTURE = """
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: default}}
- {apiVersion: v1, kind: Namespace, metadata: {name: istio-system, labels: {mesh: "true"}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {mesh: "true"}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: payments}}
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-cert, namespace: istio-system, labels: {app: shop}}
type: kubernetes.io/tls
stringData: {tls.crt: CERT, tls.key: KEY}
---
apiVersion: v1
kind: Secret
metadata: {name: api-token, namespace: payments}
data: {token: c2VjcmV0}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["shop.example.com"]}]
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: internal, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
spec: {ports: [{port: 80}]}
"""


def fixture_objects() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(FIXTURE))


def api_client(server: FakeKubeAPI, tmp_path: Path, context: str = "prod") -> client.ApiClient:
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    return config.new_client_from_config(config_file=str(kubeconfig), context=context)


@pytest.fixture
def cluster(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    assert kube_api.load_objects(fixture_objects()) == 10
    return kube_api


@pytest.fixture
def api(cluster: FakeKubeAPI, tmp_path: Path) -> client.ApiClient:
    return api_client(cluster, tmp_path)


def raw_get(api: client.ApiClient, path: str, accept: str = "application/json") -> Any:
    """GET with a chosen Accept header through the client's own machinery; parsed JSON back.

    Newer clients (openapi-generator 7: ``param_serialize`` + ``call_api(method, url)``) and
    older ones (``call_api(path, method, ..., auth_settings=...)``) differ; support both.
    """
    if hasattr(api, "param_serialize"):
        method, url, headers, _, _ = api.param_serialize(
            "GET", path, header_params={"Accept": accept}, auth_settings=["BearerToken"]
        )
        response = api.call_api(method, url, header_params=headers)
        assert response.status == 200, response.read()
        return json.loads(response.read())
    response = api.call_api(
        path,
        "GET",
        header_params={"Accept": accept},
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
    )
    return json.loads(response.data)


def test_kubeconfig_has_live_and_dead_contexts(cluster: FakeKubeAPI, tmp_path: Path) -> None:
    written = yaml.safe_load(cluster.write_kubeconfig(tmp_path / "kc").read_text())
    assert written["current-context"] == "prod"
    servers = {c["name"]: c["cluster"]["server"] for c in written["clusters"]}
    assert servers == {"prod": cluster.url, "dead": "https://127.0.0.1:1"}
    dead = api_client(cluster, tmp_path, context="dead")
    dead.configuration.retries = False
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.CoreV1Api(dead).list_namespace()


def test_discovery_matches_a_cluster_with_istio(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version == "v1.30.2"
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert list(groups) == [
        "apps",
        "batch",
        "networking.k8s.io",
        "admissionregistration.k8s.io",
        "discovery.k8s.io",
        "apiextensions.k8s.io",
        "argoproj.io",
        "extensions.istio.io",
        "gateway.networking.k8s.io",
        "gateway.networking.x-k8s.io",
        "networking.istio.io",
        "security.istio.io",
        "telemetry.istio.io",
    ]
    istio = groups["networking.istio.io"]
    assert [v.version for v in istio.versions] == ["v1", "v1beta1", "v1alpha3"]
    assert istio.preferred_version.group_version == "networking.istio.io/v1"
    # telemetry stores v1alpha1 but, like kube-apiserver, the highest served version is preferred
    assert groups["telemetry.istio.io"].preferred_version.version == "v1"
    assert groups["extensions.istio.io"].preferred_version.version == "v1alpha1"

    core = client.CoreV1Api(api).get_api_resources()
    top_level = {r.name: (r.kind, r.namespaced) for r in core.resources if "/" not in r.name}
    assert top_level == {
        "configmaps": ("ConfigMap", True),
        "endpoints": ("Endpoints", True),
        "namespaces": ("Namespace", False),
        "nodes": ("Node", False),
        "pods": ("Pod", True),
        "secrets": ("Secret", True),
        "services": ("Service", True),
    }
    alpha3 = raw_get(api, "/apis/networking.istio.io/v1alpha3")
    assert alpha3["kind"] == "APIResourceList"
    names = [r["name"] for r in alpha3["resources"] if "/" not in r["name"]]
    assert names == [
        "destinationrules",
        "envoyfilters",
        "gateways",
        "serviceentries",
        "sidecars",
        "virtualservices",
        "workloadentries",
        "workloadgroups",
    ]
    gateways = next(r for r in alpha3["resources"] if r["name"] == "gateways")
    assert gateways["kind"] == "Gateway"
    assert gateways["singularName"] == "gateway"
    assert gateways["shortNames"] == ["gw"]
    assert "list" in gateways["verbs"]


def test_cluster_without_istio(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> None:
    server = kube_api_factory(crds=False)
    assert server.load_objects(fixture_objects(), strict=False) == 8
    with pytest.raises(ValueError, match=r"networking\.istio\.io/v1 Gateway"):
        server.load_objects(fixture_objects())
    api = api_client(server, tmp_path)
    groups = [g.name for g in client.ApisApi(api).get_api_versions().groups]
    assert groups == [
        "apps",
        "batch",
        "networking.k8s.io",
        "admissionregistration.k8s.io",
        "discovery.k8s.io",
        "apiextensions.k8s.io",
    ]
    with pytest.raises(ApiException) as err:
        client.CustomObjectsApi(api).list_cluster_custom_object(
            "networking.istio.io", "v1", "gateways"
        )
    assert err.value.status == 404
    assert json.loads(err.value.body)["reason"] == "NotFound"


def test_cluster_with_some_crds(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> None:
    server = kube_api_factory(crds=["gateways.networking.istio.io", "security.istio.io"])
    api = api_client(server, tmp_path)
    groups = [g.name for g in client.ApisApi(api).get_api_versions().groups]
    assert groups[6:] == ["networking.istio.io", "security.istio.io"]
    resources = raw_get(api, "/apis/networking.istio.io/v1")["resources"]
    assert [r["name"] for r in resources] == ["gateways", "gateways/status"]
    crds = raw_get(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert [c["metadata"]["name"] for c in crds["items"]] == [
        "authorizationpolicies.security.istio.io",
        "gateways.networking.istio.io",
        "peerauthentications.security.istio.io",
        "requestauthentications.security.istio.io",
    ]


def test_list_namespaces_pages_with_continue(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    pages, remaining, token = [], [], None
    while True:
        page = core.list_namespace(limit=2, _continue=token)
        pages.append([ns.metadata.name for ns in page.items])
        remaining.append(page.metadata.remaining_item_count)
        token = page.metadata._continue
        if not token:
            break
    assert pages == [["default", "istio-system"], ["kube-system", "payments"], ["shop"]]
    assert remaining == [3, 1, None]
    selected = core.list_namespace(label_selector="mesh=true")
    assert [ns.metadata.name for ns in selected.items] == ["istio-system", "shop"]
    by_name = core.list_namespace(field_selector="metadata.name=payments")
    assert [ns.metadata.name for ns in by_name.items] == ["payments"]


def test_custom_objects_served_under_every_version(api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    response = custom.list_cluster_custom_object(
        "networking.istio.io", "v1", "gateways", _preload_content=False
    )
    body = json.loads(response.data)
    assert body["kind"] == "GatewayList"
    assert body["apiVersion"] == "networking.istio.io/v1"
    assert [(i["apiVersion"], i["kind"], i["metadata"]["name"]) for i in body["items"]] == [
        ("networking.istio.io/v1", "Gateway", "public"),
        ("networking.istio.io/v1", "Gateway", "internal"),
    ]
    alpha3 = custom.list_namespaced_custom_object(
        "networking.istio.io", "v1alpha3", "shop", "gateways"
    )
    assert [(i["apiVersion"], i["metadata"]["name"]) for i in alpha3["items"]] == [
        ("networking.istio.io/v1alpha3", "internal")
    ]
    one = custom.get_namespaced_custom_object(
        "networking.istio.io", "v1", "istio-system", "gateways", "public"
    )
    assert one["spec"]["servers"][0]["hosts"] == ["shop.example.com"]
    with pytest.raises(ApiException) as err:
        custom.get_namespaced_custom_object("networking.istio.io", "v1", "shop", "gateways", "nope")
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'gateways.networking.istio.io "nope" not found'


def test_builtin_list_items_omit_kind(api: client.ApiClient) -> None:
    body = raw_get(api, "/api/v1/namespaces/shop/services")
    assert body["kind"] == "ServiceList"
    assert body["apiVersion"] == "v1"
    assert body["items"][0].keys() == {"metadata", "spec"}
    assert body["items"][0]["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_secrets_metadata_only(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    body = raw_get(api, "/api/v1/secrets", accept=PARTIAL_LIST_ACCEPT)
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert [i.keys() for i in body["items"]] == [{"apiVersion", "kind", "metadata"}] * 2
    assert [i["kind"] for i in body["items"]] == ["PartialObjectMetadata"] * 2
    assert [i["metadata"]["name"] for i in body["items"]] == ["shop-cert", "api-token"]
    assert cluster.requests[-1].accept == PARTIAL_LIST_ACCEPT
    full = client.CoreV1Api(api).read_namespaced_secret("shop-cert", "istio-system")
    assert full.data == {"tls.crt": "Q0VSVA==", "tls.key": "S0VZ"}
    assert full.type == "kubernetes.io/tls"


def test_forbidden(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    cluster.forbid("secrets")
    with pytest.raises(ApiException) as err:
        core.list_secret_for_all_namespaces()
    assert err.value.status == 403
    status = json.loads(err.value.body)
    assert status["reason"] == "Forbidden"
    assert status["details"] == {"kind": "secrets"}
    cluster.clear_faults()
    cluster.forbid_cluster_wide("networking.istio.io/gateways")
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as err:
        custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways")
    assert err.value.status == 403
    assert "at the cluster scope" in json.loads(err.value.body)["message"]
    shop = custom.list_namespaced_custom_object("networking.istio.io", "v1", "shop", "gateways")
    assert [i["metadata"]["name"] for i in shop["items"]] == ["internal"]


def test_throttled_then_retried_by_urllib3(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    # urllib3's default Retry honours Retry-After on 429 for GETs: 3 retries, then it gives up.
    core = client.CoreV1Api(api)
    cluster.throttle("secrets", times=1, retry_after=0)
    assert len(core.list_secret_for_all_namespaces().items) == 2
    assert [r.status for r in cluster.requests[-2:]] == [429, 200]
    cluster.throttle("secrets", times=4, retry_after=0)
    with pytest.raises(ApiException) as err:
        core.list_secret_for_all_namespaces()
    assert err.value.status == 429
    assert err.value.headers["Retry-After"] == "0"
    assert json.loads(err.value.body)["details"] == {"retryAfterSeconds": 0}


def test_expired_continue_and_server_errors(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    first = core.list_namespace(limit=2)
    cluster.expire_continue("namespaces")
    with pytest.raises(ApiException) as err:
        core.list_namespace(limit=2, _continue=first.metadata._continue)
    assert (err.value.status, json.loads(err.value.body)["reason"]) == (410, "Expired")
    again = core.list_namespace(limit=2, _continue=first.metadata._continue)
    assert [ns.metadata.name for ns in again.items] == ["kube-system", "payments"]
    cluster.fail("services", status=500)
    with pytest.raises(ApiException) as err:
        core.list_service_for_all_namespaces()
    assert err.value.status == 500
    assert [s.metadata.name for s in core.list_service_for_all_namespaces().items] == ["web"]


def test_slow_resource_times_out(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    api.configuration.retries = False
    cluster.slow("configmaps", 0.5)
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.CoreV1Api(api).list_config_map_for_all_namespaces(_request_timeout=0.1)


def test_unauthorized_without_token(cluster: FakeKubeAPI, tmp_path: Path) -> None:
    context = ssl.create_default_context(cafile=str(cluster.ca_path))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{cluster.url}/api/v1/namespaces", context=context)
    assert err.value.code == 401
    assert json.loads(err.value.read()) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc", {"stale": "bad-token"})
    stale = config.new_client_from_config(config_file=str(kubeconfig), context="stale")
    with pytest.raises(ApiException) as api_err:
        client.CoreV1Api(stale).list_namespace()
    assert api_err.value.status == 401


def test_request_log_and_writes_refused(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.list_namespace()
    core.list_namespaced_secret("payments", label_selector="app")
    assert [(r.method, r.path, r.query, r.status) for r in cluster.requests] == [
        ("GET", "/api/v1/namespaces", {}, 200),
        ("GET", "/api/v1/namespaces/payments/secrets", {"labelSelector": "app"}, 200),
    ]
    with pytest.raises(ApiException) as err:
        core.create_namespace({"metadata": {"name": "x"}})
    assert err.value.status == 405
    assert [(r.method, r.status) for r in cluster.requests[2:]] == [("POST", 405)]


def test_single_objects_and_edge_cases(cluster: FakeKubeAPI, api: client.ApiClient) -> None:
    group = raw_get(api, "/apis/telemetry.istio.io")
    assert (group["kind"], group["preferredVersion"]["groupVersion"]) == (
        "APIGroup",
        "telemetry.istio.io/v1",
    )
    namespace = raw_get(api, "/api/v1/namespaces/shop")
    assert (namespace["apiVersion"], namespace["kind"]) == ("v1", "Namespace")
    assert namespace["metadata"]["labels"] == {"mesh": "true"}
    secret = raw_get(
        api,
        "/api/v1/namespaces/payments/secrets/api-token",
        accept="application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    )
    assert secret.keys() == {"apiVersion", "kind", "metadata"}
    assert secret["metadata"]["name"] == "api-token"
    # A client offering Table first and JSON as fallback gets plain JSON, like from a cluster.
    table_first = raw_get(
        api,
        "/api/v1/namespaces",
        accept="application/json;as=Table;g=meta.k8s.io;v=v1,application/json",
    )
    assert table_first["kind"] == "NamespaceList"

    core = client.CoreV1Api(api)
    for call, status in [
        (lambda: core.list_namespace(_continue="not-a-token"), 400),
        (lambda: core.list_namespace(label_selector="a in (b"), 400),
        (lambda: core.list_namespace(field_selector="spec.finalizers=x"), 400),
        (lambda: core.read_namespaced_secret("api-token", "shop"), 404),
    ]:
        with pytest.raises(ApiException) as err:
            call()
        assert err.value.status == status
    cluster.not_found("networking.istio.io/gateways", times=1)
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as err:
        custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways")
    assert err.value.status == 404
    assert (
        len(custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways")["items"])
        == 2
    )
    with pytest.raises(KeyError, match="not served"):
        cluster.forbid("networking.istio.io/gatewayz")

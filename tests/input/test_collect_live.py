"""The live collector against FakeKubeAPI: what it asks for, and how it answers faults."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.config import incluster_config

from auditor.input.cluster.discovery import rbac_resources
from auditor.input.cluster.lists import (
    CollectOptions,
    Response,
    TransportError,
    collect_cluster,
)
from auditor.input.cluster.live import (
    NO_ISTIO,
    ClientTransport,
    LiveOptions,
    LiveResult,
    collect,
    configure,
)
from auditor.input.files import load_paths
from auditor.input.kinds import KINDS
from auditor.input.shaping import LAST_APPLIED, SECRET_TYPE_UNKNOWN
from auditor.input.snapshot import Snapshot
from tests.helpers import DEMO
from tests.kubeapi import FakeKubeAPI, RecordedRequest
from tests.kubeapi.resources import CRD_DIR, CRD_FILES
from tests.live_support import METADATA_LIST, kubeconfig, load_demo


@pytest.fixture
def demo(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    return load_demo(kube_api)


def run(
    api: FakeKubeAPI,
    tmp_path: Path,
    sleeps: list[float] | None = None,
    context: str = "prod",
    **options: Any,
) -> LiveResult:
    """Collect with a recording `sleep`, so backoff is asserted instead of waited for."""
    slept = sleeps if sleeps is not None else []
    return collect(
        LiveOptions(
            context=context,
            kubeconfig=str(kubeconfig(api, tmp_path)),
            collect=CollectOptions(**options),
        ),
        sleep=slept.append,
    )


def identities(snapshot: Snapshot) -> set[tuple[str, str, str]]:
    return {(o.kind, o.namespace, o.name) for o in snapshot.all_objects()}


def lists_of(api: FakeKubeAPI, suffix: str) -> list[RecordedRequest]:
    return [r for r in api.requests if r.path.endswith(suffix) and "limit" in r.query]


def test_collects_exactly_what_the_files_hold(demo: FakeKubeAPI, tmp_path: Path) -> None:
    live = run(demo, tmp_path).snapshot
    files = load_paths([str(DEMO)])
    assert identities(live) == identities(files)
    assert {k: s.status for k, s in live.collection.items()} == {k.key: "ok" for k in KINDS}
    assert live.source.kubernetes_version == "v1.30.2"
    assert live.source.istio_version == "1.24.2"
    assert live.source.context == "prod"
    assert live.source.server == demo.url
    # each kind is read at the preferred served version mesh-audit understands
    versions = {k: s.version for k, s in live.collection.items()}
    assert versions["networking.istio.io/Gateway"] == "v1"
    assert versions["networking.istio.io/EnvoyFilter"] == "v1alpha3"
    assert versions["gateway.networking.k8s.io/TCPRoute"] == "v1alpha2"
    assert versions["gateway.networking.k8s.io/ReferenceGrant"] == "v1"
    promo = live.get("networking.istio.io/Gateway", "marketing", "promo-gateway")
    assert promo is not None and promo.api_version == "networking.istio.io/v1"
    assert live.warnings == []


def test_request_log_read_only_paged_metadata_secrets(demo: FakeKubeAPI, tmp_path: Path) -> None:
    run(demo, tmp_path, page_size=2)
    assert {r.method for r in demo.requests} == {"GET"}
    assert all(r.status == 200 for r in demo.requests)
    lists = [r for r in demo.requests if "limit" in r.query]
    assert {r.query["limit"] for r in lists} == {"2"}
    pages = lists_of(demo, "/api/v1/namespaces")
    count = load_paths([str(DEMO)]).count("Namespace")
    assert count > 4
    assert [bool(r.query.get("continue")) for r in pages] == [False] + [True] * ((count - 1) // 2)
    secrets = [r for r in demo.requests if "secrets" in r.path]
    assert {r.path for r in secrets} == {"/api/v1/secrets"}
    assert {r.accept for r in secrets} == {METADATA_LIST}
    assert {r.query.get("fieldSelector") for r in secrets} == {
        None,
        "type=kubernetes.io/tls",
        "type=Opaque",
    }
    configmaps = [r for r in demo.requests if "configmaps" in r.path]
    assert {r.path for r in configmaps} == {"/api/v1/namespaces/istio-system/configmaps"}
    every_list = {r.path for r in lists if not r.query.get("continue")}
    assert len(every_list) == len(KINDS)


def test_secrets_are_metadata_with_known_types(demo: FakeKubeAPI, tmp_path: Path) -> None:
    live = run(demo, tmp_path).snapshot
    secrets = {(s.namespace, s.name): s.raw for s in live.objects("Secret")}
    assert {k: v["type"] for k, v in secrets.items()} == {
        ("istio-ingress", "shop-tls"): "kubernetes.io/tls",
        ("istio-ingress", "payments-cert"): "Opaque",
        ("partner-api", "partner-tls"): "kubernetes.io/tls",
    }
    for raw in secrets.values():
        assert set(raw) == {"apiVersion", "kind", "metadata", "type"}
        assert LAST_APPLIED not in raw["metadata"].get("annotations", {})


def test_secret_of_another_type_is_marked_unknown(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    kube_api.load_objects(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "pull", "namespace": "a"},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": "e30="},
            },
        ]
    )
    secret = run(kube_api, tmp_path).snapshot.get("Secret", "a", "pull")
    assert secret is not None and secret.raw["type"] == SECRET_TYPE_UNKNOWN


def test_pods_are_trimmed_to_the_fields_checks_read(demo: FakeKubeAPI, tmp_path: Path) -> None:
    pods = list(run(demo, tmp_path).snapshot.objects("Pod"))
    assert pods
    for pod in pods:
        assert set(pod.raw) == {"apiVersion", "kind", "metadata", "spec"}
        assert set(pod.metadata) <= {
            "name",
            "namespace",
            "uid",
            "labels",
            "annotations",
            "ownerReferences",
        }
        assert set(pod.spec) <= {
            "hostNetwork",
            "securityContext",
            "serviceAccountName",
            "containers",
            "initContainers",
            "volumes",
        }
        # of the volumes, only the proxy's projected token (PRX002)
        assert {v["name"] for v in pod.spec.get("volumes", [])} <= {"istio-token"}
        for container in pod.spec["containers"]:
            assert set(container) <= {"name", "image", "args", "securityContext", "ports"}
            assert "image" in container


def test_expired_continue_restarts_the_list(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.expire_continue("namespaces", times=1)
    live = run(demo, tmp_path, page_size=3).snapshot
    namespaces = lists_of(demo, "/api/v1/namespaces")
    assert [(bool(r.query.get("continue")), r.status) for r in namespaces] == [
        (False, 200),
        (True, 410),
        (False, 200),
        (True, 200),
        (True, 200),
    ]
    assert {o.name for o in live.objects("Namespace")} == {
        n for _, ns, n in identities(load_paths([str(DEMO)])) if not ns and _ == "Namespace"
    }
    assert live.collection["Namespace"].status == "ok"


def test_pages_kept_before_an_expired_continue_are_dropped(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    # Each page is normalized and compacted as it arrives (cluster.Lister.pages `keep`): a 410
    # on page 2 restarts the list (one Pod a page), and what page 1 kept must not be kept twice.
    demo.expire_continue("pods", times=1)
    live = run(demo, tmp_path, page_size=1).snapshot
    pods = lists_of(demo, "/api/v1/pods")
    assert [(bool(r.query.get("continue")), r.status) for r in pods[:3]] == [
        (False, 200),
        (True, 410),
        (False, 200),
    ]
    files = load_paths([str(DEMO)])
    assert {(o.namespace, o.name) for o in live.objects("Pod")} == {
        (o.namespace, o.name) for o in files.objects("Pod")
    }
    assert live.collection["Pod"].count == files.count("Pod")
    assert live.warnings == []


def test_list_failing_after_kept_pages_keeps_nothing_of_that_kind(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    # Fail closed: pages already kept of a list that then fails (a 410 after every restart)
    # never reach the snapshot; the kind is an error and every other kind is read.
    demo.expire_continue("pods", times=100)
    live = run(demo, tmp_path, page_size=1).snapshot
    assert live.collection["Pod"].status == "error"
    assert list(live.objects("Pod")) == []
    assert {k for k, s in live.collection.items() if s.status != "ok"} == {"Pod"}
    assert len([r for r in lists_of(demo, "/api/v1/pods") if r.status == 410]) == 4


def test_throttled_request_is_retried_after_retry_after(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.throttle("services", times=2, retry_after=3)
    sleeps: list[float] = []
    live = run(demo, tmp_path, sleeps)
    assert [r.status for r in lists_of(demo, "/api/v1/services")] == [429, 429, 200]
    assert sleeps == [3.0, 3.0]
    assert live.snapshot.collection["Service"].status == "ok"
    assert live.snapshot.count("Service") == load_paths([str(DEMO)]).count("Service")


def test_server_error_retried_then_that_kind_only_is_an_error(
    demo: FakeKubeAPI, tmp_path: Path
) -> None:
    demo.fail("apps/deployments", status=500, times=None)
    sleeps: list[float] = []
    live = run(demo, tmp_path, sleeps, max_retries=3, backoff_base=0.25)
    statuses = [r.status for r in lists_of(demo, "/apis/apps/v1/deployments")]
    assert statuses == [500, 500, 500, 500]
    assert len(sleeps) == 3
    assert all(0.125 * 2**i <= s <= 0.25 * 2**i for i, s in enumerate(sleeps))
    collection = live.snapshot.collection
    assert collection["apps/Deployment"].status == "error"
    assert collection["apps/Deployment"].message == "Internal error occurred: injected failure"
    assert {k for k, s in collection.items() if s.status != "ok"} == {"apps/Deployment"}
    assert live.snapshot.source.istio_version is None  # read from the istiod Deployment


def test_server_error_once_is_recovered(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.fail("apps/deployments", status=503, times=1)
    live = run(demo, tmp_path)
    assert [r.status for r in lists_of(demo, "/apis/apps/v1/deployments")] == [503, 200]
    assert live.snapshot.collection["apps/Deployment"].status == "ok"


def test_forbidden_kind_does_not_stop_the_rest(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.forbid("secrets")
    live = run(demo, tmp_path).snapshot
    assert live.collection["Secret"].status == "forbidden"
    assert live.collection["Secret"].message == (
        'secrets is forbidden: User "system:serviceaccount:mesh-audit:mesh-audit" cannot list '
        'resource "secrets" in API group "" at the cluster scope, nor in any namespace'
    )
    assert {k for k, s in live.collection.items() if s.status != "ok"} == {"Secret"}
    assert live.count("Secret") == 0
    # a 403 is an answer, not a transient failure: never retried; each namespace asked once
    asked = [r.path for r in demo.requests if r.path.endswith("/secrets")]
    namespaces = sorted(o.name for o in load_paths([str(DEMO)]).objects("Namespace"))
    assert asked == ["/api/v1/secrets", *(f"/api/v1/namespaces/{n}/secrets" for n in namespaces)]


def test_cluster_wide_forbidden_falls_back_to_namespaces(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.forbid_cluster_wide("networking.istio.io/virtualservices")
    live = run(demo, tmp_path).snapshot
    files = load_paths([str(DEMO)])
    assert live.collection["networking.istio.io/VirtualService"].status == "ok"
    key = "networking.istio.io/VirtualService"
    vs = {(o.namespace, o.name) for o in live.objects(key)}
    assert vs == {(o.namespace, o.name) for o in files.objects(key)}
    per_ns = [r.path for r in demo.requests if r.path.endswith("/virtualservices")]
    namespaces = sorted(o.name for o in files.objects("Namespace"))
    assert per_ns == [
        "/apis/networking.istio.io/v1/virtualservices",
        *(f"/apis/networking.istio.io/v1/namespaces/{ns}/virtualservices" for ns in namespaces),
    ]


def test_namespace_option_limits_namespaced_kinds(demo: FakeKubeAPI, tmp_path: Path) -> None:
    live = run(demo, tmp_path, namespaces=("shop", "payments")).snapshot
    assert live.source.namespaces == ["shop", "payments"]
    for obj in live.all_objects():
        assert obj.namespace in ("", "shop", "payments", "istio-system"), obj
    assert {o.namespace for o in live.objects("ConfigMap")} == {"istio-system"}
    namespaced = [
        r.path
        for r in demo.requests
        if "limit" in r.query
        and not r.path.endswith(
            (
                "/namespaces",
                "/gatewayclasses",
                "/mutatingwebhookconfigurations",
                "/validatingwebhookconfigurations",
            )
        )
    ]
    assert all(
        "/namespaces/shop/" in p or "/namespaces/payments/" in p or "/istio-system/configmaps" in p
        for p in namespaced
    )
    assert live.count("Service") == sum(
        1 for o in load_paths([str(DEMO)]).objects("Service") if o.namespace in ("shop", "payments")
    )


def test_cluster_without_istio(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> None:
    api = load_demo(kube_api_factory(crds=False), strict=False)
    live = run(api, tmp_path).snapshot
    not_installed = {k for k, s in live.collection.items() if s.status == "not-installed"}
    builtin = (
        "",
        "apps",
        "batch",
        "networking.k8s.io",
        "admissionregistration.k8s.io",
        "discovery.k8s.io",
    )
    assert not_installed == {k.key for k in KINDS if k.group not in builtin}
    assert live.collection["networking.istio.io/Gateway"].message == (
        "API group networking.istio.io is not served"
    )
    assert [w.problem for w in live.warnings] == [NO_ISTIO]
    assert live.source.istio_version == "1.24.2"  # istiod Deployment exists, CRDs do not
    assert live.count("Service") > 0


def test_some_crds_missing_are_not_installed(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> None:
    api = kube_api_factory(crds=["networking.istio.io", "security.istio.io"])
    live = run(api, tmp_path).snapshot
    assert live.collection["gateway.networking.k8s.io/HTTPRoute"].status == "not-installed"
    assert live.collection["networking.istio.io/Gateway"].status == "ok"
    assert live.warnings == []


def test_slow_kind_times_out_and_is_an_error(demo: FakeKubeAPI, tmp_path: Path) -> None:
    # margins wide enough that the other kinds answer in time on a loaded machine
    demo.slow("networking.k8s.io/networkpolicies", 8.0)
    live = run(demo, tmp_path, request_timeout=2, max_retries=1).snapshot
    status = live.collection["networking.k8s.io/NetworkPolicy"]
    assert (status.status, status.message) == ("error", "no answer within 2s")
    assert {k for k, s in live.collection.items() if s.status != "ok"} == {
        "networking.k8s.io/NetworkPolicy"
    }


def test_overall_deadline_marks_unread_kinds(demo: FakeKubeAPI, tmp_path: Path) -> None:
    demo.slow("pods", 1.5)
    live = run(demo, tmp_path, deadline=1.0, request_timeout=5).snapshot
    pods = live.collection["Pod"]
    assert pods.status == "error"
    assert pods.message in ("not read: the overall deadline (1s) passed", "no answer within 1s")


def test_rbac_resources_are_the_kinds_listed(demo: FakeKubeAPI, tmp_path: Path) -> None:
    run(demo, tmp_path)
    pairs = rbac_resources()
    assert ("", "secrets") in pairs and ("networking.istio.io", "gateways") in pairs
    assert len(pairs) == len(KINDS)
    listed = set()
    for r in demo.requests:
        if "limit" not in r.query:
            continue
        parts = r.path.strip("/").split("/")
        group = "" if parts[0] == "api" else parts[1]
        listed.add((group, parts[-1]))
    assert listed == set(pairs)


def test_older_istio_serves_only_beta_versions(
    kube_api_factory: Callable[..., FakeKubeAPI], tmp_path: Path
) -> None:
    # An Istio before 1.22 served v1beta1 and v1alpha3 only: the CRDs with v1 not served.
    crd_dir = tmp_path / "crds"
    crd_dir.mkdir()
    for name in CRD_FILES:
        docs = list(yaml.safe_load_all((CRD_DIR / name).read_text(encoding="utf-8")))
        for doc in docs:
            if (
                doc
                and doc.get("kind") == "CustomResourceDefinition"
                and doc["spec"]["group"] in ("networking.istio.io", "security.istio.io")
            ):
                for version in doc["spec"]["versions"]:
                    version["served"] = version["name"] != "v1"
                    version["storage"] = version["name"] == "v1beta1" or (
                        version["name"] == "v1alpha3"
                        and doc["spec"]["names"]["kind"] == "EnvoyFilter"
                    )
        (crd_dir / name).write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    api = kube_api_factory(crd_dir=crd_dir)
    api.load_objects(
        [
            {
                "apiVersion": "networking.istio.io/v1beta1",
                "kind": "Gateway",
                "metadata": {"name": "gw", "namespace": "a"},
                "spec": {"selector": {"istio": "ingressgateway"}},
            }
        ]
    )
    live = run(api, tmp_path).snapshot
    versions = {k: s.version for k, s in live.collection.items() if s.status == "ok"}
    assert versions["networking.istio.io/Gateway"] == "v1beta1"
    assert versions["security.istio.io/AuthorizationPolicy"] == "v1beta1"
    assert versions["networking.istio.io/EnvoyFilter"] == "v1alpha3"
    gw = live.get("networking.istio.io/Gateway", "a", "gw")
    assert gw is not None and gw.api_version == "networking.istio.io/v1beta1"
    assert not any(r.path.startswith("/apis/networking.istio.io/v1/") for r in api.requests)


def test_in_cluster_configuration(
    demo: FakeKubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text(demo.token)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(demo.ca_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(demo.port))
    live = collect(LiveOptions(in_cluster=True)).snapshot
    assert (live.source.context, live.source.server) == ("in-cluster", demo.url)
    assert identities(live) == identities(load_paths([str(DEMO)]))


def test_dropped_connection_is_retried(demo: FakeKubeAPI, tmp_path: Path) -> None:
    """The fake cannot drop a connection, so a Transport wrapper drops the first Service list."""
    options = LiveOptions(context="prod", kubeconfig=str(kubeconfig(demo, tmp_path)))
    cfg, _ = configure(options)
    inner = ClientTransport(client.ApiClient(cfg), str(cfg.host))
    dropped: list[str] = []

    class Flaky:
        server = inner.server

        def get(
            self,
            path: str,
            query: Sequence[tuple[str, str]],
            accept: str,
            timeout: float,
            until: float | None = None,
        ) -> Response:
            if path == "/api/v1/services" and not dropped:
                dropped.append(path)
                raise TransportError("dropped", "connection reset by peer")
            return inner.get(path, query, accept, timeout, until)

    sleeps: list[float] = []
    data = collect_cluster(Flaky(), CollectOptions(backoff_base=0.1), sleep=sleeps.append)
    assert dropped == ["/api/v1/services"]
    assert len(sleeps) == 1 and 0.05 <= sleeps[0] <= 0.1
    assert data.results["Service"].status.status == "ok"
    assert len(data.results["Service"].objects) == load_paths([str(DEMO)]).count("Service")


def test_aks_mesh_config_is_read_in_aks_istio_system(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    """The AKS Istio add-on keeps its mesh config in aks-istio-system (`istio-<revision>` and
    the user's `istio-shared-configmap-<revision>`): read there too when the namespace exists,
    and merged as istiod merges them (fixtures/cases/egress/aks-shared-meshconfig.yaml). Other
    ConfigMaps there are not kept."""
    from auditor.mesh.mesh_config_source import resolve_mesh_config
    from tests.helpers import CASES

    aks = yaml.safe_load_all((CASES / "egress" / "aks-shared-meshconfig.yaml").read_text())
    other = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-root-ca.crt", "namespace": "aks-istio-system"},
        "data": {"ca.crt": "x"},
    }
    kube_api.load_objects([*aks, other])
    live = run(kube_api, tmp_path).snapshot
    asked = {r.path for r in kube_api.requests if r.path.endswith("/configmaps")}
    assert asked == {
        "/api/v1/namespaces/istio-system/configmaps",
        "/api/v1/namespaces/aks-istio-system/configmaps",
    }
    names = {(o.namespace, o.name) for o in live.objects("ConfigMap")}
    assert ("aks-istio-system", "kube-root-ca.crt") not in names
    assert ("aks-istio-system", "istio-shared-configmap-asm-1-24") in names
    assert live.collection["ConfigMap"].status == "ok"
    mesh, _ = resolve_mesh_config(live)
    assert mesh.outbound_mode == "REGISTRY_ONLY"
    assert mesh.configmaps == (
        "aks-istio-system/istio-asm-1-24",
        "aks-istio-system/istio-shared-configmap-asm-1-24",
    )

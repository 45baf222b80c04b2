"""A fake, read-only Kubernetes API server for the collector's tests (see ``server.py``).

Typical use, with the ``kube_api`` fixture from ``kubeapi.fixture``::

    def test_lists_gateways(kube_api, tmp_path):
        kube_api.load_objects(yaml.safe_load_all(Path("fixtures/mesh.yaml").read_text()))
        kube_api.forbid("secrets")
        kubeconfig = kube_api.write_kubeconfig(tmp_path / "kubeconfig")  # contexts prod, dead
        result = collect(kubeconfig=kubeconfig, context="prod")
        assert {r.method for r in kube_api.requests} == {"GET"}
"""

from .server import FakeKubeAPI, RecordedRequest

__all__ = ["FakeKubeAPI", "RecordedRequest"]

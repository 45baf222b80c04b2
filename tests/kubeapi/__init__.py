"""A fake, read-only Kubernetes API server for the collector's tests (see ``server.py``)."""

from .server import FakeKubeAPI, RecordedRequest

__all__ = ["FakeKubeAPI", "RecordedRequest"]

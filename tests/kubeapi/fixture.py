"""Pytest fixtures around ``FakeKubeAPI``; a conftest re-exports them with
``from kubeapi.fixture import kube_api, kube_api_factory  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

import pytest

from .server import FakeKubeAPI


@contextmanager
def running_kube_api(
    *, crds: bool | Sequence[str] = True, **kwargs: object
) -> Iterator[FakeKubeAPI]:
    """Start a ``FakeKubeAPI`` for the block; raise afterwards if its handler ever crashed."""
    api = FakeKubeAPI(crds=crds, **kwargs)  # type: ignore[arg-type]
    with api:
        yield api
    api.check()


@pytest.fixture
def kube_api() -> Iterator[FakeKubeAPI]:
    """A started cluster with every Istio and Gateway API CRD installed and no objects."""
    with running_kube_api() as api:
        yield api


@pytest.fixture
def kube_api_factory() -> Iterator[Callable[..., FakeKubeAPI]]:
    """Start clusters with other options (``crds=False`` for no Istio); all stop at teardown."""
    with ExitStack() as stack:

        def start(**kwargs: object) -> FakeKubeAPI:
            return stack.enter_context(running_kube_api(**kwargs))  # type: ignore[arg-type]

        yield start

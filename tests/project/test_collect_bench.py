"""benchmarks/collect_bench.py's page-caching server answers exactly what FakeKubeAPI answers.

The 250k live-collection benchmark (benchmarks/README-collect.md) serves list pages from
`CachedKubeAPI` (sorted keys, bisection, a cache of serialized pages); its figures only stand
for the collector against the test API server if every page, continue token and
remainingItemCount is byte-identical to the test server's own `_list`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from tests.helpers import ROOT
from tests.kubeapi import FakeKubeAPI
from tests.kubeapi.server import _Target


@pytest.fixture(scope="module")
def collect_bench() -> Iterator[Any]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import collect_bench

        yield collect_bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_cached_pages_are_the_test_servers_pages(collect_bench: Any) -> None:
    api = collect_bench.cached_api_class()()
    assert api.load_objects(collect_bench.generate(3)) > 0
    pages = 0
    for rtype in api._resources:
        for namespace in (None, "shop-1", "istio-system-0"):
            if namespace and not rtype.namespaced:
                continue
            selectors: list[dict[str, str]] = [{}, {"labelSelector": "app"}]
            if rtype.key == "secrets":
                selectors.append({"fieldSelector": "type=Opaque"})
            for partial in (False, True):
                for selector in selectors:
                    token = ""
                    target = _Target(rtype, rtype.versions[0], namespace, None, None)
                    while True:
                        query = {"limit": "3", **selector, **({"continue": token} if token else {})}
                        expected = FakeKubeAPI._list(api, target, MultiDict(query), partial)
                        for _ in range(2):  # computed, then from the cache
                            got = api._list(target, MultiDict(query), partial)
                            assert got.get_data() == expected.get_data()
                            assert got.content_type == expected.content_type
                        pages += 1
                        token = json.loads(expected.get_data())["metadata"].get("continue", "")
                        if not token:
                            break
    assert pages > 500

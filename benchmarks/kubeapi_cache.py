"""FakeKubeAPI (tests/kubeapi) whose list pages are computed once and then served from a cache:
the server benchmarks/collect_bench.py runs (`cached_api_class`)."""

from __future__ import annotations

import bisect
from typing import Any


def cached_api_class() -> Any:
    """FakeKubeAPI whose list pages are computed once and then served from a cache.

    The objects never change while the benchmark runs, so the sorted keys of each resource are
    kept and a page is found by bisection, and each answer body is kept by its request (resource,
    namespace, Accept form, selectors, limit, continue token). Answers are byte-identical to the
    test server's."""
    from werkzeug import Response

    from tests.kubeapi import FakeKubeAPI

    class CachedKubeAPI(FakeKubeAPI):
        _pages: dict[tuple[Any, ...], tuple[bytes, str]]
        _sorted: dict[str, tuple[list[str], list[dict[str, Any]]]]

        def _list(self, target: Any, args: Any, partial: bool) -> Response:
            if not hasattr(self, "_pages"):
                self._pages, self._sorted = {}, {}
            key = (
                target.rtype.key,
                target.version,
                target.namespace,
                partial,
                args.get("labelSelector"),
                args.get("fieldSelector"),
                args.get("limit"),
                args.get("continue"),
            )
            with self._lock:
                hit = self._pages.get(key)
            if hit is None:
                response = self._list_fast(target, args, partial)
                if response.status_code != 200:
                    return response
                hit = (response.get_data(), response.content_type or "application/json")
                with self._lock:
                    self._pages[key] = hit
            return Response(hit[0], status=200, content_type=hit[1])

        def _list_fast(self, target: Any, args: Any, partial: bool) -> Response:
            """FakeKubeAPI._list over pre-sorted keys (same pages, tokens and metadata)."""
            from tests.kubeapi.selectors import parse_field_selector, parse_label_selector
            from tests.kubeapi.server import SELECTABLE_FIELDS

            rkey = target.rtype.key
            with self._lock:
                if rkey not in self._sorted:
                    ordered = sorted(self._objects[rkey].items())
                    self._sorted[rkey] = ([k for k, _ in ordered], [o for _, o in ordered])
                keys, objs = self._sorted[rkey]
            label_selector, field_selector = args.get("labelSelector"), args.get("fieldSelector")
            matches_label = parse_label_selector(label_selector or "")
            matches_field = parse_field_selector(
                field_selector or "", SELECTABLE_FIELDS.get(rkey, ())
            )
            limit = self._parse_limit(args.get("limit"))
            token = args.get("continue")
            resource_version, start = self._resource_version, ""
            if token:
                resource_version, start = self._decode_continue(token)
            prefix = f"{target.namespace}/" if target.namespace else ""
            lo = max(bisect.bisect_left(keys, start), bisect.bisect_left(keys, prefix))
            hi = bisect.bisect_left(keys, prefix + "\U0010ffff") if prefix else len(keys)
            selected: list[tuple[str, dict[str, Any]]] = []
            more = 0
            for i in range(lo, hi):
                obj = objs[i]
                if matches_label(obj) and matches_field(obj):
                    if limit and len(selected) >= limit:
                        more = 1
                        break
                    selected.append((keys[i], obj))
            metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
            if more:
                metadata["continue"] = self._encode_continue(resource_version, selected[-1][0])
                if not label_selector and not field_selector:
                    metadata["remainingItemCount"] = hi - lo - len(selected)
            if partial:
                from tests.kubeapi.server import PARTIAL_LIST

                body = {
                    "kind": PARTIAL_LIST,
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                    "items": [self._partial(obj) for _, obj in selected],
                }
                return self._json(body, content_type=self._partial_type(PARTIAL_LIST))
            body = {
                "kind": f"{target.rtype.kind}List",
                "apiVersion": target.rtype.api_version(target.version),
                "metadata": metadata,
                "items": [self._present(obj, target, in_list=True) for _, obj in selected],
            }
            return self._json(body)

    return CachedKubeAPI

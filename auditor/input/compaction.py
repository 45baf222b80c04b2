"""What the snapshot stores of an object that passed its shape checks, and doing it as it is read.

One call per object (`compact_early`) checks its shape (one compiled function per kind,
auditor/input/shape_code.py, annotations' size counted in the same loop), cuts it to what the
audit reads and shares its strings and subtrees (auditor/input/sharing.py). What an object's
apiVersion and kind decide (its group, whether the kind is read, which predicate and which cut)
is looked up once per pair, not worked out again for each of a large mesh's objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.input.kinds import BY_GROUP_KIND, split_api_version
from auditor.input.shapes import shape_predicate
from auditor.input.shaping import trim_endpoint_slice, trim_pod
from auditor.input.sharing import share_strings

# Kinds whose `status` the snapshot does not keep (compact_object)
WORKLOAD_CONTROLLERS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
    }
)
# An Argo Rollout keeps only the pod-template hashes of its ReplicaSets from its status: the
# DestinationRule subsets the Rollout controller writes name them (checks/config.py CFG003).
ROLLOUT_STATUS = ("currentPodHash", "stableRS")


Cut = Callable[[dict[str, Any]], dict[str, Any]]


def compact_object(obj: dict[str, Any], group: str, kind: str) -> dict[str, Any]:
    """What the snapshot stores of an object that passed its shape checks: a Pod cut to the
    fields checks read, as the live collector keeps it (auditor/input/shaping.py; Pods are most of a
    large mesh's bytes, benchmarks/README.md), a ReplicaSet scaled to zero without its template
    (an old revision: it runs nothing), a workload controller without its `status`
    (rollout conditions and replica counts, which no check reads), an EndpointSlice's endpoints
    cut to their addresses (`trim_endpoint_slice`), and every string shared
    (equal subtrees too, while loading: `share_strings`)."""
    obj = _cut_for(group, kind)(obj)
    share_strings(obj)
    return obj


def _cut_for(group: str, kind: str) -> Cut:
    """How objects of a kind are cut (the same object when they are kept whole)."""
    if kind == "Pod" and not group:
        return _pod
    if (group, kind) == ("apps", "ReplicaSet"):
        return _replica_set
    if (group, kind) in WORKLOAD_CONTROLLERS:
        return _without_status
    if (group, kind) == ("argoproj.io", "Rollout"):
        return _rollout
    if kind == "EndpointSlice" and group == "discovery.k8s.io":
        return trim_endpoint_slice
    return _whole


def _whole(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    api_version = obj.get("apiVersion")
    obj = trim_pod(obj)
    obj["apiVersion"] = api_version
    return obj


def _replica_set(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if not (isinstance(spec, dict) and spec.get("replicas") == 0):
        return _without_status(obj)
    # a Deployment's or Rollout's old revision (ten by default per Deployment): it runs
    # nothing and no check reads its template (auditor/mesh/workload.py leaves it out)
    return {
        **{k: v for k, v in obj.items() if k not in ("spec", "status")},
        "spec": {k: spec[k] for k in ("replicas", "selector") if k in spec},
    }


def _without_status(obj: dict[str, Any]) -> dict[str, Any]:
    if "status" not in obj:
        return obj
    return {k: v for k, v in obj.items() if k != "status"}


def _rollout(obj: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(obj.get("status"), dict):
        return obj
    status = {k: v for k, v in obj["status"].items() if k in ROLLOUT_STATUS}
    return {**obj, "status": status}


Compactor = Callable[[dict[str, Any]], dict[str, Any] | None]


def _compactor(api_version: str, kind: str) -> Compactor | None:
    """The one-call compaction of objects of this apiVersion and kind (None when the snapshot
    does not compact them early: kinds it does not read, Secrets, ConfigMaps): the compacted
    object, or None when the shape checks find something (`Snapshot.add` then says what)."""
    group, _version = split_api_version(api_version)
    spec = BY_GROUP_KIND.get((group, kind))
    if spec is None or spec.metadata_only or kind == "ConfigMap":
        return None

    ok, cut = shape_predicate(group, kind), _cut_for(group, kind)

    def compact(obj: dict[str, Any]) -> dict[str, Any] | None:
        if not ok(obj):
            return None
        obj = cut(obj)
        share_strings(obj)
        return obj

    return compact


# (apiVersion, kind) -> its compactor; the pairs the input spells are few, but input is
# untrusted: past _MAX_PLANS pairs, or for a pair longer than any real one (MAX_PAIR_CHARS),
# the answer is worked out each time instead of remembered
_PLANS: dict[tuple[str, str], Compactor | None] = {}
_MAX_PLANS = 1024
MAX_PAIR_CHARS = 512


def compact_early(obj: Any) -> tuple[Any, bool]:
    """`compact_object` applied while a file is still being read (so a large file's objects
    never all exist at full size at once), when it is certain `Snapshot.add` would store that
    very result: a well-formed object whose shape checks report nothing. Returns the object and
    whether it was compacted (then pass `compact=True` to `add`)."""
    if type(obj) is not dict:
        return obj, False
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if type(api_version) is not str or type(kind) is not str:
        return obj, False
    if type(obj.get("metadata")) is not dict:
        return obj, False
    key = (api_version, kind)
    try:
        compact = _PLANS[key]
    except KeyError:
        compact = _compactor(api_version, kind)
        if len(_PLANS) < _MAX_PLANS and len(api_version) + len(kind) <= MAX_PAIR_CHARS:
            _PLANS[key] = compact
    if compact is None:
        return obj, False
    done = compact(obj)
    return (obj, False) if done is None else (done, True)

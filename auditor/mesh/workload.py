"""Workload: one set of pods as the audit sees it (a pod template, or a Pod standing for one).

Its own module so that the index and the modules built beside it (membership, workload ports,
waypoints) share one definition without importing each other.

Workloads are derived generically from every kind that holds a pod template (TEMPLATE_PATHS) and
from the Pods in the input, by their controller ownerReferences:

- an object whose controller (followed up the chain: Pod -> ReplicaSet -> Deployment or Argo
  Rollout, Pod -> Job -> CronJob) is in the input is `owned`: the top owner's template is audited
  instead, and a Pod counts among the top owner's running pods;
- a Pod whose ReplicaSet (or Job) is not in the input is matched to its Deployment or Rollout
  (`<name>-<hash>` and the selector) or CronJob (`<name>-<n>`) by name, as the controllers name
  what they create;
- Pods of a controller that is not in the input at all (the input was read without that kind)
  stand for it: the first by name is the workload, the others its pods (not a Node: the mirror
  pods of a node's static pods are each their own);
- an Argo Rollout with `workloadRef` runs the referenced Deployment's template
  (argoproj.github.io/argo-rollouts/features/specification/); that Deployment, scaled to zero as
  the migration guide has it, is owned by the Rollout;
- a ReplicaSet scaled to zero (a Deployment's or Rollout's old revision) runs nothing and is
  left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.input.kinds import (
    K_CRONJOB,
    K_DAEMONSET,
    K_DEPLOYMENT,
    K_JOB,
    K_POD,
    K_REPLICASET,
    K_ROLLOUT,
    K_STATEFULSET,
)
from auditor.input.snapshot import KObject, Snapshot
from auditor.istio.selectors import label_selector_matches

# Where each kind keeps its pod template.
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    K_DEPLOYMENT: ("spec", "template"),
    K_STATEFULSET: ("spec", "template"),
    K_DAEMONSET: ("spec", "template"),
    K_REPLICASET: ("spec", "template"),
    K_JOB: ("spec", "template"),
    K_ROLLOUT: ("spec", "template"),
    K_CRONJOB: ("spec", "jobTemplate", "spec", "template"),
}
# Controllers that name what they create `<owner>-<suffix>` (ReplicaSets of a Deployment or
# Rollout, Jobs of a CronJob): how a Pod finds its top owner when the middle one is not read.
NAMED_BY_OWNER = {"ReplicaSet": ("Deployment", "Rollout"), "Job": ("CronJob",)}

Key = tuple[str, str, str]  # (kind, namespace, name)
WORKLOAD_REF = "spec.workloadRef"


@dataclass(frozen=True, slots=True)
class Workload:
    """A set of pods: a controller's pod template, or a Pod."""

    obj: KObject
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    pod_spec: Mapping[str, Any]
    owned: bool  # created by a controller in the input (its template is audited instead)
    template_path: str = ""  # `spec.template`, `spec.jobTemplate.spec.template`; "" for a Pod
    owner: Key | None = None  # the audited workload an owned object belongs to
    # (kind, namespace, name): every model and check keys workloads by it, millions of times
    # in a large mesh, so it is made once here rather than per use
    key: Key = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.obj.kind, self.obj.namespace, self.obj.name))

    @property
    def namespace(self) -> str:
        return self.obj.namespace

    @property
    def meta_path(self) -> str:
        """Field path of the pod metadata (labels, annotations) in the workload's object."""
        return self._path("metadata")

    @property
    def spec_path(self) -> str:
        """Field path of the pod spec in the workload's object."""
        return self._path("spec")

    def _path(self, part: str) -> str:
        if not self.template_path:
            return part
        if self.template_path == WORKLOAD_REF:
            return WORKLOAD_REF  # the pod template is the referenced Deployment's
        return f"{self.template_path}.{part}"

    @property
    def container_names(self) -> tuple[str, ...]:
        return tuple(str(c.get("name", "")) for c in self.pod_spec.get("containers") or ())


def _dig(obj: Mapping[str, Any], path: Iterable[str]) -> Mapping[str, Any]:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _controller(obj: KObject) -> Mapping[str, Any] | None:
    for ref in obj.metadata.get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller"):
            return ref
    return None


def _key(obj: KObject) -> Key:
    return (obj.kind, obj.namespace, obj.name)


def _scaled_to_zero(obj: KObject) -> bool:
    return obj.kind == "ReplicaSet" and obj.spec.get("replicas") == 0


class _Owners:
    """Controller lookups over the template owners and Pods of one snapshot."""

    def __init__(self, owners: list[KObject]) -> None:
        self.by_key: dict[Key, KObject] = {_key(o): o for o in owners}
        self.by_uid: dict[str, KObject] = {}
        # (kind, namespace, name) -> (position in `owners`, owner): `by_name` looks up the
        # prefixes of a name instead of trying every owner of the namespace
        self.named: dict[Key, list[tuple[int, KObject]]] = {}
        for i, o in enumerate(owners):
            uid = o.metadata.get("uid")
            if isinstance(uid, str) and uid:
                self.by_uid[uid] = o
            self.named.setdefault(_key(o), []).append((i, o))

    def parent(self, obj: KObject) -> KObject | None:
        """The controller of `obj` when it is in the input."""
        ref = _controller(obj)
        if ref is None:
            return None
        uid = ref.get("uid")
        if isinstance(uid, str) and uid in self.by_uid:
            return self.by_uid[uid]
        return self.by_key.get((str(ref.get("kind") or ""), obj.namespace, str(ref.get("name"))))

    def by_name(self, obj: KObject, labels: Mapping[str, str]) -> KObject | None:
        """The owner of the missing controller of `obj`, found by the name it was given."""
        ref = _controller(obj)
        if ref is None:
            return None
        name = str(ref.get("name") or "")
        for kind in NAMED_BY_OWNER.get(str(ref.get("kind") or ""), ()):
            # the owners whose name followed by "-" starts `name`, in input order
            found = [
                hit
                for i, c in enumerate(name)
                if c == "-"
                for hit in self.named.get((kind, obj.namespace, name[:i]), ())
            ]
            for _, cand in sorted(found, key=lambda hit: hit[0]):
                if kind == "CronJob" or label_selector_matches(cand.spec.get("selector"), labels):
                    return cand
        return None

    def top(self, obj: KObject, labels: Mapping[str, str]) -> KObject | None:
        """The topmost controller of `obj` in the input (None when it has none there)."""
        found: KObject | None = None
        current = obj
        for _ in range(8):  # ownership chains are short; a loop in hostile input ends here
            parent = self.parent(current)
            if parent is None and found is None:
                parent = self.by_name(current, labels)
            if parent is None or parent is obj:
                break
            found = current = parent
        return found


def _template(obj: KObject, owners: _Owners) -> tuple[Mapping[str, Any], str] | None:
    """The pod template an object runs and its field path; a Rollout's `workloadRef` names the
    Deployment whose template it runs."""
    if obj.kind == "Rollout" and not obj.spec.get("template"):
        ref = obj.spec.get("workloadRef")
        if not isinstance(ref, Mapping) or ref.get("kind") != "Deployment":
            return None
        target = owners.by_key.get(("Deployment", obj.namespace, str(ref.get("name"))))
        if target is None:
            return None
        return _dig(target.raw, ("spec", "template")), WORKLOAD_REF
    path = TEMPLATE_PATHS[f"{obj.group}/{obj.kind}"]
    return _dig(obj.raw, path), ".".join(path)


def _workload_ref_targets(rollouts: Iterable[KObject]) -> set[Key]:
    """Deployments a Rollout runs instead, scaled to zero (the migration's end state)."""
    out: set[Key] = set()
    for r in rollouts:
        ref = r.spec.get("workloadRef")
        if isinstance(ref, Mapping) and ref.get("kind") == "Deployment":
            out.add(("Deployment", r.namespace, str(ref.get("name"))))
    return out


def derive_workloads(snapshot: Snapshot) -> list[Workload]:
    """Every workload of the snapshot: template owners first (in TEMPLATE_PATHS order), then
    Pods; owned ones carry `owner`, the key of the workload audited for them."""
    template_objs = [
        o for key in TEMPLATE_PATHS for o in snapshot.objects(key) if not _scaled_to_zero(o)
    ]
    owners = _Owners(template_objs)
    referenced = _workload_ref_targets(o for o in template_objs if o.kind == "Rollout")
    out: list[Workload] = []
    for obj in template_objs:
        found = _template(obj, owners)
        if found is None:
            continue
        template, path = found
        meta = _dig(template, ("metadata",))
        labels = meta.get("labels") or {}
        top = owners.top(obj, labels)
        if top is None and _key(obj) in referenced and obj.spec.get("replicas") == 0:
            top = next(
                r
                for r in template_objs
                if r.kind == "Rollout"
                and r.namespace == obj.namespace
                and (r.spec.get("workloadRef") or {}).get("name") == obj.name
            )
        out.append(
            Workload(
                obj=obj,
                labels=labels,
                annotations=meta.get("annotations") or {},
                pod_spec=_dig(template, ("spec",)),
                owned=top is not None,
                template_path=path,
                owner=_key(top) if top is not None else None,
            )
        )
    stand_ins: dict[Key, Key] = {}  # a missing controller -> the Pod standing for it
    for pod in sorted(snapshot.objects(K_POD), key=lambda p: (p.namespace, p.name)):
        top = owners.top(pod, pod.labels)
        owner = _key(top) if top is not None else None
        ref = _controller(pod)
        # a static pod's mirror is "owned" by its Node: pods of one node are not one workload
        if owner is None and ref is not None and ref.get("kind") != "Node":
            missing = (str(ref.get("kind") or ""), pod.namespace, str(ref.get("name") or ""))
            owner = stand_ins.get(missing)
            if owner is None:
                stand_ins[missing] = _key(pod)
        out.append(
            Workload(
                obj=pod,
                labels=pod.labels,
                annotations=pod.annotations,
                pod_spec=pod.spec,
                owned=owner is not None,
                owner=owner,
            )
        )
    return out

"""Output: the snapshot document, the streamed snapshot file (and YAML directory), the
planted-problems document, the in-memory YAML directory, the digest tests compare."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from .model import ISTIO_VERSION, PROBLEMS, Mesh, Sink


def snapshot(mesh: Mesh, seed: int) -> dict[str, Any]:
    """The snapshot document of a mesh (its `objects` as held in `mesh.objects`)."""
    from auditor.input.kinds import KINDS
    from auditor.input.snapshot import CollectionStatus, SourceInfo
    from auditor.input.snapshot_file import snapshot_document

    counts = mesh.counts
    collection = {
        k.key: CollectionStatus(status="ok", count=counts.get(k.key, 0), version=k.versions[0])
        for k in KINDS
    }
    source = SourceInfo(
        type="cluster",
        context=f"synthetic-seed-{seed}",
        server="https://synthetic.invalid:6443",
        kubernetes_version="v1.31.4",
        istio_version=ISTIO_VERSION,
        namespaces=None,
        collected_at="2025-03-15T12:00:00Z",
    )
    return snapshot_document(source, collection, mesh.objects)


def planted_document(mesh: Mesh, seed: int, objects: int, rate: float) -> dict[str, Any]:
    return {
        "seed": seed,
        "objects_requested": objects,
        "objects": mesh.total,
        "counts": dict(sorted(mesh.counts.items())),
        "namespaces": len(mesh.namespaces),
        "problem_rate": rate,
        "outbound_traffic_policy": "REGISTRY_ONLY",
        "problem_checks": {k: list(v) for k, v in PROBLEMS.items()},
        "planted": [p.to_json() for p in mesh.planted],
    }


def planted_path(output: Path) -> Path:
    name = output.name
    for suffix in (".gz", ".json"):
        name = name.removesuffix(suffix)
    return output.with_name(f"{name}.planted.json")


def _yaml_dumper() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return Dumper


def yaml_files(mesh: Mesh) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, kubectl List) per namespace; cluster-scoped objects in `_cluster.yaml`."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for obj in mesh.objects:
        ns = obj["metadata"].get("namespace") or "_cluster"
        groups.setdefault(ns, []).append(obj)
    for ns, items in groups.items():
        yield f"{ns}.yaml", _kubectl_list(items)


def _kubectl_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


class SnapshotWriter(Sink):
    """Writes the snapshot file (and the YAML directory) as objects are generated, so memory
    stays bounded whatever the size: one object per line into a temporary file next to the
    output (a gzip member for `.gz`), and at the end the header line (the collection counts are
    known only then) followed by those lines. The result is the layout `write_snapshot` writes,
    the streamed reader's (`auditor.input.snapshot_file`); gzipped, it is two gzip members,
    which gzip readers (Python's `gzip`, zcat) read as one stream. A namespace's YAML file is
    written when the namespace is complete; the shared namespaces' at the end."""

    FLUSH = 1 << 20

    def __init__(self, output: Path, yaml_dir: Path | None) -> None:
        self.output = output
        self.gzipped = output.name.endswith(".gz")
        self.tmp = output.with_name(f".{output.name}.objects.tmp")
        self.raw = self.tmp.open("wb")
        self.fh: BinaryIO = (
            cast(
                BinaryIO,
                gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=6, mtime=0),
            )
            if self.gzipped
            else self.raw
        )
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.count = 0
        self.yaml_dir = yaml_dir
        self.yaml_files = 0
        self.pending: dict[str, list[dict[str, Any]]] = {}
        if yaml_dir is not None:
            yaml_dir.mkdir(parents=True, exist_ok=True)
            self.dumper = _yaml_dumper()

    def add(self, obj: dict[str, Any]) -> None:
        line = orjson.dumps(obj)
        if self.count:
            self.buffer.append(b",\n")
        self.buffer.append(line)
        self.count += 1
        self.buffered += len(line)
        if self.buffered >= self.FLUSH:
            self._flush()
        if self.yaml_dir is not None:
            ns = obj["metadata"].get("namespace") or "_cluster"
            self.pending.setdefault(ns, []).append(obj)

    def _flush(self) -> None:
        self.fh.write(b"".join(self.buffer))
        self.buffer.clear()
        self.buffered = 0

    def end_namespace(self, namespace: str) -> None:
        items = self.pending.pop(namespace, None)
        if items:
            self._write_yaml(namespace, items)

    def _write_yaml(self, namespace: str, items: list[dict[str, Any]]) -> None:
        import yaml

        assert self.yaml_dir is not None
        with (self.yaml_dir / f"{namespace}.yaml").open("w", encoding="utf-8") as fh:
            yaml.dump(
                _kubectl_list(items),
                fh,
                Dumper=self.dumper,
                default_flow_style=False,
                sort_keys=False,
                width=100,
            )
        self.yaml_files += 1

    def finish(self, mesh: Mesh, seed: int) -> None:
        from auditor.input.snapshot_file import encode_snapshot

        self.buffer.append(b"\n]}\n")
        self._flush()
        self.fh.close()
        self.raw.close()
        for namespace, items in list(self.pending.items()):
            self._write_yaml(namespace, items)
        self.pending.clear()
        # the header line exactly as `encode_snapshot` writes it, without the objects
        empty = encode_snapshot({**snapshot(mesh, seed), "objects": []})
        end = b"]}\n"
        assert empty.endswith(b'"objects":[\n' + end)
        head = empty[: -len(end)]
        if self.gzipped:
            head = gzip.compress(head, compresslevel=6, mtime=0)
        part = self.output.with_name(f".{self.output.name}.part")
        with part.open("wb") as out, self.tmp.open("rb") as objects:
            out.write(head)
            shutil.copyfileobj(objects, out, 1 << 22)
        self.tmp.unlink()
        os.replace(part, self.output)

    def abort(self) -> None:
        self.fh.close()
        self.raw.close()
        self.tmp.unlink(missing_ok=True)


def write_yaml_dir(mesh: Mesh, directory: Path) -> int:
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    dumper = _yaml_dumper()
    count = 0
    for name, doc in yaml_files(mesh):
        with (directory / name).open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh, Dumper=dumper, default_flow_style=False, sort_keys=False, width=100)
        count += 1
    return count


def digest(mesh: Mesh) -> str:
    return hashlib.sha256(orjson.dumps(mesh.objects)).hexdigest()

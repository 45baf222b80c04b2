"""The object factory's base: deterministic ids, timestamps, resourceVersions and node
placement from one RNG; emitting objects and planted problems."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from .model import BASE_TS, PROBLEMS, ZONES, Mesh, Planted, Sink, kind_key


class GenBase:
    """The factory's base: deterministic ids, timestamps and resourceVersions from one RNG;
    node placement; emitting objects and planted problems; Namespaces and Istio resources."""

    def __init__(self, seed: int, sink: Sink | None = None) -> None:
        self.rng = random.Random(seed)
        self.rv = 100_000
        self.mesh = Mesh()
        self.sink = sink
        self.nodes = 3
        self.node_pods: list[int] = []

    # ---- nodes: each has a /24 pod CIDR, so pod IPs are unique and match their node ---------

    def set_nodes(self, count: int) -> None:
        # 10.64.0.0/10 holds 16,384 node /24s; host IPs 10.0.0.0/16 as many
        self.nodes = max(3, min(count, 16_384))
        self.node_pods = [0] * self.nodes

    def place_pod(self) -> tuple[str, str, str, str]:
        """(nodeName, hostIP, podIP, zone) for a new pod on a random node with room."""
        if not self.node_pods:
            self.set_nodes(self.nodes)
        i = self.rng.randrange(self.nodes)
        while self.node_pods[i] >= 250:
            i = (i + 1) % self.nodes
        self.node_pods[i] += 1
        host = f"10.0.{i // 254}.{i % 254 + 1}"
        pod_ip = f"10.{64 + i // 256}.{i % 256}.{self.node_pods[i] + 1}"
        node = f"ip-{host.replace('.', '-')}.ec2.internal"
        return node, host, pod_ip, ZONES[i % len(ZONES)]

    # ---- metadata ------------------------------------------------------------------------

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ts(self, offset_days: float = 0.0) -> str:
        seconds = BASE_TS + int(offset_days * 86400) + self.rng.randrange(0, 86400 * 60)
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def hash(self, n: int = 10) -> str:
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def meta(
        self,
        name: str,
        namespace: str | None,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        generation: int | None = 1,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.rv += self.rng.randrange(1, 40)
        m: dict[str, Any] = {}
        if annotations:
            m["annotations"] = annotations
        m["creationTimestamp"] = self.ts()
        if extra:
            m.update(extra)
        if generation is not None:
            m["generation"] = generation
        if labels:
            m["labels"] = labels
        m["name"] = name
        if namespace is not None:
            m["namespace"] = namespace
        m["resourceVersion"] = str(self.rv)
        m["uid"] = self.uid()
        return m

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Emit a finished object (never changed after this)."""
        mesh = self.mesh
        key = kind_key(obj)
        mesh.counts[key] = mesh.counts.get(key, 0) + 1
        mesh.total += 1
        if self.sink is None:
            mesh.objects.append(obj)
        else:
            self.sink.add(obj)
        return obj

    def plant(self, problem: str, kind: str, namespace: str, name: str, detail: str = "") -> None:
        self.mesh.planted.append(Planted(problem, PROBLEMS[problem], kind, namespace, name, detail))

    # ---- kinds ---------------------------------------------------------------------------

    def namespace(self, name: str, labels: dict[str, str]) -> None:
        self.mesh.namespaces.append(name)
        self.add(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": self.meta(
                    name,
                    None,
                    labels={"kubernetes.io/metadata.name": name, **labels},
                    generation=None,
                ),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    def istio(
        self,
        kind: str,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        *,
        group: str = "networking.istio.io",
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.add(
            {
                "apiVersion": f"{group}/v1",
                "kind": kind,
                "metadata": self.meta(name, namespace, labels=labels),
                "spec": spec,
            }
        )

"""The whole mesh, generated in a fixed order from one seed."""

from __future__ import annotations

from .apps import app_namespace
from .control_plane import control_plane
from .egress import egress_gateway
from .gateways import ingress_gateways
from .gen import Gen
from .model import NAMESPACES_PER_SHARD, PODS_PER_NODE, REPLICAS, Mesh, Sink
from .plan import plan


def generate(objects: int, seed: int, problem_rate: float = 0.03) -> Mesh:
    """The whole mesh in memory (`mesh.objects`): for tests and small meshes."""
    return stream(objects, seed, problem_rate, None)


def stream(objects: int, seed: int, problem_rate: float, sink: Sink | None) -> Mesh:
    """Generate the mesh, handing each object to `sink` as it is made (kept in `mesh.objects`
    when `sink` is None). The same seed gives the same objects in the same order either way."""
    g = Gen(seed, sink)
    rng = g.rng
    plans = plan(objects, rng, problem_rate)
    shards = max(1, -(-len(plans) // NAMESPACES_PER_SHARD))
    # PODS_PER_NODE to a node
    app_pods = sum(len(ns.apps) for ns in plans) * sum(REPLICAS) / len(REPLICAS)
    g.set_nodes(int(app_pods) // PODS_PER_NODE + 1)

    control_plane(g)
    ingress_gateways(g, plans, shards)
    egress_gateway(g)

    for ns in plans:
        app_namespace(g, ns)
        if sink is not None:
            sink.end_namespace(ns.name)

    return g.mesh

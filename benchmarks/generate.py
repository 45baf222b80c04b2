"""Generate a realistic, deterministic synthetic Istio mesh for benchmarks and scale tests.

    python benchmarks/generate.py --objects 100000 --seed 1 -o large.json.gz [--yaml-dir DIR]

The mesh looks like what a cluster serves (`kubectl get -o json`): server-set metadata (uid,
resourceVersion, creationTimestamp, generation), `status` on Deployments, Services and Pods, Pods
owned by ReplicaSets with the injected istio-proxy sidecar, defaulted fields. Every Service has
the EndpointSlice the endpointslice controller keeps for it (its Running pods' IPs, nodes and
zones); pods sit on nodes with a /24 pod CIDR each, so pod IPs are unique and match the node.
istiod's install leaves its sidecar-injector MutatingWebhookConfiguration and two
ValidatingWebhookConfigurations.

Layout: `istio-system` (istiod, the mesh-config ConfigMap, mesh-wide STRICT PeerAuthentication);
`istio-ingress` with one ingress-gateway shard (Deployment, LoadBalancer Service, Pods) per 100 app
namespaces and one shared Gateway per 25 app namespaces, carrying an HTTPS server per namespace
(credentialName -> a TLS Secret) and a port-80 redirect server with every namespace's host;
`istio-egress` with an egress gateway whose Gateway lists every registered external host. Each app
namespace has 4-14 apps (Deployment, Service, Pods, DestinationRule; VirtualServices for about half,
the first app exposed on the shared ingress), a Sidecar, PeerAuthentication, AuthorizationPolicies,
NetworkPolicies, ServiceEntries for the external APIs it calls, a Secret; one namespace in ten uses
the Kubernetes Gateway API instead (Gateway, HTTPRoutes, the auto-deployed gateway Deployment and
Service). Everything is consistent (selectors match, destinations name existing Services) except
the planted problems.

Planted problems: each app namespace gets each problem type with probability `--problem-rate`
(the first namespaces get one type each, so every type appears even in a small mesh). They are
listed in a sidecar file (`<output stem>.planted.json`) with the checks that must report them
(an empty list for a problem no check reports).

Output is the mesh-audit snapshot file (auditor.input.snapshot_file), gzipped when the name ends
in `.gz`; `--yaml-dir` also writes one `kind: List` YAML file per namespace. Objects are written
as they are generated (`SnapshotWriter`), so a 1M-object mesh needs no more memory than a small
one; `generate()` keeps them in memory instead, for tests.

The generator itself is the package `benchmarks/meshgen/`, one module per part of the mesh
(control plane, gateways, egress, app namespaces, policies, output); this file is its command
line and re-exports the names tests and scripts use (`generate`, `stream`, `SnapshotWriter`...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# benchmarks/ on sys.path while the package is imported, however this file was loaded (as a
# script, `import generate`, or by path with importlib, which gives it no package)
_HERE = str(Path(__file__).resolve().parent)
_ADDED = _HERE not in sys.path
if _ADDED:
    sys.path.insert(0, _HERE)
from meshgen.apps import app_namespace  # noqa: E402
from meshgen.control_plane import istiod_webhooks  # noqa: E402
from meshgen.gateways import gateway_api  # noqa: E402
from meshgen.gen import Gen  # noqa: E402
from meshgen.mesh import generate, stream  # noqa: E402
from meshgen.model import (  # noqa: E402
    APP_WORDS,
    BASE_TS,
    DOMAIN,
    EXTERNAL_HOSTS,
    FAKE_CERT,
    FAKE_KEY,
    ISTIO_VERSION,
    NAMESPACES_PER_GATEWAY,
    NAMESPACES_PER_SHARD,
    PODS_PER_NODE,
    PROBLEMS,
    PROXY_IMAGE,
    REPLICAS,
    TEAM_WORDS,
    ZONES,
    Endpoint,
    Mesh,
    Planted,
    Sink,
    kind_key,
)
from meshgen.output import (  # noqa: E402
    SnapshotWriter,
    digest,
    planted_document,
    planted_path,
    snapshot,
    write_yaml_dir,
    yaml_files,
)
from meshgen.plan import AppNamespace, plan  # noqa: E402

if _ADDED:
    sys.path.remove(_HERE)

__all__ = [
    "APP_WORDS",
    "BASE_TS",
    "DOMAIN",
    "EXTERNAL_HOSTS",
    "FAKE_CERT",
    "FAKE_KEY",
    "ISTIO_VERSION",
    "NAMESPACES_PER_GATEWAY",
    "NAMESPACES_PER_SHARD",
    "PODS_PER_NODE",
    "PROBLEMS",
    "PROXY_IMAGE",
    "REPLICAS",
    "TEAM_WORDS",
    "ZONES",
    "AppNamespace",
    "Endpoint",
    "Gen",
    "Mesh",
    "Planted",
    "Sink",
    "SnapshotWriter",
    "app_namespace",
    "digest",
    "gateway_api",
    "generate",
    "istiod_webhooks",
    "kind_key",
    "main",
    "plan",
    "planted_document",
    "planted_path",
    "snapshot",
    "stream",
    "write_yaml_dir",
    "yaml_files",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, required=True, help="approximate object count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="snapshot file (.json[.gz])"
    )
    parser.add_argument("--yaml-dir", type=Path, default=None, help="also write YAML here")
    parser.add_argument("--problem-rate", type=float, default=0.03)
    parser.add_argument("--planted", type=Path, default=None, help="planted-problems JSON path")
    args = parser.parse_args(argv)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    writer = SnapshotWriter(args.output, args.yaml_dir)
    try:
        mesh = stream(args.objects, args.seed, args.problem_rate, writer)
        writer.finish(mesh, args.seed)
    except BaseException:
        writer.abort()
        raise
    planted = args.planted or planted_path(args.output)
    planted.write_text(
        json.dumps(planted_document(mesh, args.seed, args.objects, args.problem_rate), indent=2)
        + "\n",
        encoding="utf-8",
    )
    files = writer.yaml_files
    print(
        f"{args.output}: {mesh.total} objects in {len(mesh.namespaces)} namespaces, "
        f"{len(mesh.planted)} planted problems ({planted})"
        + (f"; {files} YAML files in {args.yaml_dir}" if files else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

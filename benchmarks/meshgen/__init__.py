"""The synthetic Istio mesh of benchmarks/generate.py, split by what it generates.

- `model`: constants, the planted-problem catalogue, what a run yields (`Mesh`, `Planted`, `Sink`)
- `factory`, `workloads`, `services`, `gen`: the object factory `Gen` (metadata and ids;
  Deployments, Pods and containers; Services and their EndpointSlices)
- `plan`: which app namespaces a mesh of a given size holds
- `control_plane`: istio-system (istiod, mesh config, admission webhooks)
- `gateways`: ingress shards, shared Gateways, Gateway API, planted Gateway problems
- `egress`: the egress gateway and the ServiceEntries for external hosts
- `apps`: an app namespace's workloads and routes; `policies`: its security policies
- `mesh`: `stream` and `generate`, which put the pieces together in a fixed order
- `output`: the snapshot file (streamed), the planted-problems document, the YAML directory

`benchmarks/generate.py` is the command line and re-exports these names.
"""

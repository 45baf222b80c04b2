"""What mesh-audit reads: manifests from files (YAML loaders, snapshot files), a live cluster
(auditor/input/cluster), Prometheus (auditor/input/prometheus); the Snapshot they produce, the
kinds registry and the shapes objects are checked against."""

"""The mesh as the checks and reports see it: MeshIndex (lookups built once over a Snapshot) and
the models built on it (membership, exposure and entry points, egress, authorization, mTLS,
waypoints, observed egress). Models are cached on the index with `MeshIndex.cached`."""

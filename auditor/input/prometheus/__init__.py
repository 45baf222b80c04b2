"""Telemetry mesh-audit can ask about what the mesh did: a Prometheus client and its queries."""

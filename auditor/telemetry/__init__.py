"""Telemetry sources mesh-audit can ask about what the mesh did (Prometheus)."""

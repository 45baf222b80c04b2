"""mesh-audit: audit an Istio service mesh for exposure, TLS and egress posture."""

__version__ = "0.1.0"

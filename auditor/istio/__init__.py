"""Istio semantics shared by every check: written once, table-tested against Istio's behaviour."""

"""Control frameworks as data (see auditor/run/compliance.py)."""

"""Control frameworks as data (see auditor/compliance.py)."""

"""Data types and utilities every layer uses: findings and severities, errors, limits, inert text,
atomic writes, redaction, durations, the progress line. Imports nothing else from mesh-audit."""

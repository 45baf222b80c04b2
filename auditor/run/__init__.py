"""One audit run and what surrounds it: scan, fleet, baselines, waivers, suppressions, scope,
overlay, compliance, partial-audit policy, config files, telemetry, delivery (S3, webhook)."""

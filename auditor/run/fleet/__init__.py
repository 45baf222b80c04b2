"""Fleet reports: many clusters' report.json read from folders or S3, and multi-context scans."""

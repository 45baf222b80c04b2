"""A real S3-compatible server (moto's) in its own process on 127.0.0.1, for upload tests."""

"""Versions of the generator with their config, metrics, sha256 and lineage, and a `production`
pointer, on a local folder or S3."""

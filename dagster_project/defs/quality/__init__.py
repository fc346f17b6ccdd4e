"""Data-quality checks (GX suites, freshness, volume, reconciliation) on the ingest, staging and snapshot assets."""

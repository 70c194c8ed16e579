"""Batch analytics over a snapshot of the store: SQL on DuckDB embedded (Spark at scale)."""

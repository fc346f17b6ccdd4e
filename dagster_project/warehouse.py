"""The one DuckDB connection helper."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb

from dagster_project.settings import Settings, get_settings


@contextmanager
def connect(settings: Settings | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse with the configured memory limit and threads; always closes."""
    s = settings or get_settings()
    s.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.duckdb_path), read_only=read_only)
    try:
        con.execute(f"SET memory_limit = '{s.duckdb_memory_limit}'")
        con.execute(f"SET threads = {int(s.duckdb_threads)}")
        yield con
    finally:
        con.close()

"""Comparing the same table in two DuckDB warehouses, for the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import duckdb


def table_differences(a: Path, b: Path, table: str) -> int:
    """Rows in one warehouse's table and not in the other's (both ways; duplicates count)."""
    with duckdb.connect(str(a), read_only=True) as con:
        con.execute(f"ATTACH '{b}' AS other (READ_ONLY)")
        return con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM other.{table})) "
            f"+ (SELECT count(*) FROM (SELECT * FROM other.{table} EXCEPT ALL SELECT * FROM {table}))"
        ).fetchall()[0][0]

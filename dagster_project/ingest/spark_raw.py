"""The raw layer for Spark (AHW_ENGINE=spark): the validated raw tables as Parquet folders.

Landing files are loaded, checked against the contract and quarantined exactly as for DuckDB
(`load_table`, `quarantine_table`), in the ingestion database; the rows that pass are then written
here, one folder of Parquet per table, `<spark_raw_dir>/<table>/`. dbt registers each folder as
the Spark table `raw.<table>` when a run starts (macro `register_raw_tables`), so the quarantine
reasons, the SLA checks and what blocks are the same on both engines, and Spark reads the very rows
DuckDB would have read.

Timestamps are written as instants (UTC): Spark reads them as its TIMESTAMP type.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from dagster_project.core.contract import RAW_SCHEMA, TABLES

PARQUET_FILE = "part-00000.parquet"


def _select_sql(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Every column of `<schema>.<table>`, timestamps as instants in UTC."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    if not rows:
        if schema == RAW_SCHEMA:
            raise ValueError(
                f"raw table '{RAW_SCHEMA}.{table}' does not exist in the ingestion database: load the landing "
                "files first (the raw assets, or `ahw load`)."
            )
        raise ValueError(f"table '{schema}.{table}' does not exist in the ingestion database.")
    parts = [
        f'CAST("{name}" AS TIMESTAMPTZ) AS "{name}"' if data_type == "TIMESTAMP" else f'"{name}"'
        for name, data_type in rows
    ]
    return f'SELECT {", ".join(parts)} FROM {schema}."{table}"'


def export_raw_table(con: duckdb.DuckDBPyConnection, table: str, raw_dir: Path) -> Path:
    """Replace `<raw_dir>/<table>/` with one Parquet file of `raw.<table>`; return the folder."""
    return export_table(con, RAW_SCHEMA, table, raw_dir)


def export_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, root: Path) -> Path:
    """Replace `<root>/<table>/` with one Parquet file of `<schema>.<table>`; return the folder.

    The new folder is written beside the old one and swapped in, so a reader never sees half a table.
    """
    root.mkdir(parents=True, exist_ok=True)
    folder = root / table
    staging = root / f".{table}.{uuid.uuid4().hex}"
    staging.mkdir()
    target = str(staging / PARQUET_FILE).replace("'", "''")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"COPY ({_select_sql(con, schema, table)}) TO '{target}' (FORMAT parquet)")
    retired = root / f".{table}.retired.{uuid.uuid4().hex}"
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
    return folder


def export_raw_tables(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> dict[str, Path]:
    """Export every raw table of the contract (`export_raw_table`); {table: folder}."""
    return {name: export_raw_table(con, name, raw_dir) for name in TABLES}

"""Load landing files (Parquet or CSV, one folder per table) into the warehouse's `raw` schema.

Pure logic, no Dagster: the ingestion assets are thin wrappers around `load_table`.
Every file is checked against the contract before anything is written, so a bad file
fails the load with an error that names the table, the file and the column.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.core.contract import (
    GROUND_TRUTH_COLUMNS,
    GROUND_TRUTH_DIR,
    GROUND_TRUTH_TABLE,
    RAW_SCHEMA,
    TABLES,
    RawTable,
)
from dagster_project.core.warehouse import transaction

SIM_SCHEMA = "sim"
FILE_PATTERNS = ("*.parquet", "*.csv")
# Append-only tables that can be reloaded from a day on (daily partitions), by this timestamp.
INCREMENTAL_COLUMNS = {"events": "occurred_at"}


class ContractError(ValueError):
    """Landing data that breaks the raw data contract."""


@dataclass
class LoadResult:
    """What one table load did, reported as asset metadata."""

    table: str
    rows: int
    files: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    provided: bool = True
    since: dt.date | None = None  # only rows from this day on were reloaded


def table_files(landing_dir: Path, table: str) -> list[Path]:
    """The landing files of one table, sorted so loads are deterministic."""
    folder = landing_dir / table
    if not folder.is_dir():
        return []
    return sorted(p for pattern in FILE_PATTERNS for p in folder.glob(pattern))


def file_reader(path: Path) -> str:
    """The DuckDB table function that reads one landing file (Parquet, or CSV as text)."""
    quoted = str(path).replace("'", "''")
    if path.suffix == ".csv":
        # all_varchar: casts happen once, below, with the contract's types and a clear error
        return f"read_csv('{quoted}', header = true, all_varchar = true)"
    return f"read_parquet('{quoted}')"


def file_columns(con: duckdb.DuckDBPyConnection, table_name: str, path: Path) -> list[str]:
    """The column names of one landing file of `table_name`; a file DuckDB cannot read is an error
    that names the table, the file and the fix."""
    try:
        return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {file_reader(path)}").fetchall()]
    except duckdb.Error as exc:
        raise ContractError(
            f"raw table '{table_name}': cannot read landing file {path}: {exc}. "
            "Replace the file with valid Parquet or CSV (with a header row)."
        ) from exc


def _empty_table_sql(table: RawTable) -> str:
    cols = ", ".join(f"{name} {dtype}" for name, dtype in table.columns.items())
    return f"CREATE OR REPLACE TABLE {table.qualified_name} ({cols})"


def _table_columns(con: duckdb.DuckDBPyConnection, qualified_name: str) -> list[str] | None:
    schema, name = qualified_name.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows] or None


def load_table(
    con: duckdb.DuckDBPyConnection, table: RawTable, landing_dir: Path, since: dt.date | None = None
) -> LoadResult:
    """Replace `raw.<table>` with the contents of the table's landing files.

    Contract columns are cast to their declared types; missing optional columns become
    typed NULLs; extra columns are kept as they are. Optional tables with no files become
    empty tables, so downstream models still build.

    With `since` (append-only tables, see INCREMENTAL_COLUMNS), only the rows from that day on are
    replaced, with the landing rows from that day on; older rows stay as they are. Rows without a
    timestamp, and extra columns new since the last full load, wait for a full load.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    files = table_files(landing_dir, table.name)
    if not files:
        if table.mandatory:
            raise ContractError(
                f"raw table '{table.name}' is mandatory but {landing_dir / table.name} has no "
                "Parquet or CSV files. Put the table's files in that folder (or generate a "
                "simulated company with `ahw simulate`)."
            )
        con.execute(_empty_table_sql(table))
        return LoadResult(table=table.name, rows=0, provided=False)

    per_file_columns = {}
    for path in files:
        columns = file_columns(con, table.name, path)
        missing = [c for c in table.required if c not in columns]
        if missing:
            raise ContractError(
                f"raw table '{table.name}': landing file {path} has no required column "
                f"'{missing[0]}'"
                + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else "")
                + f". Required columns are: {', '.join(table.required)}. "
                "Rename the column in the export or add it."
            )
        per_file_columns[path] = columns

    present = set().union(*per_file_columns.values())
    extras = sorted(present - set(table.columns))
    missing_optional = [c for c in table.optional if c not in present]

    existing = _table_columns(con, table.qualified_name) if since is not None else None
    if since is not None and table.name not in INCREMENTAL_COLUMNS:
        raise ValueError(f"raw table '{table.name}' is not append-only: it can only be reloaded in full")
    if existing is not None:
        extras = [c for c in existing if c not in table.columns]
    else:
        since = None  # nothing loaded yet: a full load
    time_filter = f" WHERE {INCREMENTAL_COLUMNS[table.name]} >= DATE '{since.isoformat()}'" if since else ""

    selects = []
    for path, columns in per_file_columns.items():
        parts = []
        for name, dtype in table.columns.items():
            parts.append(
                f"CAST({name} AS {dtype}) AS {name}" if name in columns else f"CAST(NULL AS {dtype}) AS {name}"
            )
        for name in extras:
            parts.append(
                f'CAST("{name}" AS VARCHAR) AS "{name}"' if name in columns else f'CAST(NULL AS VARCHAR) AS "{name}"'
            )
        selects.append(f"SELECT * FROM (SELECT {', '.join(parts)} FROM {file_reader(path)}){time_filter}")
    rows_sql = " UNION ALL ".join(selects)

    try:
        if since is None:
            con.execute(f"CREATE OR REPLACE TABLE {table.qualified_name} AS {rows_sql}")
        else:
            with transaction(con):
                con.execute(f"DELETE FROM {table.qualified_name}{time_filter}")
                con.execute(f"INSERT INTO {table.qualified_name} BY NAME {rows_sql}")
    except duckdb.ConversionException as exc:
        raise ContractError(
            f"raw table '{table.name}': a value in {', '.join(str(f) for f in files)} does not "
            f"convert to the contract type: {exc}. Contract types: "
            + ", ".join(f"{c} {t}" for c, t in table.columns.items())
            + ". Fix the values or the export format."
        ) from exc
    rows = con.execute(f"SELECT count(*) FROM {table.qualified_name}{time_filter}").fetchall()[0][0]
    return LoadResult(
        table=table.name,
        rows=rows,
        files=[str(f) for f in files],
        missing_optional_columns=missing_optional,
        extra_columns=extras,
        since=since,
    )


def load_ground_truth(con: duckdb.DuckDBPyConnection, landing_dir: Path) -> int | None:
    """Load the simulator's ground truth into `sim.ground_truth_account_weeks`, if present."""
    path = landing_dir / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_TABLE}.parquet"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SIM_SCHEMA}")
    if not path.exists():
        con.execute(f"DROP TABLE IF EXISTS {SIM_SCHEMA}.ground_truth_{GROUND_TRUTH_TABLE}")
        return None
    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in GROUND_TRUTH_COLUMNS.items())
    con.execute(
        f"CREATE OR REPLACE TABLE {SIM_SCHEMA}.ground_truth_{GROUND_TRUTH_TABLE} AS "
        f"SELECT {cols} FROM {file_reader(path)}"
    )
    return con.execute(f"SELECT count(*) FROM {SIM_SCHEMA}.ground_truth_{GROUND_TRUTH_TABLE}").fetchall()[0][0]


def main(argv: list[str] | None = None) -> None:
    """CLI: load every landing table into the configured warehouse."""
    from dagster_project.core.settings import get_settings
    from dagster_project.core.warehouse import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    settings = get_settings()
    with connect(settings) as con:
        for table in TABLES.values():
            result = load_table(con, table, settings.landing_dir)
            print(f"raw.{result.table}: {result.rows} rows from {len(result.files)} file(s)")
        gt = load_ground_truth(con, settings.landing_dir)
        if gt is not None:
            print(f"{SIM_SCHEMA}.ground_truth_{GROUND_TRUTH_TABLE}: {gt} rows")

"""Privacy operations (SPEC section 7): retention of raw events and erasure of one account.

Pure logic, no Dagster: the `retention` and `erase_account` jobs are thin wrappers.

Raw tables are rebuilt from the landing files on every ingest, so both operations change the landing
files too (each file is rewritten beside itself and swapped in with an atomic rename); otherwise the
next refresh would bring the rows back. Derived tables (staging, intermediate, marts) are rebuilt by
the next refresh; erasure also deletes from them now, and from the published files.

On Spark (AHW_ENGINE=spark) the same happens to the Spark tables' Parquet files: the raw folders,
every table dbt built and the marts written back from Python (`parquet_dirs`). Each file that holds
affected rows is rewritten without them, beside itself, and swapped in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.core.contract import RAW_SCHEMA
from dagster_project.core.warehouse import sql_literal

# CSV is read as text, as ingestion reads it, so a rewritten file keeps every value exactly.
from dagster_project.ingest.landing import FILE_PATTERNS, file_columns, file_reader
from dagster_project.quality.quarantine import QUARANTINE_SCHEMA
from dagster_project.serve import publish

ACCOUNT_COLUMN = "account_id"
EVENTS_TABLE = "events"
EVENT_TIME_COLUMN = "occurred_at"
AUDIT_SCHEMA = "audit"
ERASURE_LOG = f"{AUDIT_SCHEMA}.erasure_log"


class ErasureError(ValueError):
    """An erasure request that cannot be carried out."""


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` minus whole calendar months (the day is clamped to the target month's length)."""
    if months < 1:
        raise ValueError(f"AHW_RETENTION_MONTHS must be at least 1, got {months}.")
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def account_hash(account_id: str, salt: str) -> str:
    """Salted SHA-256 of an account id, as the audit log records it."""
    return hashlib.sha256((salt + account_id).encode()).hexdigest()


def landing_files(landing_dir: Path, table: str | None = None) -> list[Path]:
    """Landing files of one table folder, or of every folder (the simulator's ground truth included)."""
    folders = [landing_dir / table] if table else sorted(p for p in landing_dir.iterdir() if p.is_dir())
    return sorted(f for folder in folders if folder.is_dir() for pattern in FILE_PATTERNS for f in folder.glob(pattern))


def rewrite_without(con: duckdb.DuckDBPyConnection, path: Path, drop_sql: str) -> int:
    """Rewrite one landing file without the rows where `drop_sql` is true; returns the rows removed.

    The new file is written beside the old one and renamed over it, so a crash leaves one or the other.
    """
    source = file_reader(path)
    removed = con.execute(f"SELECT count(*) FROM {source} WHERE {drop_sql}").fetchall()[0][0]
    if removed == 0:
        return 0
    tmp = path.with_name(f".{path.name}.tmp")
    fmt = "(FORMAT csv, HEADER true)" if path.suffix == ".csv" else "(FORMAT parquet, COMPRESSION zstd)"
    con.execute(f"COPY (SELECT * FROM {source} WHERE NOT coalesce({drop_sql}, false)) TO {sql_literal(tmp)} {fmt}")
    os.replace(tmp, path)
    return int(removed)


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return table in publish.schema_tables(con, schema)


@dataclass
class RetentionResult:
    """What one retention pass removed."""

    cutoff: dt.datetime
    rows_removed: dict[str, int] = field(default_factory=dict)  # location -> rows
    rows_kept: int = 0  # raw.events rows left


def prune_events(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, cutoff: dt.datetime, spark_raw_dir: Path | None = None
) -> RetentionResult:
    """Delete events that occurred before `cutoff` from raw, quarantine and the landing files (and, on
    Spark, from the raw events' Parquet folder)."""
    result = RetentionResult(cutoff=cutoff)
    literal = f"TIMESTAMP '{cutoff.isoformat(sep=' ')}'"
    older = f"TRY_CAST({EVENT_TIME_COLUMN} AS TIMESTAMP) < {literal}"
    for path in landing_files(landing_dir, EVENTS_TABLE):
        if EVENT_TIME_COLUMN not in file_columns(con, path.parent.name, path):
            raise ValueError(
                f"landing file {path} has no column '{EVENT_TIME_COLUMN}', which the events "
                "contract requires: fix the file before pruning."
            )
        result.rows_removed[f"landing/{EVENTS_TABLE}/{path.name}"] = rewrite_without(con, path, older)
    for schema in (RAW_SCHEMA, QUARANTINE_SCHEMA):
        if _table_exists(con, schema, EVENTS_TABLE):
            removed = con.execute(f"DELETE FROM {schema}.{EVENTS_TABLE} WHERE {older}").fetchall()[0][0]
            result.rows_removed[f"{schema}.{EVENTS_TABLE}"] = int(removed)
    if spark_raw_dir is not None:
        result.rows_removed.update(rewrite_parquet_without(con, [spark_raw_dir / EVENTS_TABLE], older))
    if _table_exists(con, RAW_SCHEMA, EVENTS_TABLE):
        result.rows_kept = con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{EVENTS_TABLE}").fetchall()[0][0]
    return result


def account_tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> list[tuple[str, str]]:
    """(schema, table) of every base table with an `account_id` column, outside the audit schema."""
    catalog_filter = "t.table_catalog = ?" if catalog else "t.table_catalog = current_database()"
    rows = con.execute(
        f"""
        SELECT t.table_schema, t.table_name
        FROM information_schema.tables t
        JOIN information_schema.columns c
          ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema AND c.table_name = t.table_name
        WHERE t.table_type = 'BASE TABLE' AND c.column_name = ? AND t.table_schema <> ? AND {catalog_filter}
        ORDER BY 1, 2
        """,
        [ACCOUNT_COLUMN, AUDIT_SCHEMA, *([catalog] if catalog else [])],
    ).fetchall()
    return [(s, t) for s, t in rows]


def _is_account(account_id: str) -> str:
    return f"CAST({ACCOUNT_COLUMN} AS VARCHAR) = {sql_literal(account_id)}"


def delete_account_rows(con: duckdb.DuckDBPyConnection, account_id: str) -> dict[str, int]:
    """Delete the account's rows from every table with an `account_id` column; rows per schema.table."""
    counts = {}
    for schema, table in account_tables(con):
        qualified = f"{publish.quote_ident(schema)}.{publish.quote_ident(table)}"
        counts[f"{schema}.{table}"] = int(
            con.execute(f"DELETE FROM {qualified} WHERE {_is_account(account_id)}").fetchall()[0][0]
        )
    return counts


def erase_from_landing(con: duckdb.DuckDBPyConnection, landing_dir: Path, account_id: str) -> dict[str, int]:
    """Rewrite every landing file that has an `account_id` column without the account's rows."""
    counts = {}
    for path in landing_files(landing_dir):
        if ACCOUNT_COLUMN in file_columns(con, path.parent.name, path):
            counts[f"landing/{path.parent.name}/{path.name}"] = rewrite_without(con, path, _is_account(account_id))
    return counts


def rewrite_parquet_without(con: duckdb.DuckDBPyConnection, folders: list[Path], drop_sql: str) -> dict[str, int]:
    """Rewrite every Parquet file under `folders` whose columns `drop_sql` can use, without the rows
    where it is true; rows removed per file (keyed `spark/<path below the folder's parent>`)."""
    counts: dict[str, int] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.parquet")):
            if path.name.startswith(".") or "metastore_db" in path.parts:
                continue
            try:
                rows_removed = rewrite_without(con, path, drop_sql)
            except duckdb.BinderException:
                continue  # the file has no such column (a table without accounts or events)
            counts[f"spark/{path.relative_to(folder.parent)}"] = rows_removed
    return counts


def erase_from_published(publish_dir: Path, account_id: str, run_id: str) -> dict[str, int]:
    """Republish the current published set without the account; rows removed per published table.

    The new set is built from the current published file (not the warehouse), so what BI reads stays
    the last complete refresh, minus the account. Nothing happens before the first publish.
    """
    folder = publish.current_dir(publish_dir)
    if folder is None:
        return {}
    counts: dict[str, int] = {}
    copy = publish.copy_schema_from(folder / publish.DUCKDB_FILE)

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        copy(con)
        for schema, table in account_tables(con):
            qualified = f"{publish.quote_ident(schema)}.{publish.quote_ident(table)}"
            removed = con.execute(f"DELETE FROM {qualified} WHERE {_is_account(account_id)}").fetchall()[0][0]
            counts[f"published/{table}"] = int(removed)

    publish.publish_with(publish_dir, fill, run_id, source=f"{folder / publish.DUCKDB_FILE} (erasure)")
    return counts


def count_published_rows(publish_dir: Path, account_id: str) -> int:
    """Rows of the account in the current published DuckDB file."""
    folder = publish.current_dir(publish_dir)
    if folder is None:
        return 0
    con = duckdb.connect(str(folder / publish.DUCKDB_FILE), read_only=True)
    try:
        return sum(
            con.execute(
                f"SELECT count(*) FROM {publish.quote_ident(s)}.{publish.quote_ident(t)} "
                f"WHERE {_is_account(account_id)}"
            ).fetchall()[0][0]
            for s, t in account_tables(con)
        )
    finally:
        con.close()


def record_erasure(
    con: duckdb.DuckDBPyConnection, hashed_account: str, counts: dict[str, int], erased_at: dt.datetime, run_id: str
) -> None:
    """Append the audit record: hashed account id, when, which run, rows removed per location."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {ERASURE_LOG} (account_hash VARCHAR, erased_at TIMESTAMP, "
        "run_id VARCHAR, rows_removed BIGINT, rows_by_location JSON)"
    )
    con.execute(
        f"INSERT INTO {ERASURE_LOG} VALUES (?, ?, ?, ?, ?)",
        [hashed_account, erased_at, run_id, sum(counts.values()), json.dumps(counts, sort_keys=True)],
    )


def erase_account(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    publish_dir: Path,
    account_id: str,
    run_id: str,
    salt: str,
    erased_at: dt.datetime,
    parquet_dirs: list[Path] | None = None,
) -> dict[str, int]:
    """Remove one account from the landing files, every warehouse table and the published files
    (and, on Spark, from the Parquet files under `parquet_dirs`).

    Landing files go first (they are what the next refresh reads), then the warehouse, then the
    published set; a rerun after a crash finishes the job. Fails when the account is found nowhere
    (a typo, or already erased: see audit.erasure_log). Returns rows removed per location.
    """
    account_id = account_id.strip()
    if not account_id:
        raise ErasureError("erase_account needs an account_id: set ops.erase_account_data.config.account_id.")
    counts = erase_from_landing(con, landing_dir, account_id)
    counts.update(delete_account_rows(con, account_id))
    if parquet_dirs:
        counts.update(rewrite_parquet_without(con, parquet_dirs, _is_account(account_id)))
    if count_published_rows(publish_dir, account_id):
        counts.update(erase_from_published(publish_dir, account_id, run_id))
    if sum(counts.values()) == 0:
        raise ErasureError(
            f"account_id {account_id!r} was found in no landing file under {landing_dir}, no warehouse table "
            f"and no published table: nothing was erased. Check the id (ids are case-sensitive); an account "
            f"erased before is listed, hashed, in {ERASURE_LOG}."
        )
    record_erasure(con, account_hash(account_id, salt), counts, erased_at, run_id)
    return counts

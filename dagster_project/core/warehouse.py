"""The one DuckDB connection helper, and the few SQL helpers every layer needs: whether a table
exists, an all-or-nothing transaction, a quoted string literal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from dagster_project.core.settings import Settings, get_settings


@contextmanager
def connect(settings: Settings | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse with the configured memory limit, threads and spill directory; always closes."""
    s = settings or get_settings()
    s.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.duckdb_path), read_only=read_only)
    try:
        con.execute(f"SET memory_limit = '{s.duckdb_memory_limit}'")
        con.execute(f"SET threads = {int(s.duckdb_threads)}")
        if not read_only:
            s.duckdb_temp_directory.mkdir(parents=True, exist_ok=True)
        temp_directory = str(s.duckdb_temp_directory).replace("'", "''")
        con.execute(f"SET temp_directory = '{temp_directory}'")
        # Big loads and rebuilds need not keep row order; it lets DuckDB stream them in less memory.
        con.execute("SET preserve_insertion_order = false")
        yield con
    finally:
        con.close()


@contextmanager
def read_warehouse(settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to what dbt built, on either engine (AHW_ENGINE).

    DuckDB: the warehouse file. Spark: an in-memory DuckDB whose staging, intermediate and marts
    views read the Spark tables' Parquet files (core/spark_tables.py), with the ingestion database
    (raw, quarantine, sim) attached read-only; no Spark session is needed.
    """
    s = settings or get_settings()
    if s.engine != "spark":
        with connect(s, read_only=True) as con:
            yield con
        return
    from dagster_project.core.spark_tables import DBT_SCHEMAS, attach_spark_schemas

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET threads = {int(s.duckdb_threads)}")
        if s.duckdb_path.exists():
            con.execute(f"ATTACH {sql_literal(s.duckdb_path)} AS ingestion (READ_ONLY)")
            for schema in ("raw", "quarantine", "sim"):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                for (table,) in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'ingestion' "
                    "AND table_schema = ?",
                    [schema],
                ).fetchall():
                    con.execute(f"CREATE VIEW {schema}.{table} AS SELECT * FROM ingestion.{schema}.{table}")
        attach_spark_schemas(con, s, list(DBT_SCHEMAS))
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (a table or a view)."""
    # fetchall, not fetchone: DuckDB refuses new work on a connection with an unfinished result.
    return (
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchall()[0][0]
        > 0
    )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Everything inside commits together, or (on any error, interrupts included) not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def sql_literal(value: object) -> str:
    """`value` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"

"""The marts written by Python steps, written back to Spark (AHW_ENGINE=spark, docs/engines.md).

On Spark, dbt's tables live in the Spark warehouse and the Python steps read them as Parquet
(`core/spark_tables.py`); what those steps write (health scores, alerts, segments, model
performance, ...) lands in the ingestion database's schema `marts`, beside the views of dbt's marts.
After every refresh each of those tables is written to `<AHW_SPARK_MARTS_DIR>/<table>/` as Parquet
and registered as the Spark table `marts.<table>` (dbt's `register_parquet_tables` macro, through
`dbt run-operation`, so it uses the same Spark session settings as the models). Spark then holds
every mart, and a Spark job reads the health scores where it reads the features.
"""

from __future__ import annotations

import json

import duckdb

from dagster_project.core.dbt_runner import run_dbt
from dagster_project.core.settings import Settings
from dagster_project.ingest.spark_raw import export_table
from dagster_project.serve.publish import MARTS_SCHEMA


class SparkWriteBackError(RuntimeError):
    """The marts could not be registered in Spark."""


def python_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables of schema `marts` in the ingestion database that Python steps wrote.

    On Spark every dbt mart is a view there (over its Spark Parquet files), so the base tables are
    exactly the Python-written ones."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1",
        [MARTS_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def export_python_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Write every Python-written mart to `<spark_marts_dir>/<table>/`; returns the tables."""
    tables = python_marts(con)
    for table in tables:
        export_table(con, MARTS_SCHEMA, table, settings.spark_marts_dir)
    return tables


def register_in_spark(settings: Settings, tables: list[str]) -> None:
    """Make each exported folder the Spark table `marts.<table>` (one `dbt run-operation`)."""
    arguments = {"schema": MARTS_SCHEMA, "root": str(settings.spark_marts_dir), "tables": tables}
    result = run_dbt(settings, ["run-operation", "register_parquet_tables", "--args", json.dumps(arguments)])
    if result.returncode != 0:
        raise SparkWriteBackError(
            f"registering {len(tables)} marts in Spark failed (dbt run-operation register_parquet_tables, "
            f"exit {result.returncode}); the Parquet folders are in {settings.spark_marts_dir}. dbt said:\n"
            + (result.stdout[-3000:] + result.stderr[-2000:])
        )


def write_back_python_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Export and register every Python-written mart in Spark; returns the tables."""
    tables = export_python_marts(con, settings)
    if tables:
        register_in_spark(settings, tables)
    return tables

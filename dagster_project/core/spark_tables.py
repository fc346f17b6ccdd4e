"""Reading the Spark warehouse's tables without Spark (AHW_ENGINE=spark).

Every table dbt builds on Spark is a folder of Parquet files under the warehouse directory,
`<spark_warehouse_dir>/<schema>.db/<table>/`, day-partitioned tables in `<column>=<day>/`
sub-folders. Python steps (training, scoring, marts, publishing) read those files directly, through
DuckDB, so they need neither a Spark session nor the metastore (which a local session holds while
dbt runs). pyspark is not imported here.

Two ways in: `attach_spark_schemas` on any DuckDB connection (an in-memory one for a read-only
look), and `mirror_spark_tables`, which makes the dbt tables views in the ingestion database after
each Spark build, so every Python step reads `marts.<table>` as it does on DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.core.settings import Settings


def table_location(settings: Settings, schema: str, table: str) -> Path:
    """The folder of a Spark table (Hive's layout: one `<schema>.db` folder per schema)."""
    return settings.spark_warehouse_dir / f"{schema}.db" / table


def parquet_reader(settings: Settings, schema: str, table: str) -> str:
    """A DuckDB table function over a Spark table's Parquet files; day partitions become columns."""
    folder = table_location(settings, schema, table)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Spark table {schema}.{table} has no folder {folder}: build it first (AHW_ENGINE=spark, "
            "the dbt models or the step that writes it), or check AHW_SPARK_WAREHOUSE_DIR."
        )
    pattern = str(folder / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"


def spark_tables(settings: Settings, schema: str) -> list[str]:
    """The tables of one schema that have Parquet files (views have none: they live in the metastore)."""
    folder = settings.spark_warehouse_dir / f"{schema}.db"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.rglob("*.parquet")))


DBT_SCHEMAS = ("staging", "intermediate", "marts")


def _as_duckdb_types(con: duckdb.DuckDBPyConnection, settings: Settings, schema: str, table: str) -> str:
    """SELECT over a Spark table's files with the types the DuckDB engine's table has.

    Spark writes its timestamps as instants, which DuckDB reads as TIMESTAMP WITH TIME ZONE; the
    warehouse's timestamps are UTC without a zone (the contract), so they become that again. Without
    it, pandas would get zone-aware columns on Spark and naive ones on DuckDB."""
    reader = parquet_reader(settings, schema, table)
    columns = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    parts = [
        f'timezone(\'UTC\', "{name}") AS "{name}"' if data_type == "TIMESTAMP WITH TIME ZONE" else f'"{name}"'
        for name, data_type, *_ in columns
    ]
    return f"SELECT {', '.join(parts)} FROM {reader}"


def attach_spark_schemas(con: duckdb.DuckDBPyConnection, settings: Settings, schemas: list[str]) -> list[str]:
    """Make every Spark table of `schemas` a view of the same name in `con`; returns their names.

    A table of that name already in `con` (built there by the DuckDB engine before a switch to
    Spark) is dropped: it is out of date, and the view takes its place."""
    mirrored = []
    for schema in schemas:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for table in spark_tables(settings, schema):
            kind = con.execute(
                "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
                "AND table_schema = ? AND table_name = ?",
                [schema, table],
            ).fetchall()
            if kind and kind[0][0] != "VIEW":
                con.execute(f"DROP TABLE {schema}.{table}")
            con.execute(f"CREATE OR REPLACE VIEW {schema}.{table} AS {_as_duckdb_types(con, settings, schema, table)}")
            mirrored.append(f"{schema}.{table}")
    return mirrored


def mirror_spark_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """After a Spark build: every dbt table a view in the ingestion database `con` (see the module)."""
    return attach_spark_schemas(con, settings, list(DBT_SCHEMAS))

"""Reading Spark's tables as Parquet through DuckDB: plain and day-partitioned folders."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.core.settings import get_settings
from dagster_project.core.spark_tables import attach_spark_schemas, mirror_spark_tables, spark_tables


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AHW_SPARK_WAREHOUSE_DIR", raising=False)
    s = get_settings()
    marts = s.spark_warehouse_dir / "marts.db"
    (marts / "dim_accounts").mkdir(parents=True)
    (marts / "empty_view").mkdir()  # a folder without Parquet files is not a table
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'a1' AS account_id, 3 AS seats) TO '{marts / 'dim_accounts' / 'part-0.parquet'}'")
    con.execute(
        "COPY (SELECT * FROM (VALUES ('a1', DATE '2026-01-01', 2), ('a1', DATE '2026-01-02', 5)) "
        "AS t(account_id, activity_date, logins)) "
        f"TO '{s.spark_warehouse_dir / 'marts.db' / 'daily'}' (FORMAT parquet, PARTITION_BY (activity_date))"
    )
    return s


def test_tables_are_the_folders_with_parquet_files(settings) -> None:
    assert spark_tables(settings, "marts") == ["daily", "dim_accounts"]
    assert spark_tables(settings, "staging") == []


def test_day_partitions_come_back_as_date_columns(settings) -> None:
    con = duckdb.connect()
    assert attach_spark_schemas(con, settings, ["marts"]) == ["marts.daily", "marts.dim_accounts"]
    rows = con.execute("SELECT activity_date, logins FROM marts.daily ORDER BY activity_date").fetchall()
    assert [(str(d), n) for d, n in rows] == [("2026-01-01", 2), ("2026-01-02", 5)]
    assert con.execute("SELECT typeof(activity_date) FROM marts.daily LIMIT 1").fetchall()[0][0] == "DATE"


def test_mirroring_replaces_a_stale_duckdb_table_of_the_same_name(settings, tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "ingestion.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_accounts AS SELECT 'stale' AS account_id")
    con.execute("CREATE TABLE marts.mart_account_health AS SELECT 'python' AS account_id")
    mirror_spark_tables(con, settings)
    assert con.execute("SELECT account_id, seats FROM marts.dim_accounts").fetchall() == [("a1", 3)]
    # what Python wrote stays
    assert con.execute("SELECT account_id FROM marts.mart_account_health").fetchall() == [("python",)]


def test_spark_instants_read_as_utc_timestamps_without_a_zone(settings) -> None:
    # Spark writes TIMESTAMP as an instant; the DuckDB engine's tables hold naive UTC timestamps.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    folder = settings.spark_warehouse_dir / "staging.db" / "stg_cs__activities"
    folder.mkdir(parents=True)
    con.execute(
        "COPY (SELECT 'x1' AS activity_id, TIMESTAMPTZ '2026-11-20 23:30:00+00' AS created_at) "
        f"TO '{folder / 'part-0.parquet'}'"
    )
    attach_spark_schemas(con, settings, ["staging"])
    assert con.execute("SELECT typeof(created_at), created_at::VARCHAR FROM staging.stg_cs__activities").fetchall() == [
        ("TIMESTAMP", "2026-11-20 23:30:00")
    ]

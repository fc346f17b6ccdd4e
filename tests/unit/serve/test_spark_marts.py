"""Which marts are written back to Spark, and how (the Spark registration itself runs in
tests/e2e/engines, with the spark extra)."""

from __future__ import annotations

import duckdb

from dagster_project.core.settings import get_settings
from dagster_project.ingest.spark_raw import PARQUET_FILE
from dagster_project.serve.spark_marts import export_python_marts, python_marts


def test_only_the_python_written_marts_are_exported(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AHW_SPARK_MARTS_DIR", str(tmp_path / "python_marts"))
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
    con.execute("CREATE TABLE marts.mart_account_health AS SELECT 'a' || range AS account_id FROM range(3)")
    con.execute("CREATE TABLE marts.mart_health_alerts AS SELECT 1 AS alert_id")
    # on Spark, dbt's marts are views over their Spark Parquet files; other schemas are not marts
    con.execute("CREATE VIEW marts.fct_account_features_weekly AS SELECT 1 AS x")
    con.execute("CREATE TABLE staging.stg_product__accounts AS SELECT 1 AS x")
    assert python_marts(con) == ["mart_account_health", "mart_health_alerts"]

    settings = get_settings()
    assert export_python_marts(con, settings) == ["mart_account_health", "mart_health_alerts"]
    assert sorted(p.name for p in settings.spark_marts_dir.iterdir()) == ["mart_account_health", "mart_health_alerts"]
    parquet = settings.spark_marts_dir / "mart_account_health" / PARQUET_FILE
    assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0] == 3

"""The engine setting: AHW_ENGINE picks DuckDB (default) or Spark, and with it dbt's target."""

from __future__ import annotations

import pytest

from dagster_project.core.settings import get_settings


def test_duckdb_is_the_default_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AHW_ENGINE", raising=False)
    monkeypatch.delenv("DBT_TARGET", raising=False)
    settings = get_settings()
    assert settings.engine == "duckdb"
    assert settings.export_for_dbt()["DBT_TARGET"] == "dev"


@pytest.mark.parametrize(("dbt_target", "profile_target"), [("dev", "spark"), ("prod", "spark_prod")])
def test_spark_picks_the_spark_target_of_the_same_environment(
    monkeypatch: pytest.MonkeyPatch, dbt_target: str, profile_target: str
) -> None:
    monkeypatch.setenv("AHW_ENGINE", " Spark ")
    monkeypatch.setenv("DBT_TARGET", dbt_target)
    monkeypatch.setenv("AHW_PII_SALT", "a-secret")
    exported = get_settings().export_for_dbt()
    assert exported["DBT_TARGET"] == profile_target


def test_spark_folders_follow_the_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AHW_SPARK_WAREHOUSE_DIR", raising=False)
    monkeypatch.delenv("AHW_SPARK_RAW_DIR", raising=False)
    exported = get_settings().export_for_dbt()
    assert exported["AHW_SPARK_WAREHOUSE_DIR"] == str(tmp_path.resolve() / "spark" / "warehouse")
    assert exported["AHW_SPARK_RAW_DIR"] == str(tmp_path.resolve() / "spark" / "raw")


def test_unknown_engine_names_the_variable_and_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AHW_ENGINE", "snowflake")
    with pytest.raises(ValueError, match=r"AHW_ENGINE='snowflake' is not one of duckdb, spark"):
        get_settings()

"""The same warehouse on Apache Spark as on DuckDB (docs/engines.md).

One small simulated company is loaded (contract checks and quarantine included) and built with
`dbt build` (every model and every data test) on DuckDB and on a local Spark session. Both builds
must have the same number of rows in every model, the same values in every table (exact for
integers, strings, dates and booleans; within 1e-9 for floating-point columns, relative above 1),
and the churn model's walk-forward backtest must reach the same AUC within 0.005 (with a 4-week
churn horizon, which six months of history can backtest).

Runs with `make test-spark` (pytest -m spark): it needs the spark extra (`make install-spark`)
and Java 17; a few minutes, most of them Spark's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from dagster_project.core.settings import ENGINES, Settings, get_settings
from dagster_project.core.spark_tables import attach_spark_schemas, spark_tables

pytest.importorskip("pyspark", reason="the spark extra is not installed: `make install-spark`")

from dagster_project.cli.engines import load_raw, run_dbt  # noqa: E402
from dagster_project.ml.backtest import BacktestSpec, walk_forward_backtest  # noqa: E402
from dagster_project.ml.snapshots import read_snapshots  # noqa: E402
from dagster_project.ml.split import SplitSpec  # noqa: E402
from dagster_project.ml.train import TrainSpec  # noqa: E402
from dagster_project.simulate import SimulationConfig, generate  # noqa: E402
from tests.e2e.engines.parity import compare_tables  # noqa: E402

pytestmark = pytest.mark.spark

ACCOUNTS = 60
MONTHS = 6
END_DATE = dt.date(2026, 11, 29)
NOW = "2026-11-30T06:00:00+00:00"
# A 4-week churn horizon, so that six months leave room for a leak-free walk-forward backtest (a
# 90-day one needs its 13-week gap on top of the training, calibration and test weeks); the label
# columns keep their names (dbt_project.yml). One fold: the newest labelled week is the test week,
# the two weeks before the 3-week gap calibrate (the small company has churners in them).
HORIZON_DAYS = 28
BACKTEST = BacktestSpec(
    n_origins=1, step_weeks=1, test_weeks=1, split=SplitSpec(calibration_weeks=2, min_train_weeks=3)
)
AUC_TOLERANCE = 0.005


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _engine_environment(root: Path, engine: str) -> dict[str, str]:
    return {
        "AHW_ENGINE": engine,
        "AHW_DATA_DIR": str(root / engine),
        "AHW_LANDING_DIR": str(root / "landing"),
        "AHW_NOW": NOW,
        "AHW_CHURN_HORIZON_DAYS": str(HORIZON_DAYS),
    }


def _dbt(settings: Settings, args: list[str]) -> str:
    result = run_dbt(settings, args)
    assert result.returncode == 0, (
        f"dbt {' '.join(args)} failed on {settings.engine}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    """The company built on each engine: {engine: its settings}."""
    root = tmp_path_factory.mktemp("engines")
    generate(SimulationConfig(n_accounts=ACCOUNTS, months=MONTHS, end_date=END_DATE), root / "landing")
    built = {}
    for engine in ENGINES:
        with _environment(**_engine_environment(root, engine)):
            settings = get_settings()
            load_raw(settings)
            _dbt(settings, ["build"])
            built[engine] = settings
    return built


def _row_counts(settings: Settings) -> dict[str, int]:
    output = _dbt(settings, ["run-operation", "print_row_counts"])
    line = next(line for line in output.splitlines() if "row_counts: " in line)
    return json.loads(line.split("row_counts: ", 1)[1])


def test_every_model_has_the_same_rows_on_both_engines(builds: dict[str, Settings]) -> None:
    duckdb_counts, spark_counts = (_row_counts(builds[engine]) for engine in ENGINES)
    assert len(duckdb_counts) >= 30, duckdb_counts
    assert spark_counts == duckdb_counts


def test_every_table_has_the_same_values_on_both_engines(builds: dict[str, Settings]) -> None:
    spark = builds["spark"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{builds['duckdb'].duckdb_path}' AS duckdb_build (READ_ONLY)")
    schemas = ["staging", "intermediate", "marts"]
    attach_spark_schemas(con, spark, schemas)
    compared, different = [], []
    for schema in schemas:
        for table in spark_tables(spark, schema):
            difference = compare_tables(con, f"duckdb_build.{schema}.{table}", f"{schema}.{table}")
            compared.append(f"{schema}.{table}")
            if not difference.equal:
                different.append(difference)
    # the ML inputs are among them: every feature and every label
    assert {
        "marts.ml_account_snapshots",
        "marts.fct_account_features_weekly",
        "marts.fct_account_labels_weekly",
    } <= set(compared)
    assert not different, different


def _backtest_auc(settings: Settings, environment: dict[str, str]) -> float:
    with _environment(**environment):
        df, families = read_snapshots(settings.data_dir / "dbt_target" / settings.engine / "manifest.json")
        result = walk_forward_backtest(
            df,
            list(families),
            "churned_within_90d",
            HORIZON_DAYS,
            BACKTEST,
            training=TrainSpec(num_boost_round=60),
            feature_families=families,
        )
    frame = result.to_frame()
    return float(frame.loc[frame["model_name"] == result.chosen, "auc"].mean())


def test_the_churn_backtest_reaches_the_same_auc_on_both_engines(builds: dict[str, Settings]) -> None:
    root = builds["duckdb"].data_dir.parent
    duckdb_auc, spark_auc = (_backtest_auc(builds[engine], _engine_environment(root, engine)) for engine in ENGINES)
    assert 0.0 <= duckdb_auc <= 1.0  # folds with positives: a number, not NaN
    assert duckdb_auc == pytest.approx(spark_auc, abs=AUC_TOLERANCE)


def _spark_show(settings: Settings, sql: str) -> dict:
    shown = _dbt(settings, ["show", "--inline", sql, "--output", "json"])
    return json.loads(shown[shown.index('{\n  "show"') :].split("\n}\n")[0] + "\n}")["show"][0]


def test_python_marts_are_written_back_to_spark_and_erasure_reaches_them(tmp_path: Path) -> None:
    """The marts Python steps write (base tables in the ingestion database's `marts`) become Spark
    tables with the same rows; dbt's marts (views there on Spark) are not copied. An erasure
    rewrites their Parquet files, and Spark no longer reads the account."""
    from dagster_project.core.warehouse import connect
    from dagster_project.serve import privacy
    from dagster_project.serve.spark_marts import write_back_python_marts

    summary = "select count(*) as n, sum(score) as total, max(scored_at) as newest from marts.mart_scores"
    with _environment(**_engine_environment(tmp_path, "spark")):
        settings = get_settings()
        with connect(settings) as con:
            con.execute("CREATE SCHEMA marts")
            con.execute(
                "CREATE TABLE marts.mart_scores AS SELECT range AS account_id, range / 7 AS score, "
                "TIMESTAMP '2026-11-30 06:00:00' + to_days(range::INT) AS scored_at FROM range(1000)"
            )
            con.execute("CREATE VIEW marts.dbt_mart_view AS SELECT 1 AS x")
            assert write_back_python_marts(con, settings) == ["mart_scores"]
        row = _spark_show(settings, summary)
        assert row["n"] == 1000
        assert row["total"] == pytest.approx(sum(i / 7 for i in range(1000)))
        assert str(row["newest"]).startswith("2029-08-25")

        with connect(settings) as con:
            removed = privacy.rewrite_parquet_without(con, settings.spark_parquet_dirs, privacy._is_account("999"))
        assert removed == {"spark/python_marts/mart_scores/part-00000.parquet": 1}
        row = _spark_show(settings, summary)
    assert row["n"] == 999
    assert str(row["newest"]).startswith("2029-08-24")

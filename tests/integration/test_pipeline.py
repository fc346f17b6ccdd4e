"""End to end: a simulated company through every asset of the real Dagster job, in process.

One run per module (it is the expensive part): simulate -> ingest -> dbt build (all dbt tests as
asset checks) -> train -> score. The tests then read what the run left in the warehouse and in
the Dagster event log.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from dagster_project.ml import artifacts
from dagster_project.partitions import full_refresh_tags
from dagster_project.settings import get_settings
from dagster_project.warehouse import connect

END_DATE = dt.date(2026, 11, 22)
# Long enough for the time-aware split (train, calibration, a one-horizon gap, a 13-week test).
COMPANY = dict(n_accounts=300, months=16, seed=3, end_date=END_DATE)


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """Run the full_refresh job once on a fresh simulated company; yield (result, instance)."""
    from dagster_project.definitions import defs
    from dagster_project.simulate import SimulationConfig, generate

    root = tmp_path_factory.mktemp("pipeline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AHW_DATA_DIR", str(root))
        mp.setenv("AHW_LANDING_DIR", str(root / "landing"))
        mp.setenv("AHW_DUCKDB_PATH", str(root / "warehouse.duckdb"))
        mp.setenv("AHW_ARTIFACTS_DIR", str(root / "models"))
        # The run happens the morning after the simulated data ends, as it would in production.
        mp.setenv("AHW_NOW", f"{END_DATE + dt.timedelta(days=1)}T05:00:00")
        generate(SimulationConfig(**COMPANY), root / "landing")
        instance = dg.DagsterInstance.ephemeral()
        result = defs().resolve_job_def("full_refresh").execute_in_process(
            instance=instance, raise_on_error=False, tags=full_refresh_tags())
        yield result, instance


def _materialized(result) -> dict[dg.AssetKey, dict]:
    return {
        e.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def test_every_asset_materializes(pipeline_run):
    result, _ = pipeline_run
    failures = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, f"failed steps: {failures}"
    from dagster_project.definitions import defs

    all_keys = set(defs().resolve_all_asset_keys())
    assert all_keys - set(_materialized(result)) == set()


def test_dbt_build_passes_with_every_dbt_test(pipeline_run):
    result, _ = pipeline_run
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    dbt_checks = [ev for ev in evaluations if ev.asset_key.path[0] in {"staging", "intermediate", "marts"}]
    assert len(dbt_checks) > 100, "the dbt tests should surface as asset checks"
    failed = [f"{ev.asset_key.to_user_string()}:{ev.check_name}" for ev in dbt_checks if not ev.passed]
    assert failed == []


def test_mart_account_health_has_one_row_per_active_account(pipeline_run):
    with connect(read_only=True) as con:
        health = con.sql("SELECT * FROM marts.mart_account_health").df()
        active = con.execute(
            "SELECT count(*) FROM marts.ml_account_snapshots "
            "WHERE as_of_date = (SELECT max(as_of_date) FROM marts.ml_account_snapshots)"
        ).fetchall()[0][0]
        live = con.execute("SELECT count(*) FROM marts.dim_accounts WHERE NOT is_churned").fetchall()[0][0]
    assert len(health) == active == live > 0
    assert health["account_id"].is_unique
    assert health["health_score"].between(0, 100).all()
    assert set(health["health_band"]) <= {"red", "yellow", "green"}
    assert health["churn_probability"].between(0, 1).all()
    drivers = [json.loads(d) for d in health["top_drivers"]]
    assert all(len(d) == 3 and all({"feature", "value", "impact", "sentence"} <= set(x) for x in d) for d in drivers)
    champion = artifacts.load_model(get_settings().artifacts_dir / "churn")
    assert set(health["model_version"]) == {champion.metadata["version"]}


def test_churn_model_beats_chance_and_logins_alone(pipeline_run):
    result, _ = pipeline_run
    meta = _materialized(result)[dg.AssetKey("churn_model")]
    auc = meta["holdout_auc"].value
    logins_auc = meta["logins_only_auc"].value
    assert auc > 0.65, f"holdout AUC {auc:.3f}"
    assert auc > logins_auc, f"model {auc:.3f} vs logins alone {logins_auc:.3f}"
    assert meta["oracle_auc"].value > 0.5

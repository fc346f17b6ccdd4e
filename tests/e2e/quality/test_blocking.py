"""A blocking check stops everything downstream in a real Dagster run, and the published mart stays.

The ingest assets, the real raw quality checks and one downstream asset that publishes a mart run
in process with Dagster, first on clean data, then on data with orphans.
"""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_project.core.warehouse import connect
from dagster_project.defs.ingest.assets import raw_table_assets
from dagster_project.defs.quality.checks import raw_accounts_quality, raw_data_quality
from dagster_project.simulate.faults import inject_faults
from tests.e2e.quality.conftest import copy_landing, use_warehouse


def mart_from_raw(name: str, table: str) -> dg.AssetsDefinition:
    """Stands in for the dbt marts: `marts.<name>`, rows per account of raw.<table>, rebuilt on each run."""

    @dg.asset(key=["marts", name], deps=[dg.AssetKey(["raw", table])])
    def _mart() -> dg.MaterializeResult:
        with connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute(
                f"CREATE OR REPLACE TABLE marts.{name} AS SELECT account_id, count(*) AS n FROM raw.{table} GROUP BY 1"
            )
        return dg.MaterializeResult()

    return _mart


published_test_mart = mart_from_raw("published_test_mart", "events")
subscription_test_mart = mart_from_raw("subscription_test_mart", "subscriptions")


def _run():
    return dg.materialize(
        [*raw_table_assets, published_test_mart, raw_accounts_quality, raw_data_quality],
        raise_on_error=False,
    )


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_blocking_check_stops_downstream_and_keeps_the_last_good_mart(clean_landing, tmp_path, monkeypatch):
    landing = copy_landing(clean_landing, tmp_path / "landing")
    use_warehouse(monkeypatch, tmp_path / "data", landing)

    good = _run()
    assert good.success
    assert "marts/published_test_mart" in _materialized(good)
    with connect(read_only=True) as con:
        mart_before = con.execute("SELECT * FROM marts.published_test_mart ORDER BY account_id").fetchall()
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in good.get_asset_check_evaluations()}
    assert checks and all(checks.values())

    report = inject_faults(landing, ["orphans"], seed=3, rate=0.05)
    bad = _run()
    assert not bad.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in bad.get_asset_check_evaluations()}
    ri = evaluations[("raw/events", "referential_integrity")]
    assert not ri.passed and ri.severity == dg.AssetCheckSeverity.ERROR
    metadata = {k: v.value for k, v in ri.metadata.items()}
    assert metadata["failing_rows"] == report["orphans"]["rows"]
    assert metadata["threshold"] == pytest.approx(0.99)
    assert metadata["column"] == "account_id" and metadata["table"] == "raw.events"
    assert "acc_unknown_" in metadata["example_bad_keys"]
    # raw was reloaded (with the orphans in quarantine), the mart downstream was not
    assert "raw/events" in _materialized(bad)
    assert "marts/published_test_mart" not in _materialized(bad)
    with connect(read_only=True) as con:
        assert con.execute("SELECT * FROM marts.published_test_mart ORDER BY account_id").fetchall() == mart_before
        assert con.execute("SELECT count(*) FROM quarantine.events").fetchone()[0] == report["orphans"]["rows"]
        history = con.execute(
            "SELECT count(DISTINCT run_id), bool_or(NOT passed AND check_name = 'expect_column_values_to_be_in_set' "
            "AND table_name = 'raw.events') FROM marts.mart_data_quality"
        ).fetchone()
    assert history == (2, True)


def test_ingest_metadata_reports_quarantine_counts(clean_landing, tmp_path, monkeypatch):
    landing = copy_landing(clean_landing, tmp_path / "landing")
    report = inject_faults(landing, ["future_timestamps"], seed=4, rate=0.03)
    use_warehouse(monkeypatch, tmp_path / "data", landing)
    result = dg.materialize(raw_table_assets, raise_on_error=True)
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["raw", "events"])][0]
    md = {k: v.value for k, v in events.materialization.metadata.items()}
    n = report["future_timestamps"]["rows"]
    assert md["quarantined_rows"] == n
    assert md["landed_rows"] == md["dagster/row_count"] + n
    assert md["quarantine_reasons"] == {"future_timestamp:occurred_at": n}


def test_a_quarantined_subscription_state_blocks_the_refresh(clean_landing, tmp_path, monkeypatch):
    """One subscription row with an unknown status is quarantined: the state_history check blocks
    everything downstream of raw.subscriptions, and says which file, table, column and rows."""
    landing = copy_landing(clean_landing, tmp_path / "landing")
    report = inject_faults(landing, ["bad_subscription_status"], seed=5, rate=0.003)
    assert report["bad_subscription_status"]["rows"] == 1
    use_warehouse(monkeypatch, tmp_path / "data", landing)
    result = dg.materialize(
        [*raw_table_assets, subscription_test_mart, raw_accounts_quality, raw_data_quality], raise_on_error=False
    )
    assert not result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    history = evaluations[("raw/subscriptions", "state_history")]
    assert not history.passed and history.severity == dg.AssetCheckSeverity.ERROR
    metadata = {k: v.value for k, v in history.metadata.items()}
    assert (metadata["table"], metadata["column"], metadata["failing_rows"]) == ("raw.subscriptions", "status", 1)
    assert str(landing / "subscriptions") in history.description
    assert "raw/subscriptions" in _materialized(result)
    assert "marts/subscription_test_mart" not in _materialized(result)
    # nothing else blocks
    failed = {k for k, e in evaluations.items() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR}
    assert failed == {("raw/subscriptions", "state_history")}

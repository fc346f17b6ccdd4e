"""End to end through the real `full_refresh` job (dbt included), built once per module.

Run 1: clean data plus re-delivered events below the SLA -> everything runs; staging removes the
duplicates and the row counts reconcile (landed = raw + quarantined, raw = staged + removed).
Run 2: orphans above the SLA -> the blocking check stops dbt, the model and the scores; the
published marts are exactly as run 1 left them.
"""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_project.core.warehouse import connect
from dagster_project.defs.partitions import full_refresh_tags
from dagster_project.simulate.faults import inject_faults
from tests.e2e.quality.conftest import SMALL

pytestmark = pytest.mark.slow

PUBLISHED = ["marts.ml_account_snapshots", "marts.mart_account_health", "marts.dim_accounts"]


def _snapshot_of_marts() -> dict[str, list]:
    with connect(read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in PUBLISHED}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from dagster_project.definitions import defs
    from dagster_project.simulate import SimulationConfig, generate

    root = tmp_path_factory.mktemp("pipeline")
    landing = root / "landing"
    # churn_model needs more than a year of labelled weeks: the small company over 18 months
    generate(SimulationConfig(**{**SMALL, "months": 18}), landing)
    mp = pytest.MonkeyPatch()
    try:
        for key, value in {
            "AHW_DATA_DIR": root / "data",
            "AHW_LANDING_DIR": landing,
            "AHW_DUCKDB_PATH": root / "data" / "warehouse.duckdb",
            "AHW_NOW": "2026-11-01T05:00:00",
        }.items():
            mp.setenv(key, str(value))
        job = defs().resolve_job_def("full_refresh")
        dup = inject_faults(landing, ["duplicates"], seed=8, rate=0.004)
        first = job.execute_in_process(
            raise_on_error=False, instance=dg.DagsterInstance.ephemeral(), tags=full_refresh_tags()
        )
        marts_after_first = _snapshot_of_marts() if first.success else None
        with connect(read_only=True) as con:
            counts = con.execute(
                "SELECT (SELECT count(*) FROM raw.events), (SELECT count(*) FROM quarantine.events), "
                "(SELECT count(*) FROM staging.stg_product__events)"
            ).fetchone()
        orphans = inject_faults(landing, ["orphans"], seed=9, rate=0.05)
        second = job.execute_in_process(
            raise_on_error=False, instance=dg.DagsterInstance.ephemeral(), tags=full_refresh_tags()
        )
        yield dict(
            first=first,
            second=second,
            dup=dup,
            orphans=orphans,
            counts=counts,
            marts_after_first=marts_after_first,
            marts_after_second=_snapshot_of_marts(),
        )
    finally:
        mp.undo()


def _checks(result):
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def _our_checks(result):
    ours = {
        "completeness",
        "duplicate_keys",
        "referential_integrity",
        "validity",
        "state_history",
        "freshness",
        "volume",
        "keys_unique_and_present",
        "rows_reconcile",
        "training_gate",
    }
    return {k: e for k, e in _checks(result).items() if k[1] in ours}


def test_clean_run_passes_every_quality_check(runs):
    first = runs["first"]
    assert first.success
    checks = _our_checks(first)
    assert len(checks) >= 30
    assert {k: e.description for k, e in checks.items() if not e.passed} == {}
    assert checks[("marts/ml_account_snapshots", "training_gate")].passed


def test_duplicates_below_the_sla_are_removed_by_staging_and_counted(runs):
    raw, quarantined, staged = runs["counts"]
    n = runs["dup"]["duplicates"]["rows"]
    assert quarantined == 0
    assert raw == staged + n
    recon = _checks(runs["first"])[("staging/stg_product__events", "rows_reconcile")]
    assert recon.passed
    assert f"raw {raw} = staged {staged} + removed duplicates {n}" in recon.metadata["detail"].value


def test_blocking_check_stops_dbt_model_and_scores(runs):
    second = runs["second"]
    assert not second.success
    ri = _checks(second)[("raw/events", "referential_integrity")]
    assert not ri.passed and ri.severity == dg.AssetCheckSeverity.ERROR
    materialized = {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert "raw/events" in materialized
    assert not any(k.startswith(("staging/", "intermediate/", "marts/")) for k in materialized)
    assert "models/churn_model" not in materialized and "marts/mart_account_health" not in materialized


def test_published_marts_are_untouched_when_blocked(runs):
    assert runs["marts_after_first"] is not None
    assert runs["marts_after_second"] == runs["marts_after_first"]


def test_history_has_both_runs_and_the_quarantine(runs):
    with connect(read_only=True) as con:
        per_run = dict(con.execute("SELECT run_id, count(*) FROM marts.mart_data_quality GROUP BY run_id").fetchall())
        q = con.execute(
            "SELECT sum(quarantined_rows) FROM marts.mart_data_quality WHERE run_id = ? "
            "AND check_name = 'quarantine:unknown_account'",
            [runs["second"].run_id],
        ).fetchone()[0]
    assert set(per_run) == {runs["first"].run_id, runs["second"].run_id}
    assert q == runs["orphans"]["orphans"]["rows"]

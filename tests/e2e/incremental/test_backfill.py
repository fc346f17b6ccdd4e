"""A backfill of a date range: one run of daily_refresh over the range, as the UI's Materialize
with a range or the CLI's range tags launch it (docs/performance.md), on a copy of the session's
finished full_refresh run."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from dagster_project.core.warehouse import connect
from dagster_project.defs.transform.assets import dbt_models
from tests.e2e.finished_run import END_DATE, SHARED_RUN, company_copy, run_job, use_company

pytestmark = SHARED_RUN

RANGE_START, RANGE_END = END_DATE - dt.timedelta(days=9), END_DATE - dt.timedelta(days=5)
LOOKBACK_DAYS = 3  # the default look-back window


def test_a_range_backfill_is_one_run_that_rebuilds_from_its_first_day(tmp_path_factory):
    company = company_copy(tmp_path_factory, "backfill")
    with use_company(company):
        with connect(read_only=True) as con:
            before = con.execute(
                "SELECT count(*) FROM intermediate.int_account_daily_activity WHERE activity_date < ?",
                [RANGE_START - dt.timedelta(days=LOOKBACK_DAYS)],
            ).fetchone()[0]
        result = run_job(
            "daily_refresh",
            tags={
                "dagster/asset_partition_range_start": RANGE_START.isoformat(),
                "dagster/asset_partition_range_end": RANGE_END.isoformat(),
            },
        )
        failures = [e.step_key for e in result.all_events if e.is_step_failure]
        assert result.success, f"failed steps: {failures}"
        with connect(read_only=True) as con:
            scope = con.execute("SELECT loaded_from FROM quarantine.load_scope WHERE table_name = 'events'").fetchone()[
                0
            ]
            after = con.execute(
                "SELECT count(*) FROM intermediate.int_account_daily_activity WHERE activity_date < ?",
                [RANGE_START - dt.timedelta(days=LOOKBACK_DAYS)],
            ).fetchone()[0]
            newest = con.execute("SELECT max(activity_date) FROM intermediate.int_account_daily_activity").fetchone()[0]
    # raw events reloaded from the range's first day minus the look-back window, and the days before kept
    assert scope == RANGE_START - dt.timedelta(days=LOOKBACK_DAYS)
    assert after == before > 0
    assert newest == END_DATE  # every day after the range is rebuilt too (rolling windows depend on it)

    # raw/events records one materialization per day of the range; each dbt model (a table, not
    # partitioned) one, from one dbt build for the range
    def materialized(key: list[str]) -> list:
        return [
            e
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == dg.AssetKey(key)
        ]

    assert sorted(e.partition for e in materialized(["raw", "events"])) == [
        (RANGE_START + dt.timedelta(days=d)).isoformat() for d in range((RANGE_END - RANGE_START).days + 1)
    ]
    assert len(materialized(["intermediate", "int_account_daily_activity"])) == 1
    dbt_steps = {e.step_key for e in result.all_events if e.is_step_success and e.step_key == dbt_models.op.name}
    assert len(dbt_steps) == 1

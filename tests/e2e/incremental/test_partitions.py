"""Daily partitions of raw.events: a partition run reloads only the days from its first day minus
the look-back window (late events in a new delivery included), a run without a partition reloads
everything, and the landing sensor asks for one run per new delivery."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project.defs.automation import daily_refresh_job, daily_refresh_schedule, landing_files_sensor
from dagster_project.defs.ingest.assets import raw_table_assets

ASSETS = {a.key.path[-1]: a for a in raw_table_assets}
DAY = dt.date(2026, 11, 20)  # the partition run below; with 3 days of look-back it reloads 11-17 on


def _events(ids: list[str], occurred: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ids,
            "account_id": "a1",
            "event_name": "session_started",
            "occurred_at": pd.to_datetime(occurred),
        }
    )


@pytest.fixture()
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    landing = tmp_path / "landing"
    for table in ("accounts", "events"):
        (landing / table).mkdir(parents=True)
    pd.DataFrame({"account_id": ["a1"], "created_at": pd.to_datetime(["2026-01-01"])}).to_parquet(
        landing / "accounts" / "accounts.parquet"
    )
    _events(["e1", "e2", "e3"], ["2026-11-10 09:00", "2026-11-16 09:00", "2026-11-18 09:00"]).to_parquet(
        landing / "events" / "part-00000.parquet"
    )
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AHW_LANDING_DIR", str(landing))
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("AHW_NOW", "2026-11-21T05:00:00")
    return landing


def _materialize(partition_key: str | None = None) -> dict[str, object]:
    """Load accounts and events; return the metadata of raw.events."""
    result = dg.materialize(
        [ASSETS["accounts"], ASSETS["events"]],
        partition_key=partition_key,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    [events] = [m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == "events"]
    return {k: v.value for k, v in events.materialization.metadata.items()}


def _raw_events() -> dict[str, str]:
    with duckdb.connect(os.environ["AHW_DUCKDB_PATH"], read_only=True) as con:
        return dict(con.execute("SELECT event_id, cast(occurred_at AS DATE)::VARCHAR FROM raw.events").fetchall())


def test_a_partition_run_reloads_only_the_days_from_its_lookback_window(landing):
    _materialize()  # first load: everything
    assert set(_raw_events()) == {"e1", "e2", "e3"}

    # The history file changes for old days (this must not show), and a delivery lands with the
    # new day's event, a late one from 11-18 and one too late for the window (11-15).
    _events(["e1", "e2"], ["2026-11-10 09:00", "2026-11-16 09:00"]).to_parquet(
        landing / "events" / "part-00000.parquet"
    )
    _events(["e4", "e5", "e6"], ["2026-11-20 10:00", "2026-11-18 23:00", "2026-11-15 08:00"]).to_parquet(
        landing / "events" / "received-2026-11-20.parquet"
    )
    metadata = _materialize(partition_key=DAY.isoformat())
    # 11-17 on reloaded: e3 (gone from the files) is dropped, e4 and the late e5 are in; e6 is older
    # than the window and waits for a full reload; e1 and e2 are untouched.
    assert _raw_events() == {"e1": "2026-11-10", "e2": "2026-11-16", "e4": "2026-11-20", "e5": "2026-11-18"}
    # the row count is the table's; the rows this run loaded are counted apart
    assert (metadata["dagster/row_count"], metadata["rows_loaded"]) == (4, 2)

    _materialize()  # a run without a partition reloads everything
    assert set(_raw_events()) == {"e1", "e2", "e4", "e5", "e6"}


def test_a_partition_run_quarantines_only_its_own_rows(landing):
    _materialize()
    _events(["e7"], ["2026-11-19 10:00"]).assign(account_id="unknown").to_parquet(
        landing / "events" / "received-2026-11-20.parquet"
    )
    _materialize(partition_key=DAY.isoformat())
    with duckdb.connect(os.environ["AHW_DUCKDB_PATH"], read_only=True) as con:
        quarantined = con.execute("SELECT event_id, quarantine_reason FROM quarantine.events").fetchall()
    assert quarantined == [("e7", "unknown_account")]
    assert "e7" not in _raw_events()


def test_the_daily_job_and_schedule_are_partitioned_by_day():
    assert daily_refresh_job.partitions_def is not None
    assert (
        daily_refresh_job.partitions_def.get_partition_key_for_timestamp(
            dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC).timestamp()
        )
        == "2026-11-22"
    )
    assert daily_refresh_schedule.cron_schedule == "0 5 * * *"


def test_the_sensor_requests_one_run_per_new_delivery(landing):
    first = landing_files_sensor(dg.build_sensor_context())
    assert isinstance(first, dg.RunRequest)
    cursor = str(max(p.stat().st_mtime for p in landing.rglob("*.parquet")))

    # Nothing new since the cursor: skip.
    assert isinstance(landing_files_sensor(dg.build_sensor_context(cursor=cursor)), dg.SkipReason)

    delivery = landing / "events" / "received-2026-11-20.parquet"
    _events(["e9"], ["2026-11-20 10:00"]).to_parquet(delivery)
    os.utime(delivery, (float(cursor) + 10, float(cursor) + 10))
    second = landing_files_sensor(dg.build_sensor_context(cursor=cursor))
    assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key
    assert second.partition_key is not None
    # The same file seen again from the same cursor gives the same run key: Dagster runs it once.
    again = landing_files_sensor(dg.build_sensor_context(cursor=cursor))
    assert again.run_key == second.run_key


def test_a_partition_runs_checks_judge_the_reloaded_days_not_the_whole_history(landing, monkeypatch):
    """Orphans in one day's delivery are measured against that day's rows: 1 of 2 new events is an
    orphan (50 %), although it is only 1 of ~200 rows of the whole table (0.5 %, under the 1 % SLA)."""
    from dagster_project.defs.quality.checks import raw_accounts_quality, raw_data_quality

    history = pd.date_range("2026-11-01 08:00", "2026-11-16 20:00", periods=200)
    _events([f"h{i}" for i in range(200)], list(history.astype(str))).to_parquet(
        landing / "events" / "part-00000.parquet"
    )
    assets = [*raw_table_assets, raw_accounts_quality, raw_data_quality]
    monkeypatch.setenv("AHW_NOW", "2026-11-17T05:00:00")  # the full load runs the morning after the history
    full = dg.materialize(
        assets,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags={"ahw/full_refresh": "true"},
        partition_key=DAY.isoformat(),
    )
    assert full.success  # the optional tables the company does not provide are empty, and pass
    delivery = _events(["n1", "n2"], ["2026-11-20 10:00", "2026-11-20 11:00"])
    delivery.loc[1, "account_id"] = "unknown"
    delivery.to_parquet(landing / "events" / "received-2026-11-20.parquet")
    monkeypatch.setenv("AHW_NOW", "2026-11-21T05:00:00")  # the partition of 11-20 reloads 11-17 on

    daily = dg.materialize(
        assets, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, partition_key=DAY.isoformat()
    )
    checks = {(e.asset_key.path[-1], e.check_name): e for e in daily.get_asset_check_evaluations()}
    ri = checks[("events", "referential_integrity")]
    metadata = {k: v.value for k, v in ri.metadata.items()}
    assert not ri.passed
    assert (metadata["failing_rows"], metadata["total_rows"]) == (1, 2)
    # the rows outside the reloaded days are not counted again: completeness is measured on the same 2
    completeness = {k: v.value for k, v in checks[("events", "completeness")].metadata.items()}
    assert completeness["total_rows"] == 2

"""The incremental dbt models (events and everything derived per account-day) give the same tables
as a full build, and count late events inside the look-back window.

One small simulated company, loaded twice: warehouse `daily` is built on the history up to a week
before the end and then refreshed incrementally, a few days per run, the way the daily schedule
does; warehouse `full` is built once on everything. Every incremental table must match exactly.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.core.contract import TABLES
from dagster_project.core.settings import DBT_PROJECT_DIR, REPO_ROOT
from dagster_project.ingest.landing import load_table
from dagster_project.simulate import SimulationConfig, generate
from tests.e2e.compare import table_differences

END_DATE = dt.date(2026, 11, 22)
FIRST_REFRESH = dt.date(2026, 11, 16)  # `daily` is first built on the events before this day
SECOND_REFRESH = dt.date(2026, 11, 20)
# Late events, landed with the last batch: one inside the look-back window of the last run (whose
# newest built day is 11-19, so it rebuilds from 11-16), in both warehouses; one outside it, only
# in `daily`, where it is not counted until a full refresh.
LATE_INSIDE = ("late-inside-window", dt.datetime(2026, 11, 17, 12, 0))
LATE_OUTSIDE = ("late-outside-window", dt.datetime(2026, 11, 12, 12, 0))
INCREMENTAL_MODELS = {
    "staging.stg_product__events": ["event_id"],
    "intermediate.int_user_daily_activity": ["account_id", "user_id", "activity_date"],
    "intermediate.int_account_feature_daily_usage": ["account_id", "feature", "usage_date"],
    "intermediate.int_account_daily_activity": ["account_id", "activity_date"],
    "intermediate.int_account_activity_rolling": ["account_id", "activity_date"],
}
SELECT = "+int_account_activity_rolling"


def _run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def _dbt(env: dict[str, str], warehouse: Path, *args: str, refresh_start: dt.date | None = None) -> None:
    """Build the incremental models and their upstream models in `warehouse` (no data tests)."""
    cmd = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--select",
        SELECT,
        "--exclude-resource-type",
        "test",
        "unit_test",
        "--quiet",
        *args,
    ]
    # as Dagster passes the partition's first day (an environment variable, read when dbt executes)
    from dagster_project.defs.transform.assets import REFRESH_START_ENV

    _run(
        cmd,
        {
            **env,
            "AHW_DUCKDB_PATH": str(warehouse),
            REFRESH_START_ENV: refresh_start.isoformat() if refresh_start else "",
        },
    )


def _copy_raw(source: Path, target: Path, events_before: dt.date | None = None) -> None:
    """Copy the raw schema of `source` into a new warehouse, optionally only the older events."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
        con.execute("CREATE SCHEMA raw")
        for table in TABLES:
            where = f"WHERE occurred_at < DATE '{events_before}'" if table == "events" and events_before else ""
            con.execute(f"CREATE TABLE raw.{table} AS SELECT * FROM source_db.raw.{table} {where}")


def _land_events(source: Path, target: Path, start: dt.date, end: dt.date, late: bool = False) -> None:
    """Append the events of days start..end (inclusive) from `source` to `target`'s raw.events.

    The late events are held back until a call with late=True lands them, whatever their day.
    """
    late_ids = [LATE_INSIDE[0]]
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
        con.execute(
            "INSERT INTO raw.events SELECT * FROM source_db.raw.events "
            "WHERE occurred_at >= ? AND occurred_at < ? AND event_id NOT IN (SELECT unnest(?))",
            [start, end + dt.timedelta(days=1), late_ids],
        )
        if late:
            con.execute(
                "INSERT INTO raw.events SELECT * FROM source_db.raw.events WHERE event_id IN (SELECT unnest(?))",
                [late_ids],
            )
            _add_late_event(con, "raw.events", *LATE_OUTSIDE)


def _add_late_event(con: duckdb.DuckDBPyConnection, table: str, event_id: str, occurred_at: dt.datetime) -> None:
    """A copy of the first login of the newest day, with another id and an older occurred_at."""
    con.execute(
        f"INSERT INTO {table} SELECT * REPLACE (? AS event_id, ? AS occurred_at, ? AS received_at) "
        f"FROM {table} WHERE event_name = 'session_started' AND occurred_at >= ? "
        "ORDER BY event_id LIMIT 1",
        [event_id, occurred_at, dt.datetime.combine(END_DATE, dt.time(23)), END_DATE],
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Warehouses `source` (raw only), `full` (one full build) and `daily` (incremental runs)."""
    tmp = tmp_path_factory.mktemp("incremental")
    source, full, daily = tmp / "source.duckdb", tmp / "full.duckdb", tmp / "daily.duckdb"
    env = {
        **os.environ,
        "AHW_DUCKDB_TEMP_DIRECTORY": str(tmp / "duckdb_tmp"),
        "DBT_TARGET": "dev",
        "AHW_PII_SALT": "incremental-test",
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),  # shared, so later runs parse partially
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    generate(SimulationConfig(n_accounts=40, months=5, seed=11, end_date=END_DATE), tmp / "landing")
    with duckdb.connect(str(source)) as con:
        for table in TABLES.values():
            load_table(con, table, tmp / "landing")
        _add_late_event(con, "raw.events", *LATE_INSIDE)

    _copy_raw(source, full)
    _dbt(env, full, "--full-refresh")

    _copy_raw(source, daily, events_before=FIRST_REFRESH)
    _dbt(env, daily, "--full-refresh")
    # A daily run as Dagster launches it (the partition's day as AHW_REFRESH_START_DATE), then one
    # without it, as `dbt build` alone runs it (the newest day already built is the reference).
    _land_events(source, daily, FIRST_REFRESH, SECOND_REFRESH - dt.timedelta(days=1))
    _dbt(env, daily, refresh_start=SECOND_REFRESH - dt.timedelta(days=1))
    _land_events(source, daily, SECOND_REFRESH, END_DATE, late=True)
    _dbt(env, daily)
    return {"source": source, "full": full, "daily": daily, "env": env}


@pytest.mark.parametrize("table", sorted(INCREMENTAL_MODELS))
def test_incremental_runs_give_the_same_table_as_a_full_build(built, table):
    full, daily = built["full"], built["daily"]
    day_column = "occurred_at" if "events" in table else "activity_date" if "activity" in table else "usage_date"
    with duckdb.connect(str(full), read_only=True) as con:
        rows, newest = con.execute(f"SELECT count(*), max({day_column}) FROM {table}").fetchall()[0]
    assert rows > 0 and newest.isoformat()[:10] == END_DATE.isoformat(), (table, rows, newest)
    assert table_differences(full, daily, table) == 0, f"{table}: the incremental runs and the full build differ"


def test_incremental_tables_are_keyed_like_the_full_build(built):
    """No day was inserted twice: the keys stay unique after the incremental runs."""
    with duckdb.connect(str(built["daily"]), read_only=True) as con:
        for table, key in INCREMENTAL_MODELS.items():
            dupes = con.execute(
                f"SELECT count(*) FROM (SELECT {', '.join(key)} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchall()[0][0]
            assert dupes == 0, f"{table}: {dupes} duplicated keys {key}"


def _account_day_events(path: Path, event_id: str) -> tuple[int, int]:
    """(staged copies of the event, events counted on its account-day) in one warehouse."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT (SELECT count(*) FROM staging.stg_product__events WHERE event_id = $id), "
            "coalesce((SELECT d.events FROM intermediate.int_account_daily_activity d "
            "  JOIN raw.events r ON r.account_id = d.account_id AND cast(r.occurred_at AS DATE) = d.activity_date "
            "  WHERE r.event_id = $id), -1)",
            {"id": event_id},
        ).fetchall()[0]


def test_a_late_event_inside_the_lookback_window_is_counted(built):
    staged, daily_count = _account_day_events(built["daily"], LATE_INSIDE[0])
    _, full_count = _account_day_events(built["full"], LATE_INSIDE[0])
    assert staged == 1
    assert daily_count == full_count > 0


def test_a_late_event_outside_the_lookback_window_waits_for_a_full_refresh(built):
    with duckdb.connect(str(built["daily"]), read_only=True) as con:
        landed = con.execute("SELECT count(*) FROM raw.events WHERE event_id = ?", [LATE_OUTSIDE[0]]).fetchall()[0][0]
    staged, _ = _account_day_events(built["daily"], LATE_OUTSIDE[0])
    assert (landed, staged) == (1, 0)


def _dbt_test(
    env: dict[str, str], warehouse: Path, select: str, refresh_start: dt.date | None
) -> subprocess.CompletedProcess:
    from dagster_project.defs.transform.assets import REFRESH_START_ENV

    cmd = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        "test",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--select",
        select,
    ]
    return subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={
            **env,
            "AHW_DUCKDB_PATH": str(warehouse),
            REFRESH_START_ENV: refresh_start.isoformat() if refresh_start else "",
        },
    )


def test_an_incremental_run_tests_the_days_it_rebuilt(built, tmp_path):
    """A daily run's dbt tests of an incremental model check the rebuilt days (a fault there fails,
    one in older days is left to the full refresh, which tests everything)."""
    warehouse = tmp_path / "faulted.duckdb"
    warehouse.write_bytes(built["daily"].read_bytes())
    env = {**built["env"], "DBT_TARGET_PATH": str(tmp_path / "dbt_target")}
    select = "stg_product__events,test_name:unique"
    # a duplicated event id on an old day: outside the window of a run for END_DATE
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO staging.stg_product__events SELECT * FROM staging.stg_product__events "
            "WHERE occurred_at < ? ORDER BY event_id LIMIT 1",
            [FIRST_REFRESH],
        )
    assert _dbt_test(env, warehouse, select, refresh_start=END_DATE).returncode == 0
    full = _dbt_test(env, warehouse, select, refresh_start=None)
    assert full.returncode == 1 and "Got 1 result" in full.stdout, full.stdout[-2000:]
    # a second one inside the window: the daily run's test finds it (and only it), the full test both
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO staging.stg_product__events SELECT * FROM staging.stg_product__events "
            "WHERE occurred_at >= ? ORDER BY event_id LIMIT 1",
            [END_DATE],
        )
    daily = _dbt_test(env, warehouse, select, refresh_start=END_DATE)
    assert daily.returncode == 1 and "Got 1 result" in daily.stdout, daily.stdout[-2000:]
    full = _dbt_test(env, warehouse, select, refresh_start=None)
    assert full.returncode == 1 and "Got 2 results" in full.stdout, full.stdout[-2000:]

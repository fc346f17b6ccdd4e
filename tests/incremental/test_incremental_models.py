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

from dagster_project.settings import DBT_PROJECT_DIR, REPO_ROOT

END_DATE = dt.date(2026, 11, 22)
FIRST_REFRESH = dt.date(2026, 11, 16)  # `daily` is first built on the events before this day
LOOKBACK_DAYS = 3  # the default of the lookback_days var
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
    cmd = [sys.executable, "-m", "dbt.cli.main", "build", "--project-dir", str(DBT_PROJECT_DIR),
           "--profiles-dir", str(DBT_PROJECT_DIR), "--select", SELECT,
           "--exclude-resource-type", "test", "unit_test", "--quiet", *args]
    if refresh_start is not None:
        cmd += ["--vars", f"{{refresh_start_date: '{refresh_start.isoformat()}'}}"]
    _run(cmd, {**env, "AHW_DUCKDB_PATH": str(warehouse)})


def _copy_raw(source: Path, target: Path, events_before: dt.date | None = None) -> None:
    """Copy the raw schema of `source` into a new warehouse, optionally only the older events."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
        con.execute("CREATE SCHEMA raw")
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'source_db' AND table_schema = 'raw'").fetchall()]
        for table in tables:
            where = f"WHERE occurred_at < DATE '{events_before}'" if table == "events" and events_before else ""
            con.execute(f"CREATE TABLE raw.{table} AS SELECT * FROM source_db.raw.{table} {where}")


def _land_events(source: Path, target: Path, start: dt.date, end: dt.date) -> int:
    """Append the events of days start..end (inclusive) from `source` to `target`'s raw.events."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
        con.execute(
            "INSERT INTO raw.events SELECT * FROM source_db.raw.events "
            "WHERE occurred_at >= ? AND occurred_at < ?",
            [start, end + dt.timedelta(days=1)],
        )
        return con.execute("SELECT count(*) FROM raw.events WHERE occurred_at >= ?", [start]).fetchall()[0][0]


def _differences(a: Path, b: Path, table: str) -> int:
    """Rows in one warehouse's table and not in the other's (both ways; duplicates count)."""
    with duckdb.connect(str(a), read_only=True) as con:
        con.execute(f"ATTACH '{b}' AS other (READ_ONLY)")
        return con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM other.{table})) "
            f"+ (SELECT count(*) FROM (SELECT * FROM other.{table} EXCEPT ALL SELECT * FROM {table}))"
        ).fetchall()[0][0]


def _column_order(path: Path, table: str) -> list[str]:
    schema, name = table.split(".")
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position", [schema, name]).fetchall()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Warehouses `source` (raw only), `full` (one full build) and `daily` (incremental runs)."""
    tmp = tmp_path_factory.mktemp("incremental")
    env = {
        **os.environ,
        "AHW_LANDING_DIR": str(tmp / "landing"),
        "AHW_DUCKDB_PATH": str(tmp / "source.duckdb"),
        "AHW_DUCKDB_TEMP_DIRECTORY": str(tmp / "duckdb_tmp"),
        "DBT_TARGET": "dev",
        "AHW_PII_SALT": "incremental-test",
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    _run([sys.executable, "-m", "dagster_project.simulate", "--accounts", "40", "--months", "5",
          "--seed", "11", "--end-date", END_DATE.isoformat(), "--out", str(tmp / "landing")], env)
    _run([sys.executable, "-m", "dagster_project.landing"], env)
    source, full, daily = tmp / "source.duckdb", tmp / "full.duckdb", tmp / "daily.duckdb"

    _copy_raw(source, full)
    _dbt(env, full, "--full-refresh")

    _copy_raw(source, daily, events_before=FIRST_REFRESH)
    _dbt(env, daily, "--full-refresh")
    # Two daily runs as Dagster launches them (the partition's day as refresh_start_date), then
    # one without the var (the newest day already built is the reference).
    _land_events(source, daily, FIRST_REFRESH, dt.date(2026, 11, 17))
    _dbt(env, daily, refresh_start=dt.date(2026, 11, 17))
    _land_events(source, daily, dt.date(2026, 11, 18), dt.date(2026, 11, 20))
    _dbt(env, daily, refresh_start=dt.date(2026, 11, 18))
    _land_events(source, daily, dt.date(2026, 11, 21), END_DATE)
    _dbt(env, daily)
    return {"source": source, "full": full, "daily": daily, "env": env}  # type: ignore[dict-item]


@pytest.mark.parametrize("table", sorted(INCREMENTAL_MODELS))
def test_incremental_runs_give_the_same_table_as_a_full_build(built, table):
    full, daily = built["full"], built["daily"]
    with duckdb.connect(str(full), read_only=True) as con:
        rows, newest = con.execute(
            f"SELECT count(*), max({'occurred_at' if 'events' in table else 'activity_date' if 'activity' in table else 'usage_date'}) "
            f"FROM {table}").fetchall()[0]
    assert rows > 0 and newest.isoformat()[:10] == END_DATE.isoformat(), (table, rows, newest)
    assert _differences(full, daily, table) == 0, f"{table}: the incremental runs and the full build differ"


def test_incremental_tables_are_keyed_like_the_full_build(built):
    """No day was inserted twice: the keys stay unique after the incremental runs."""
    with duckdb.connect(str(built["daily"]), read_only=True) as con:
        for table, key in INCREMENTAL_MODELS.items():
            dupes = con.execute(
                f"SELECT count(*) FROM (SELECT {', '.join(key)} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchall()[0][0]
            assert dupes == 0, f"{table}: {dupes} duplicated keys {key}"

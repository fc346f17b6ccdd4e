"""Point-in-time correctness of the dbt feature snapshots (no leakage from the future).

Simulate a small company, load it and build the features; then delete or roll back every raw
row and field stamped after a mid-history `as_of_date` (as if the pipeline had run that night),
rebuild into a second DuckDB file, and require the features of that `as_of_date` to be
identical in both warehouses. Any feature that peeks past its snapshot date makes them differ.
The truncated copy also stores every raw table in a shuffled row order, so a result that depends
on the order rows arrive in (a tie broken by position) makes them differ too. The same holds for
the training rows: every row labelled in the truncated warehouse carries the same label and
features with the full history, and every label whose window passes the cut is NULL.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.core.settings import DBT_PROJECT_DIR, REPO_ROOT

pytest.importorskip("dagster_project.simulate", reason="the simulator is needed to generate a company")

END_DATE = dt.date(2026, 11, 22)  # a Sunday; the simulation ends here
MONTHS = 8
AS_OF_DATE = dt.date(2026, 8, 2)  # a Sunday ~5.5 months in: every 90-day window is fully observed

# Raw rows that did not exist yet at the end of AS_OF_DATE (timestamp >= cutoff): deleted.
NEW_ROWS = {
    "accounts": "created_at",
    "users": "created_at",
    "events": "occurred_at",
    "subscriptions": "valid_from",
    "invoices": "issued_at",
    "tickets": "created_at",
    "nps_responses": "responded_at",
    "cs_activities": "created_at",
}
# Fields of surviving rows that were filled in later: rolled back to what was known at the cutoff.
LATER_UPDATES = [
    "UPDATE raw.users SET deactivated_at = NULL WHERE deactivated_at >= $cutoff",
    "UPDATE raw.subscriptions SET valid_to = NULL WHERE valid_to >= $cutoff",
    "UPDATE raw.subscriptions SET canceled_at = NULL WHERE canceled_at >= $cutoff",
    "UPDATE raw.invoices SET paid_at = NULL, amount_paid = NULL, status = 'open' WHERE paid_at >= $cutoff",
    "UPDATE raw.tickets SET first_response_at = NULL WHERE first_response_at >= $cutoff",
    "UPDATE raw.tickets SET solved_at = NULL, satisfaction = NULL, status = 'open' WHERE solved_at >= $cutoff",
    "UPDATE raw.cs_activities SET completed_at = NULL, outcome = NULL, feedback = NULL, feedback_reason = NULL "
    "WHERE completed_at >= $cutoff",
]
# Differs by construction: the truncated warehouse's newest date is AS_OF_DATE itself.
NOT_COMPARED = ["is_current_snapshot"]


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )


def _dbt_build(env: dict[str, str]) -> None:
    """Build the ML input marts and their upstream models (data tests are left to the full-build test)."""
    _run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--select",
            "+ml_account_snapshots",
            "+fct_account_event_name_features_weekly",
            "--exclude-resource-type",
            "test",
            "unit_test",
            "--quiet",
        ],
        env,
    )


def _features(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        df = con.execute(
            "SELECT * FROM marts.fct_account_features_weekly WHERE as_of_date = ? ORDER BY account_id",
            [AS_OF_DATE],
        ).df()
    return df.drop(columns=NOT_COMPARED).reset_index(drop=True)


def _truncate_raw(full: Path, truncated: Path) -> dict[str, int]:
    """Copy the raw schema of `full` into `truncated` as it was at the end of AS_OF_DATE.

    Returns how many rows of each table were dropped, to prove the cut removed something.
    """
    cutoff = dt.datetime.combine(AS_OF_DATE + dt.timedelta(days=1), dt.time())
    dropped = {}
    with duckdb.connect(str(truncated)) as con:
        con.execute(f"ATTACH '{full}' AS full_db (READ_ONLY)")
        con.execute("CREATE SCHEMA raw")
        con.execute("SELECT setseed(0.42)")
        for table, column in NEW_ROWS.items():
            con.execute(
                f"CREATE TABLE raw.{table} AS SELECT * FROM full_db.raw.{table} WHERE NOT ({column} >= ?) "
                "ORDER BY random()",
                [cutoff],
            )
            before = con.execute(f"SELECT count(*) FROM full_db.raw.{table}").fetchone()[0]
            after = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
            dropped[table] = before - after
        for statement in LATER_UPDATES:
            con.execute(statement, {"cutoff": cutoff})
        con.execute("DETACH full_db")
    return dropped


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    """(full warehouse, warehouse truncated at AS_OF_DATE, rows dropped per table), both built."""
    tmp = tmp_path_factory.mktemp("point_in_time")
    landing = tmp / "landing"
    # dbt runs twice against the same path (so the second parse is partial); files are moved between runs.
    active = tmp / "warehouse.duckdb"
    full, truncated = tmp / "full.duckdb", tmp / "truncated.duckdb"
    env = {
        **os.environ,
        "AHW_LANDING_DIR": str(landing),
        "AHW_DUCKDB_PATH": str(active),
        "DBT_TARGET": "dev",
        "AHW_PII_SALT": "point-in-time-test",
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    _run(
        [
            sys.executable,
            "-m",
            "dagster_project.simulate",
            "--accounts",
            "60",
            "--months",
            str(MONTHS),
            "--seed",
            "7",
            "--end-date",
            END_DATE.isoformat(),
            "--out",
            str(landing),
        ],
        env,
    )
    _run([sys.executable, "-m", "dagster_project.cli", "load"], env)
    _dbt_build(env)
    shutil.move(active, full)

    dropped = _truncate_raw(full, active)
    _dbt_build(env)
    shutil.move(active, truncated)
    return full, truncated, dropped


def test_truncation_removed_the_future(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """Guard the guard: the cut must remove rows and end the truncated history on AS_OF_DATE."""
    _, truncated, dropped = warehouses
    assert dropped["events"] > 0 and dropped["tickets"] > 0 and dropped["invoices"] > 0, dropped
    with duckdb.connect(str(truncated), read_only=True) as con:
        end = con.execute("SELECT observation_end_date FROM intermediate.int_observation_period").fetchone()[0]
    assert end == AS_OF_DATE


def test_features_do_not_depend_on_later_data(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """Every feature of every account at AS_OF_DATE is the same with and without later data."""
    full, truncated, _ = warehouses
    with_future, without_future = _features(full), _features(truncated)
    assert len(with_future) >= 30, "too few accounts at AS_OF_DATE for a meaningful comparison"
    assert with_future["account_id"].tolist() == without_future["account_id"].tolist(), (
        "the set of accounts in the grid at AS_OF_DATE depends on later data"
    )
    for column in with_future.columns:
        pd.testing.assert_series_equal(
            with_future[column],
            without_future[column],
            check_exact=False,
            rtol=1e-9,
            obj=f"fct_account_features_weekly.{column} at {AS_OF_DATE}",
        )


def _event_name_features(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT * FROM marts.fct_account_event_name_features_weekly WHERE as_of_date = ? "
            "ORDER BY account_id, event_name_slug",
            [AS_OF_DATE],
        ).df()


def _vocabulary(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT * FROM intermediate.int_event_name_vocabulary ORDER BY vocabulary_rank").df()


def test_event_name_vocabulary_does_not_depend_on_later_data(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """The names that get features are chosen from the warm-up period, before every snapshot."""
    full, truncated, _ = warehouses
    chosen = _vocabulary(full)
    assert len(chosen) >= 5, "too few event names chosen for a meaningful comparison"
    pd.testing.assert_frame_equal(chosen, _vocabulary(truncated), obj="int_event_name_vocabulary")


def test_event_name_features_do_not_depend_on_later_data(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """Every per-event-name count and trend at AS_OF_DATE is the same with and without later data."""
    full, truncated, _ = warehouses
    with_future, without_future = _event_name_features(full), _event_name_features(truncated)
    assert len(with_future) >= 100 and with_future["event_name_slug"].nunique() >= 5, "too few rows to compare"
    pd.testing.assert_frame_equal(
        with_future,
        without_future,
        check_exact=False,
        rtol=1e-9,
        obj=f"fct_account_event_name_features_weekly at {AS_OF_DATE}",
    )


def test_event_name_counts_agree_with_the_role_counts(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """The login role is one event name in the simulator: its per-name count is logins_30d, row by row."""
    full, _, _ = warehouses
    with duckdb.connect(str(full), read_only=True) as con:
        rows = con.execute(
            """
            SELECT f.logins_30d, coalesce(e.count_30d, 0) AS sessions_30d
            FROM marts.fct_account_features_weekly AS f
            LEFT JOIN marts.fct_account_event_name_features_weekly AS e
                ON f.account_id = e.account_id AND f.as_of_date = e.as_of_date
                AND e.event_name = 'session_started'
            """
        ).df()
    assert len(rows) > 0 and rows["logins_30d"].sum() > 0
    assert (rows["logins_30d"] == rows["sessions_30d"]).all()


LABELS = ["churned_within_90d", "expanded_within_90d"]
HORIZON = dt.timedelta(days=90)


def _snapshots(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        df = con.execute("SELECT * FROM marts.ml_account_snapshots ORDER BY as_of_date, account_id").df()
    return df.drop(columns=[c for c in NOT_COMPARED if c in df.columns])


def test_training_rows_do_not_depend_on_later_data(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """A model trained on the night of AS_OF_DATE sees the same labelled rows it would see later."""
    full, truncated, _ = warehouses
    cut = _snapshots(truncated)
    labelled = cut[cut["churned_within_90d"].notna()]
    # Two labelled weeks of 60 accounts: enough to hold both classes of both labels.
    assert len(labelled) >= 50 and all(labelled[label].sum() > 0 for label in LABELS), "too few labelled rows"
    later = _snapshots(full).merge(labelled[["account_id", "as_of_date"]], on=["account_id", "as_of_date"])
    assert len(later) == len(labelled), "labelled rows of the cut are missing once later data exists"
    # When an account churns after the cut is not known at the cut (and is not a label of these rows).
    compared = [c for c in labelled.columns if c not in {"churn_date", "days_until_churn"}]
    pd.testing.assert_frame_equal(
        labelled[compared].reset_index(drop=True),
        later[compared].reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
        obj="labelled ml_account_snapshots rows",
    )


def test_labels_are_null_inside_the_censoring_window(warehouses: tuple[Path, Path, dict[str, int]]) -> None:
    """With history up to AS_OF_DATE, no label whose 90-day window passes AS_OF_DATE is known."""
    _, truncated, _ = warehouses
    cut = _snapshots(truncated)
    inside = cut[pd.to_datetime(cut["as_of_date"]) > pd.Timestamp(AS_OF_DATE - HORIZON)]
    assert len(inside) > 0
    for label in LABELS:
        assert inside[label].isna().all(), f"{label} is known inside the censoring window"
        outside = cut.loc[~cut.index.isin(inside.index), label]
        assert outside.notna().any(), f"{label} is never known: the check above would pass vacuously"

"""stg_cs__activities builds, with its data and unit tests, whether or not the company brings cs_activities.

A tiny warehouse is loaded from landing files written here, through ingestion and quarantine (what the
ingest assets do); then dbt builds the accounts and the CS activities staging models with their tests.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.core.contract import TABLES
from dagster_project.core.settings import DBT_PROJECT_DIR, REPO_ROOT
from dagster_project.ingest.landing import load_table
from dagster_project.quality.quarantine import quarantine_order, quarantine_table
from dagster_project.quality.sla import load_sla

NOW = dt.datetime(2026, 11, 1, 5, 0)
MODEL = "stg_cs__activities"


def _write(landing: Path, table: str, df: pd.DataFrame) -> None:
    (landing / table).mkdir(parents=True, exist_ok=True)
    df.to_parquet(landing / table / "part-0.parquet", index=False)


def _build(tmp: Path, landing: Path) -> Path:
    """Load every contract table (absent optional ones become empty), then `dbt build` the model."""
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for name in quarantine_order():
            load_table(con, TABLES[name], landing)
            quarantine_table(con, TABLES[name], load_sla(), NOW)
    env = {
        **os.environ,
        "AHW_DUCKDB_PATH": str(warehouse),
        "AHW_DUCKDB_TEMP_DIRECTORY": str(tmp / "duckdb_tmp"),
        "DBT_TARGET": "dev",
        "AHW_PII_SALT": "cs-activities-test",
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
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
        "stg_product__accounts",
        MODEL,
        "--indirect-selection",
        "cautious",
        "--warn-error",
        "--quiet",
    ]
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return warehouse


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["a1", "a2"], "created_at": pd.to_datetime(["2025-01-01", "2025-02-01"])})


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ["e1"],
            "account_id": ["a1"],
            "event_name": ["login"],
            "occurred_at": pd.to_datetime(["2026-10-31 10:00"]),
        }
    )


def test_builds_empty_when_the_company_does_not_bring_cs_activities(tmp_path):
    landing = tmp_path / "landing"
    _write(landing, "accounts", _accounts())
    _write(landing, "events", _events())
    warehouse = _build(tmp_path, landing)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM staging.{MODEL}").fetchone()[0] == 0
        columns = [r[0] for r in con.execute(f"DESCRIBE staging.{MODEL}").fetchall()]
    assert "response_hours" in columns and "alert_id" in columns


def test_stages_landed_activities_after_quarantine(tmp_path):
    landing = tmp_path / "landing"
    _write(landing, "accounts", _accounts())
    _write(landing, "events", _events())
    created = pd.to_datetime(["2026-10-01 08:00", "2026-10-01 08:00", "2026-10-02 09:00", "2026-10-02 09:00"])
    _write(
        landing,
        "cs_activities",
        pd.DataFrame(
            {
                "activity_id": ["c1", "c2", "c3", "c4"],
                "account_id": ["a1", "a1", "a2", "zz"],  # zz: an unknown account, quarantined
                "playbook": [" CS outreach ", "in-app nudge", "CS outreach", "CS outreach"],
                "created_at": created,
                "alert_id": ["al1", None, None, None],
                # c2 completed before it was created: the value is set to NULL, the row kept
                "completed_at": pd.to_datetime(["2026-10-02 14:30", "2026-09-30 08:00", None, None]),
                "outcome": ["completed", "done", None, None],  # 'done' is no contract value: NULL
            }
        ),
    )
    warehouse = _build(tmp_path, landing)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"SELECT activity_id, playbook, alert_id, outcome, completed_at, response_hours "
            f"FROM staging.{MODEL} ORDER BY activity_id"
        ).fetchall()
    assert rows == [
        ("c1", "CS outreach", "al1", "completed", dt.datetime(2026, 10, 2, 14, 30), 30.5),
        ("c2", "in-app nudge", None, None, None, None),
        ("c3", "CS outreach", None, None, None, None),
    ]

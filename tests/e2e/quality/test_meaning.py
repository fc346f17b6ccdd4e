"""Quality rules protect what the data means, not only its rows.

An unusable value in an optional, descriptive column (a billing interval that does not parse) keeps
its row: nothing is quarantined and no churn date or label moves. The same rows taken out of raw,
as a quarantine would, move churn dates: the comparison can fail. Built with dbt on the small
simulated company of the quality tests, one warehouse per case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.core.settings import DBT_PROJECT_DIR, REPO_ROOT
from dagster_project.simulate.faults import inject_faults
from tests.e2e.compare import table_differences
from tests.e2e.quality.conftest import copy_landing, load_all, use_warehouse

COMPARED = ["intermediate.int_account_churn_dates", "marts.fct_account_labels_weekly"]


def _dbt_run(db: Path, tmp: Path) -> None:
    """Build the churn dates and labels (and what they read) into `db`. dbt always builds at one path
    (`tmp/warehouse.duckdb`, so its partial parse carries over); the file is moved there and back."""
    active = tmp / "warehouse.duckdb"
    shutil.move(db, active)
    env = {
        **os.environ,
        "AHW_DUCKDB_PATH": str(active),
        "DBT_TARGET": "dev",
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [
        sys.executable, "-m", "dbt.cli.main", "run", "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR), "--select", "+int_account_churn_dates +fct_account_labels_weekly",
        "--quiet",
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    shutil.move(active, db)
    assert result.returncode == 0, f"dbt run failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


def _load(monkeypatch, root: Path, landing: Path, db: Path):
    use_warehouse(monkeypatch, root, landing)
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(db))
    return load_all()


@pytest.fixture(scope="module")
def warehouses(clean_landing, tmp_path_factory):
    """(clean, with unparseable intervals, with those rows removed), each built; and the fault report."""
    tmp = tmp_path_factory.mktemp("meaning")
    with pytest.MonkeyPatch.context() as mp:
        clean = tmp / "clean.duckdb"
        loads = _load(mp, tmp / "data", copy_landing(clean_landing, tmp / "clean_landing"), clean)
        assert all(r.quarantined_rows == 0 and not r.nulled for r in loads.values())

        faulted = tmp / "faulted.duckdb"
        landing = copy_landing(clean_landing, tmp / "faulted_landing")
        report = inject_faults(landing, ["bad_billing_interval"], seed=4, rate=0.3)
        faulted_loads = _load(mp, tmp / "data", landing, faulted)

        removed = tmp / "removed.duckdb"
        shutil.copy(faulted, removed)
        with duckdb.connect(str(removed)) as con:  # what quarantining those rows would have done
            con.execute(
                "DELETE FROM raw.subscriptions WHERE subscription_id IN "
                "(SELECT row_key FROM quarantine.nulled_values WHERE table_name = 'subscriptions')"
            )
        for db in (clean, faulted, removed):
            _dbt_run(db, tmp)
    return {"clean": clean, "faulted": faulted, "removed": removed, "report": report, "loads": faulted_loads}


def test_unknown_optional_values_quarantine_nothing_and_are_counted(warehouses):
    n = warehouses["report"]["bad_billing_interval"]["rows"]
    subs = warehouses["loads"]["subscriptions"]
    assert n > 50
    assert subs.quarantined_rows == 0 and subs.raw_rows == subs.landed_rows
    assert subs.nulled == {("unparseable_value", "billing_interval"): n}
    with duckdb.connect(str(warehouses["faulted"]), read_only=True) as con:
        nulled = con.execute(
            "SELECT count(*) FROM staging.stg_billing__subscriptions WHERE billing_interval IS NULL"
        ).fetchone()[0]
    assert nulled == n


@pytest.mark.parametrize("table", COMPARED)
def test_unknown_optional_values_change_no_churn_date_or_label(warehouses, table):
    assert table_differences(warehouses["clean"], warehouses["faulted"], table) == 0


def test_removing_those_rows_would_have_moved_churn_dates(warehouses):
    """The guard above can fail: the rows a quarantine would have taken out carry the history."""
    assert table_differences(warehouses["clean"], warehouses["removed"], "intermediate.int_account_churn_dates") > 0

"""A clean first screen: a process that loads, checks (Great Expectations on DuckDB) and exits
prints no "nanobind: leaked ..." lines. Those appear when DuckDB objects outlive the interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

# ingest accounts and events, then run their blocking GX checks, in a process of its own
SCRIPT = """
import dagster as dg
from dagster_project.defs.ingest.assets import raw_table_assets
from dagster_project.defs.quality.checks import raw_accounts_quality, raw_data_quality
result = dg.materialize([*raw_table_assets, raw_accounts_quality, raw_data_quality],
                        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                        tags={"ahw/full_refresh": "true"}, partition_key="2026-11-20")
checks = result.get_asset_check_evaluations()
assert result.success and checks, "the load or its checks failed"
print(f"{len(checks)} checks")
"""


def test_a_process_that_ran_gx_checks_on_duckdb_exits_without_leak_reports(tmp_path: Path):
    landing = tmp_path / "landing"
    for table in ("accounts", "events"):
        (landing / table).mkdir(parents=True)
    pd.DataFrame({"account_id": ["a1", "a2"], "created_at": pd.to_datetime(["2026-01-01", "2026-02-01"])}).to_parquet(
        landing / "accounts" / "accounts.parquet"
    )
    pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "account_id": ["a1", "a2", "a1"],
            "event_name": "login",
            "occurred_at": pd.to_datetime(["2026-11-18 09:00", "2026-11-19 10:00", "2026-11-20 11:00"]),
        }
    ).to_parquet(landing / "events" / "events.parquet")
    env = {
        **os.environ,
        "AHW_DATA_DIR": str(tmp_path),
        "AHW_LANDING_DIR": str(landing),
        "AHW_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "AHW_NOW": "2026-11-21T05:00:00",
        "AHW_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
        "AHW_GX_RESULTS_DIR": str(tmp_path / "gx"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "checks" in done.stdout
    leaks = [line for line in done.stderr.splitlines() if "leaked" in line or "nanobind" in line]
    assert not leaks, "DuckDB objects outlived the interpreter:\n" + "\n".join(leaks[:10])

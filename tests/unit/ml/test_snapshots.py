"""Reading the ML input: rows come in grain order whatever order DuckDB stored them in, so a retrain
on the same data sees the same frame."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from dagster_project.ml.snapshots import read_snapshots


def test_snapshots_are_read_in_account_and_date_order(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(warehouse))
    rows = pd.DataFrame(
        {
            "account_id": ["b", "a", "b", "a", "c"],
            "as_of_date": pd.to_datetime(["2026-01-11", "2026-01-18", "2026-01-04", "2026-01-04", "2026-01-04"]),
            "logins_30d": [3, 1, 4, 1, 5],
        }
    )
    with duckdb.connect(str(warehouse)) as con:
        con.register("rows", rows)
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.ml_account_snapshots AS SELECT * FROM rows")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.x.ml_account_snapshots": {
                        "resource_type": "model",
                        "columns": {"logins_30d": {"meta": {"feature_family": "usage"}}},
                    }
                }
            }
        )
    )
    df, families = read_snapshots(manifest)
    assert list(zip(df["account_id"], df["as_of_date"].dt.strftime("%m-%d"))) == [
        ("a", "01-04"),
        ("a", "01-18"),
        ("b", "01-04"),
        ("b", "01-11"),
        ("c", "01-04"),
    ]
    assert families == {"logins_30d": "usage"}

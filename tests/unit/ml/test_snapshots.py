"""Reading the ML input: rows come in grain order whatever order DuckDB stored them in, so a retrain
on the same data sees the same frame."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from dagster_project.ml.snapshots import pivoted_features_from_manifest, read_snapshots


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


EVENT_SPEC_META = {
    "pivoted_features": {
        "key": "event_name_slug",
        "columns": {
            "count_30d": {"feature": "evt_{key}_count_30d", "feature_family": "event_name", "missing": 0},
            "trend_30d": {"feature": "evt_{key}_trend_30d", "feature_family": "event_name"},
        },
    }
}


def _manifest_with_event_names() -> dict:
    return {
        "nodes": {
            "model.x.ml_account_snapshots": {
                "resource_type": "model",
                "columns": {"logins_30d": {"config": {"meta": {"feature_family": "usage"}}}},
            },
            "model.x.fct_account_event_name_features_weekly": {
                "resource_type": "model",
                "name": "fct_account_event_name_features_weekly",
                "alias": "fct_account_event_name_features_weekly",
                "schema": "marts",
                "config": {"meta": EVENT_SPEC_META},
                "columns": {"count_30d": {}, "trend_30d": {}},
            },
        }
    }


def test_event_name_features_are_pivoted_with_stable_names_and_their_family(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(warehouse))
    snapshots = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "as_of_date": pd.to_datetime(["2026-01-04", "2026-01-11", "2026-01-04"]),
            "logins_30d": [1, 2, 3],
        }
    )
    long = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "z"],
            "as_of_date": pd.to_datetime(["2026-01-04", "2026-01-11", "2026-01-04", "2026-01-04"]),
            "event_name_slug": ["lead_won", "lead_won", "list_deleted", "lead_won"],
            "count_30d": [4, 0, 2, 9],
            "trend_30d": [2.0, 0.0, None, 1.0],
        }
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.register("snapshots", snapshots)
        con.register("long", long)
        con.execute("CREATE TABLE marts.ml_account_snapshots AS SELECT * FROM snapshots")
        con.execute("CREATE TABLE marts.fct_account_event_name_features_weekly AS SELECT * FROM long")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest_with_event_names()))

    df, families = read_snapshots(manifest)

    assert families == {
        "logins_30d": "usage",
        "evt_lead_won_count_30d": "event_name",
        "evt_lead_won_trend_30d": "event_name",
        "evt_list_deleted_count_30d": "event_name",
        "evt_list_deleted_trend_30d": "event_name",
    }
    assert len(df) == 3, "an account-date of the long table outside the snapshots must add no row"
    by_row = df.set_index(["account_id", df["as_of_date"].dt.strftime("%m-%d")])
    # a missing long row is 0 events and no trend; a present row keeps its values
    assert by_row.loc[("b", "01-04"), "evt_lead_won_count_30d"] == 0
    assert pd.isna(by_row.loc[("b", "01-04"), "evt_lead_won_trend_30d"])
    assert by_row.loc[("a", "01-04"), "evt_lead_won_count_30d"] == 4
    assert by_row.loc[("a", "01-04"), "evt_lead_won_trend_30d"] == 2.0
    assert by_row.loc[("b", "01-04"), "evt_list_deleted_count_30d"] == 2
    assert by_row.loc[("a", "01-11"), "evt_list_deleted_count_30d"] == 0


def test_a_missing_long_feature_table_is_a_clear_error(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(warehouse))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.ml_account_snapshots AS SELECT 'a' AS account_id, DATE '2026-01-04' AS as_of_date"
        )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest_with_event_names()))
    with pytest.raises(ValueError, match=r"marts\.fct_account_event_name_features_weekly does not exist"):
        read_snapshots(manifest)


def test_pivoted_features_are_found_in_the_project_manifest():
    """The real dbt project declares the event-name features, so the ML frame gets them."""
    from dagster_project.defs.transform.project import dbt_project

    specs = pivoted_features_from_manifest(json.loads(dbt_project.manifest_path.read_text()))
    event_names = [s for s in specs if s.table == "marts.fct_account_event_name_features_weekly"]
    assert len(event_names) == 1
    assert {(p.column, p.feature_template, p.family) for p in event_names[0].columns} == {
        ("count_30d", "evt_{key}_count_30d", "event_name"),
        ("trend_30d", "evt_{key}_trend_30d", "event_name"),
    }

"""Ingestion validates the raw contract and fails with errors that name table, file and column."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.core.contract import TABLES
from dagster_project.ingest.landing import ContractError, load_table


def _write(landing: Path, table: str, df: pd.DataFrame, name: str = "part-0.parquet") -> Path:
    folder = landing / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".csv"):
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {"account_id": ["a1", "a2"], "created_at": pd.to_datetime(["2025-01-01", "2025-02-01"]), "crm_tier": ["x", "y"]}
    )


@pytest.fixture()
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_loads_contract_columns_with_types_and_keeps_extras(con, tmp_path):
    _write(tmp_path, "accounts", _accounts())
    result = load_table(con, TABLES["accounts"], tmp_path)
    assert result.rows == 2
    assert result.extra_columns == ["crm_tier"]
    assert "industry" in result.missing_optional_columns
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema='raw' AND table_name='accounts'"
        ).fetchall()
    )
    assert types["created_at"] == "TIMESTAMP"
    assert types["employee_count"] == "INTEGER"
    assert types["crm_tier"] == "VARCHAR"


def test_csv_files_are_cast_to_contract_types(con, tmp_path):
    _write(tmp_path, "accounts", _accounts(), name="accounts.csv")
    load_table(con, TABLES["accounts"], tmp_path)
    assert con.execute("SELECT typeof(created_at) FROM raw.accounts LIMIT 1").fetchone()[0] == "TIMESTAMP"


def test_missing_required_column_names_table_file_and_column(con, tmp_path):
    path = _write(tmp_path, "accounts", _accounts().drop(columns=["created_at"]))
    with pytest.raises(ContractError) as err:
        load_table(con, TABLES["accounts"], tmp_path)
    message = str(err.value)
    assert "'accounts'" in message and str(path) in message and "'created_at'" in message


def test_unreadable_file_names_the_file(con, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    bad = folder / "broken.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(ContractError) as err:
        load_table(con, TABLES["events"], tmp_path)
    assert str(bad) in str(err.value) and "'events'" in str(err.value)


def test_unconvertible_value_names_the_table_and_types(con, tmp_path):
    df = _accounts().astype({"created_at": str})
    df.loc[0, "created_at"] = "not a date"
    _write(tmp_path, "accounts", df)
    with pytest.raises(ContractError, match="'accounts'.*does not convert"):
        load_table(con, TABLES["accounts"], tmp_path)


def test_mandatory_table_without_files_fails_and_optional_becomes_empty(con, tmp_path):
    with pytest.raises(ContractError, match="'events' is mandatory"):
        load_table(con, TABLES["events"], tmp_path)
    result = load_table(con, TABLES["tickets"], tmp_path)
    assert (result.rows, result.provided) == (0, False)
    cols = [r[0] for r in con.execute("DESCRIBE raw.tickets").fetchall()]
    assert cols == list(TABLES["tickets"].columns)


@pytest.mark.parametrize("table", [t.name for t in TABLES.values() if not t.mandatory])
def test_every_optional_table_not_brought_is_an_empty_typed_table(con, tmp_path, table):
    result = load_table(con, TABLES[table], tmp_path)
    assert (result.rows, result.provided, result.files) == (0, False, [])
    described = con.execute(f"DESCRIBE raw.{table}").fetchall()
    assert [(r[0], r[1]) for r in described] == list(TABLES[table].columns.items())


def test_cs_activities_from_csv_with_only_the_required_columns(con, tmp_path):
    activities = pd.DataFrame(
        {
            "activity_id": ["c1", "c2"],
            "account_id": ["a1", "a2"],
            "playbook": ["CS outreach", "in-app nudge"],
            "created_at": ["2026-10-01 08:00:00", "2026-10-02 09:30:00"],
            "crm_task_type": ["call", "email"],
        }
    )
    _write(tmp_path, "cs_activities", activities, name="export.csv")
    result = load_table(con, TABLES["cs_activities"], tmp_path)
    assert (result.rows, result.provided) == (2, True)
    assert result.missing_optional_columns == list(TABLES["cs_activities"].optional)
    assert result.extra_columns == ["crm_task_type"]
    row = con.execute(
        "SELECT typeof(created_at), typeof(completed_at), alert_id, outcome FROM raw.cs_activities "
        "WHERE activity_id = 'c2'"
    ).fetchone()
    assert row == ("TIMESTAMP", "TIMESTAMP", None, None)


def test_cs_activities_without_a_required_column_names_it(con, tmp_path):
    activities = pd.DataFrame({"activity_id": ["c1"], "account_id": ["a1"], "created_at": ["2026-10-01"]})
    path = _write(tmp_path, "cs_activities", activities)
    with pytest.raises(ContractError) as err:
        load_table(con, TABLES["cs_activities"], tmp_path)
    assert "'cs_activities'" in str(err.value) and "'playbook'" in str(err.value) and str(path) in str(err.value)

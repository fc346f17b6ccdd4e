"""The raw layer for Spark: each raw table as one Parquet folder, timestamps as UTC instants."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.ingest.spark_raw import PARQUET_FILE, export_raw_table


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.accounts AS SELECT * FROM (VALUES "
        "('a1', TIMESTAMP '2026-01-02 23:30:00', 'Acme'), ('a2', TIMESTAMP '2026-03-04 00:15:00', NULL)"
        ") AS t(account_id, created_at, account_name)"
    )
    return con


def test_the_folder_holds_the_rows_and_the_timestamps_are_utc_instants(con, tmp_path) -> None:
    folder = export_raw_table(con, "accounts", tmp_path)
    assert folder == tmp_path / "accounts"
    assert [p.name for p in folder.iterdir()] == [PARQUET_FILE]
    con.execute("SET TimeZone = 'America/New_York'")  # a reader elsewhere sees the same instant
    rows = con.execute(
        f"SELECT account_id, typeof(created_at), created_at AT TIME ZONE 'UTC', account_name "
        f"FROM read_parquet('{folder / PARQUET_FILE}') ORDER BY account_id"
    ).fetchall()
    assert [(r[0], r[1], str(r[2]), r[3]) for r in rows] == [
        ("a1", "TIMESTAMP WITH TIME ZONE", "2026-01-02 23:30:00", "Acme"),
        ("a2", "TIMESTAMP WITH TIME ZONE", "2026-03-04 00:15:00", None),
    ]


def test_a_new_export_replaces_the_folder_and_leaves_nothing_behind(con, tmp_path) -> None:
    export_raw_table(con, "accounts", tmp_path)
    con.execute("DELETE FROM raw.accounts WHERE account_id = 'a2'")
    folder = export_raw_table(con, "accounts", tmp_path)
    assert con.execute(f"SELECT count(*) FROM read_parquet('{folder}/*.parquet')").fetchall()[0][0] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["accounts"]


def test_a_table_that_was_never_loaded_names_the_fix(con, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"raw\.events.*load the landing files first"):
        export_raw_table(con, "events", tmp_path)
    assert not (tmp_path / "events").exists()

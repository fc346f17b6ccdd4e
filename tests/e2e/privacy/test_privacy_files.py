"""The privacy functions on small hand-made files and tables: cut-offs, rewrites, clear errors."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dagster_project.serve import privacy


@pytest.mark.parametrize(
    "moment, months, expected",
    [
        (dt.datetime(2026, 11, 23, 5), 13, dt.datetime(2025, 10, 23, 5)),
        (dt.datetime(2026, 3, 31), 1, dt.datetime(2026, 2, 28)),
        (dt.datetime(2026, 1, 15), 1, dt.datetime(2025, 12, 15)),
        (dt.datetime(2024, 12, 31), 10, dt.datetime(2024, 2, 29)),
    ],
)
def test_months_before(moment, months, expected):
    assert privacy.months_before(moment, months) == expected


def test_retention_of_zero_months_is_refused():
    with pytest.raises(ValueError, match="AHW_RETENTION_MONTHS must be at least 1"):
        privacy.months_before(dt.datetime(2026, 1, 1), 0)


def test_rewrite_keeps_csv_values_exactly_and_leaves_untouched_files_alone(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,account_id,occurred_at\ne1,a1,2026-01-01 00:00:00\ne2,a2,2026-01-02 10:00:00.500\ne3,a1,not a time\n"
    )
    con = duckdb.connect()
    assert privacy.rewrite_without(con, path, "account_id = 'nobody'") == 0
    assert privacy.rewrite_without(con, path, "account_id = 'a1'") == 2
    assert path.read_text().splitlines() == ["event_id,account_id,occurred_at", "e2,a2,2026-01-02 10:00:00.500"]
    assert [p.name for p in tmp_path.iterdir()] == ["events.csv"]


def test_erasing_an_unknown_account_fails_clearly(tmp_path):
    (tmp_path / "landing" / "accounts").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'acc_1' AS account_id) TO '{tmp_path}/landing/accounts/a.parquet'")
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.accounts AS SELECT 'acc_1' AS account_id")
    with pytest.raises(privacy.ErasureError, match="'acc_2' was found in no landing file"):
        privacy.erase_account(
            con, tmp_path / "landing", tmp_path / "published", "acc_2", "run", "salt", dt.datetime(2026, 1, 1)
        )
    with pytest.raises(privacy.ErasureError, match="needs an account_id"):
        privacy.erase_account(
            con, tmp_path / "landing", tmp_path / "published", "  ", "run", "salt", dt.datetime(2026, 1, 1)
        )
    assert con.execute("SELECT count(*) FROM raw.accounts").fetchall() == [(1,)]


def test_spark_parquet_files_lose_the_account_and_keep_everything_else(tmp_path):
    # Spark's layout: a raw folder, a day-partitioned dbt table, a table without accounts, and the
    # local catalog, which is never touched.
    con = duckdb.connect()
    raw = tmp_path / "raw" / "accounts"
    day = tmp_path / "warehouse" / "intermediate.db" / "int_account_daily_activity" / "activity_date=2026-11-20"
    plans = tmp_path / "warehouse" / "staging.db" / "stg_billing__plans"
    catalog = tmp_path / "warehouse" / "metastore_db"
    for folder in (raw, day, plans, catalog):
        folder.mkdir(parents=True)
    con.execute(f"COPY (SELECT 'acc_' || range AS account_id FROM range(5)) TO '{raw}/part-0.parquet'")
    con.execute(
        f"COPY (SELECT 'acc_' || (range % 3) AS account_id, range AS events FROM range(9)) "
        f"TO '{day}/part-0.snappy.parquet'"
    )
    con.execute(f"COPY (SELECT 'basic' AS plan) TO '{plans}/part-0.parquet'")
    con.execute(f"COPY (SELECT 'acc_1' AS account_id) TO '{catalog}/not-a-table.parquet'")

    counts = privacy.rewrite_parquet_without(
        con, [tmp_path / "raw", tmp_path / "warehouse"], privacy._is_account("acc_1")
    )

    assert counts == {
        "spark/raw/accounts/part-0.parquet": 1,
        "spark/warehouse/intermediate.db/int_account_daily_activity/activity_date=2026-11-20/part-0.snappy.parquet": 3,
    }

    def ids(path):
        return sorted(r[0] for r in con.execute(f"SELECT account_id FROM read_parquet('{path}')").fetchall())

    assert ids(raw / "part-0.parquet") == ["acc_0", "acc_2", "acc_3", "acc_4"]
    assert ids(day / "part-0.snappy.parquet") == ["acc_0"] * 3 + ["acc_2"] * 3
    assert ids(catalog / "not-a-table.parquet") == ["acc_1"]
    assert sorted(p.name for p in day.iterdir()) == ["part-0.snappy.parquet"]  # no temporary file left

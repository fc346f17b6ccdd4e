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

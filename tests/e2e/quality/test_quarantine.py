"""Quarantine moves exactly the invalid rows, files each under one reason, and loses nothing."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dagster_project.core.contract import TABLES
from dagster_project.quality.quarantine import quarantine_table
from dagster_project.quality.sla import load_sla

NOW = dt.datetime(2026, 11, 1, 5, 0)


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA raw")
    c.execute("CREATE TABLE raw.accounts (account_id VARCHAR, created_at TIMESTAMP)")
    c.execute("INSERT INTO raw.accounts VALUES ('a1', '2025-01-01'), ('a2', '2025-01-01'), (NULL, '2025-01-01')")
    yield c
    c.close()


def test_accounts_quarantine_null_keys_and_future_creation(con):
    con.execute("INSERT INTO raw.accounts VALUES ('a3', '2027-01-01')")
    result = quarantine_table(con, TABLES["accounts"], load_sla(), NOW)
    assert result.by_reason == {("null_critical_field", "account_id"): 1, ("future_timestamp", "created_at"): 1}
    assert con.execute("SELECT count(*) FROM raw.accounts").fetchone()[0] == 2


def test_events_rules_reasons_and_reconciliation(con):
    quarantine_table(con, TABLES["accounts"], load_sla(), NOW)
    con.execute(
        "CREATE TABLE raw.events (event_id VARCHAR, account_id VARCHAR, event_name VARCHAR, "
        "occurred_at TIMESTAMP, user_id VARCHAR, feature VARCHAR, received_at TIMESTAMP, properties VARCHAR)"
    )
    con.execute("""INSERT INTO raw.events VALUES
        ('e1', 'a1', 'login', '2026-10-30 10:00', NULL, NULL, NULL, NULL),   -- valid
        ('e1', 'a1', 'login', '2026-10-30 10:00', NULL, NULL, NULL, NULL),   -- duplicate: stays in raw
        ('e2', 'zz', 'login', '2026-10-30 10:00', NULL, NULL, NULL, NULL),   -- orphan
        ('e3', 'a2', 'login', '2026-11-02 10:00', NULL, NULL, NULL, NULL),   -- future
        ('e4', NULL, 'login', '2026-10-30 10:00', NULL, NULL, NULL, NULL),   -- null critical field
        ('e5', 'zz', 'login', '2026-12-01 10:00', NULL, NULL, NULL, NULL)    -- orphan and future: filed once
    """)
    result = quarantine_table(con, TABLES["events"], load_sla(), NOW)
    assert result.landed_rows == 6
    assert result.raw_rows == 2
    assert result.quarantined_rows == 4
    assert result.by_reason == {
        ("unknown_account", "account_id"): 2,
        ("future_timestamp", "occurred_at"): 1,
        ("null_critical_field", "account_id"): 1,
    }
    rows = con.execute(
        "SELECT event_id, quarantine_reason, quarantined_at FROM quarantine.events ORDER BY 1"
    ).fetchall()
    assert [r[:2] for r in rows] == [
        ("e2", "unknown_account"),
        ("e3", "future_timestamp"),
        ("e4", "null_critical_field"),
        ("e5", "unknown_account"),
    ]
    assert all(r[2] == NOW for r in rows)
    # a reload replaces the quarantine like it replaces raw
    result = quarantine_table(con, TABLES["events"], load_sla(), NOW)
    assert result.quarantined_rows == 0
    assert con.execute("SELECT count(*) FROM quarantine.events").fetchone()[0] == 0


def test_amounts_nps_and_enums(con):
    con.execute(
        "CREATE TABLE raw.nps_responses (response_id VARCHAR, account_id VARCHAR, score INTEGER, "
        "responded_at TIMESTAMP, user_id VARCHAR, comment VARCHAR)"
    )
    con.execute(
        "INSERT INTO raw.nps_responses VALUES ('r1','a1',10,'2026-10-01',NULL,NULL), "
        "('r2','a1',11,'2026-10-01',NULL,NULL), ('r3','a1',-1,'2026-10-01',NULL,NULL)"
    )
    assert quarantine_table(con, TABLES["nps_responses"], load_sla(), NOW).by_reason == {("out_of_range", "score"): 2}

    cols = ", ".join(f"{c} {t}" for c, t in TABLES["invoices"].columns.items())
    con.execute(f"CREATE TABLE raw.invoices ({cols})")
    con.execute(
        "INSERT INTO raw.invoices (invoice_id, account_id, amount_due, issued_at, status, amount_paid) VALUES "
        "('i1','a1',10,'2026-10-01','paid',10), ('i2','a1',-5,'2026-10-01','paid',NULL), "
        "('i3','a1',-0.0,'2026-10-01','paid',NULL), ('i4','a1',5,'2026-10-01','Paid',5), "
        "('i5','a1',5,'2026-10-01',NULL,NULL), ('i6','a1',5,'2026-10-01','open',-2)"
    )
    result = quarantine_table(con, TABLES["invoices"], load_sla(), NOW)
    # -0.0 is not negative; a negative amount due (required) quarantines the row; an unknown status
    # and a negative amount paid (optional) become NULL and the rows stay; a missing status is fine
    assert result.by_reason == {("negative_amount", "amount_due"): 1}
    assert result.nulled == {("unknown_enum_value", "status"): 1, ("negative_amount", "amount_paid"): 1}
    assert result.raw_rows == 5 and result.quarantined_rows == 1
    kept = con.execute("SELECT invoice_id, status, amount_paid FROM raw.invoices ORDER BY 1").fetchall()
    assert kept == [
        ("i1", "paid", 10.0),
        ("i3", "paid", None),
        ("i4", None, 5.0),
        ("i5", None, None),
        ("i6", "open", None),
    ]
    nulled = con.execute(
        "SELECT table_name, row_key, column_name, original_value, reason, nulled_at "
        "FROM quarantine.nulled_values ORDER BY row_key"
    ).fetchall()
    assert nulled == [
        ("invoices", "i4", "status", "Paid", "unknown_enum_value", NOW),
        ("invoices", "i6", "amount_paid", "-2.0", "negative_amount", NOW),
    ]
    # a reload replaces the table's nulled values like its quarantine
    con.execute("UPDATE raw.invoices SET status = 'void' WHERE invoice_id = 'i4'")
    assert quarantine_table(con, TABLES["invoices"], load_sla(), NOW).nulled == {}
    assert con.execute("SELECT count(*) FROM quarantine.nulled_values").fetchone()[0] == 0


def _subscriptions(con, rows):
    cols = ", ".join(f"{c} {t}" for c, t in TABLES["subscriptions"].columns.items())
    con.execute(f"CREATE OR REPLACE TABLE raw.subscriptions ({cols})")
    con.executemany(
        "INSERT INTO raw.subscriptions (subscription_id, account_id, status, mrr, valid_from, billing_interval) "
        "VALUES (?, 'a1', ?, 100, '2026-01-01', ?)",
        rows,
    )


@pytest.mark.parametrize(
    "interval",
    [
        "month",
        "year",
        "6 months",
        " 6 Months ",
        "1 year",
        "2 weeks",
        "30 days",
        "annual",
        "monthly",
        "quarterly",
        "every 3 months",
        "12-month",
        "yearly",
        "week",
        "day",
        "annually",
        "quarter",
        "2 years",
    ],
)
def test_billing_intervals_in_the_contract_format_are_kept(con, interval):
    _subscriptions(con, [("s1", "active", interval)])
    result = quarantine_table(con, TABLES["subscriptions"], load_sla(), NOW)
    assert result.quarantined_rows == 0 and result.nulled == {}
    assert con.execute("SELECT billing_interval FROM raw.subscriptions").fetchone()[0] == interval


def test_an_unparseable_billing_interval_keeps_its_row_and_becomes_null(con):
    """The interval is optional and descriptive: its row is a state of the account's history."""
    _subscriptions(
        con,
        [("s1", "active", "month"), ("s2", "active", "whenever"), ("s3", "canceled", "0 months"), ("s4", "active", "")],
    )
    result = quarantine_table(con, TABLES["subscriptions"], load_sla(), NOW)
    assert result.quarantined_rows == 0 and result.raw_rows == 4
    assert result.nulled == {("unparseable_value", "billing_interval"): 3}
    assert con.execute("SELECT list(billing_interval ORDER BY subscription_id) FROM raw.subscriptions").fetchone()[
        0
    ] == ["month", None, None, None]
    assert con.execute(
        "SELECT list(original_value ORDER BY row_key) FROM quarantine.nulled_values WHERE table_name = 'subscriptions'"
    ).fetchone()[0] == ["whenever", "0 months", ""]


def test_an_unknown_required_status_quarantines_the_subscription_row(con):
    _subscriptions(con, [("s1", "active", "month"), ("s2", "Cancelled!!", "month")])
    result = quarantine_table(con, TABLES["subscriptions"], load_sla(), NOW)
    assert result.by_reason == {("unknown_enum_value", "status"): 1}
    assert result.nulled == {}

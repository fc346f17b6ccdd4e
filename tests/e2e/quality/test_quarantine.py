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
        "INSERT INTO raw.invoices (invoice_id, account_id, amount_due, issued_at, status) VALUES "
        "('i1','a1',10,'2026-10-01','paid'), ('i2','a1',-5,'2026-10-01','paid'), "
        "('i3','a1',-0.0,'2026-10-01','paid'), ('i4','a1',5,'2026-10-01','Paid'), ('i5','a1',5,'2026-10-01',NULL)"
    )
    result = quarantine_table(con, TABLES["invoices"], load_sla(), NOW)
    # -0.0 is not negative; an unknown status is quarantined; a missing optional status is fine
    assert result.by_reason == {("negative_amount", "amount_due"): 1, ("unknown_enum_value", "status"): 1}

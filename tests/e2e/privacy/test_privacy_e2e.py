"""Privacy end to end (SPEC section 7) on the marts and files of a real run of a small simulated company.

- no mart, in the warehouse or published, holds a PII value of the landing data;
- the erase_account job removes one account from everywhere and leaves every other row as it was;
- the retention job prunes old raw events and leaves newer ones as they were.

The module works on its own copy of one full_refresh run (see tests/e2e/finished_run.py).
"""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import sql_literal
from dagster_project.serve import privacy, publish
from tests.e2e.finished_run import SHARED_RUN, company_copy, run_job, use_company

pytestmark = SHARED_RUN

NON_TEXT_TYPES = (
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "DOUBLE",
    "FLOAT",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "DECIMAL",
)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    company = company_copy(tmp_path_factory, "privacy")
    with use_company(company):
        yield company


def _landing(company, table: str) -> str:
    return f"read_parquet('{company.landing / table}/*.parquet', union_by_name = true)"


def _load_pii(con: duckdb.DuckDBPyConnection, company) -> dict[str, int]:
    """Tables `pii_exact` (whole values) and `pii_part` (values that must not appear even inside a text)."""
    salt = get_settings().pii_salt
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE emails AS
        SELECT DISTINCT email FROM {_landing(company, "users")} WHERE email IS NOT NULL AND email <> ''
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE pii_exact AS
        SELECT email AS value, 'email' AS kind FROM emails
        UNION SELECT sha256('{salt}' || lower(trim(email))), 'email hash' FROM emails
        UNION SELECT DISTINCT subject, 'ticket subject' FROM {_landing(company, "tickets")} WHERE subject <> ''
        UNION SELECT DISTINCT comment, 'nps comment' FROM {_landing(company, "nps_responses")} WHERE comment <> ''
    """)
    # A user's name is the local part of the e-mail: first.last1 -> "First Last" (how tickets and comments sign).
    con.execute("CREATE OR REPLACE TEMP MACRO capitalized(s) AS upper(s[1]) || s[2:]")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE pii_part AS
        SELECT DISTINCT email AS value, 'email' AS kind FROM emails
        UNION
        SELECT DISTINCT capitalized(split_part(local, '.', 1)) || ' '
                        || capitalized(regexp_replace(split_part(local, '.', 2), '[0-9]+$', '')),
               'user name'
        FROM (SELECT split_part(email, '@', 1) AS local FROM emails) WHERE local LIKE '%.%'
    """)
    return dict(
        con.execute(
            "SELECT kind, count(*) FROM (SELECT kind FROM pii_exact UNION ALL SELECT kind FROM pii_part) GROUP BY 1"
        ).fetchall()
    )


def _collect_texts(con: duckdb.DuckDBPyConnection, relation: str, label: str) -> None:
    """Add the distinct values of every text column of `relation` to the temp table `texts`."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS texts (label VARCHAR, col VARCHAR, value VARCHAR)")
    columns = [
        c
        for c, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        if not dtype.startswith(NON_TEXT_TYPES)
    ]
    for c in columns:
        con.execute(
            f"INSERT INTO texts SELECT DISTINCT {sql_literal(label)}, {sql_literal(c)}, "
            f"CAST(x.{publish.quote_ident(c)} AS VARCHAR) FROM {relation} x"
        )


def _pii_hits(con: duckdb.DuckDBPyConnection) -> list[str]:
    """'label.column: kind' for every collected text column holding a PII value.

    The substring search runs once over the distinct values of all relations (the published copies
    repeat the warehouse's values), then the values found are traced back to their columns."""
    found = con.execute("""
        WITH distinct_values AS (SELECT DISTINCT value FROM texts WHERE value IS NOT NULL),
        pii_values AS (
            SELECT v.value, p.kind FROM distinct_values v JOIN pii_exact p ON v.value = p.value
            UNION
            SELECT v.value, p.kind FROM distinct_values v JOIN pii_part p ON contains(v.value, p.value)
        )
        SELECT DISTINCT t.label, t.col, p.kind FROM texts t JOIN pii_values p USING (value) ORDER BY ALL
    """).fetchall()
    return [f"{label}.{column}: {kind}" for label, column, kind in found]


def test_no_mart_holds_pii_in_the_warehouse_or_the_published_files(company):
    con = duckdb.connect()
    kinds = _load_pii(con, company)
    assert {"email", "email hash", "ticket subject", "nps comment", "user name"} <= set(kinds), kinds
    con.execute(f"ATTACH '{company.warehouse}' AS wh (READ_ONLY)")
    current = publish.current_dir(company.publish_dir)
    con.execute(f"ATTACH '{current / publish.DUCKDB_FILE}' AS pub (READ_ONLY)")

    # The scan finds PII where it is: raw holds it, so a leak into a mart could not go unnoticed.
    for table in ("raw.users", "raw.tickets", "raw.nps_responses", "staging.stg_product__users"):
        _collect_texts(con, f"wh.{table}", table)
    marts = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' AND table_schema = 'marts'"
        ).fetchall()
    ]
    assert "mart_account_health" in marts
    for name in marts:
        _collect_texts(con, f'wh.marts."{name}"', f"warehouse marts.{name}")
        _collect_texts(con, f'pub.marts."{name}"', f"published marts.{name}")
        _collect_texts(con, f"read_parquet('{current / publish.PARQUET_DIR / name}.parquet')", f"parquet {name}")
    hits = _pii_hits(con)
    assert {
        "raw.users.email: email",
        "raw.tickets.subject: ticket subject",
        "raw.tickets.subject: user name",
        "raw.nps_responses.comment: nps comment",
        "staging.stg_product__users.email_hash: email hash",
    } <= set(hits), hits
    assert [h for h in hits if not h.startswith(("raw.", "staging."))] == []


def _account_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, bool]:
    """Every table and view of `catalog` with an account_id column (the audit schema aside): is it a table?"""
    rows = con.execute(
        "SELECT t.table_schema, t.table_name, t.table_type = 'BASE TABLE' FROM information_schema.tables t "
        "JOIN information_schema.columns c USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_catalog = ? AND c.column_name = 'account_id' AND t.table_schema <> 'audit' ORDER BY 1, 2",
        [catalog],
    ).fetchall()
    return {f'{catalog}."{s}"."{t}"': is_table for s, t, is_table in rows}


def _split(con: duckdb.DuckDBPyConnection, relation: str, account_id: str) -> tuple[int, list]:
    """(rows of the account, [rows, hash sum] of every other row)."""
    mine = con.execute(
        f"SELECT count(*) FROM {relation} WHERE CAST(account_id AS VARCHAR) = ?", [account_id]
    ).fetchall()
    others = con.execute(
        f"SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR FROM {relation} x "
        "WHERE CAST(account_id AS VARCHAR) IS DISTINCT FROM ?",
        [account_id],
    ).fetchall()
    return mine[0][0], list(others[0])


def _everywhere(company, account_id: str) -> dict[str, tuple[int, list, bool]]:
    """Per table of every place data lives: the account's rows, a fingerprint of all other rows, and
    whether the rows are stored there (landing files, tables) rather than derived (views, Parquet copies)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{company.warehouse}' AS wh (READ_ONLY)")
    con.execute(f"ATTACH '{publish.current_dir(company.publish_dir) / publish.DUCKDB_FILE}' AS pub (READ_ONLY)")
    relations = {
        r: (r, stored) for r, stored in {**_account_relations(con, "wh"), **_account_relations(con, "pub")}.items()
    }
    for folder in sorted(p for p in company.landing.iterdir() if p.is_dir()):
        relations[f"landing {folder.name}"] = (f"read_parquet('{folder}/*.parquet', union_by_name = true)", True)
    for parquet in (publish.current_dir(company.publish_dir) / publish.PARQUET_DIR).iterdir():
        relations[f"parquet {parquet.stem}"] = (f"read_parquet('{parquet}')", False)
    out = {}
    for label, (relation, stored) in relations.items():
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        if "account_id" in columns:
            out[label] = (*_split(con, relation, account_id), stored)
    con.close()
    return out


def _busiest_scored_account(company) -> str:
    con = duckdb.connect(str(company.warehouse), read_only=True)
    try:
        return con.execute("""
            SELECT h.account_id FROM marts.mart_account_health h
            JOIN (SELECT account_id, count(*) AS n FROM raw.tickets GROUP BY 1) t USING (account_id)
            JOIN (SELECT DISTINCT account_id FROM raw.nps_responses) n USING (account_id)
            ORDER BY t.n DESC, h.account_id LIMIT 1
        """).fetchall()[0][0]
    finally:
        con.close()


def test_erase_account_removes_it_everywhere_and_nothing_else(company):
    account_id = _busiest_scored_account(company)
    before = _everywhere(company, account_id)
    # where the account was: landing files, raw, staging, intermediate, marts (dbt and Python), the
    # simulator's ground truth, the published file and Parquet
    present = {label for label, (mine, _, _) in before.items() if mine}
    for expected in [
        "landing accounts",
        "landing events",
        "landing tickets",
        "landing nps_responses",
        "landing _ground_truth",
        'wh."raw"."events"',
        'wh."staging"."stg_product__events"',
        'wh."marts"."ml_account_snapshots"',
        'wh."marts"."mart_account_health"',
        'wh."sim"."ground_truth_account_weeks"',
        'pub."marts"."mart_account_health"',
        "parquet mart_account_health",
    ]:
        assert expected in present, f"{expected} should hold {account_id} before the erasure"
    version_before = publish.read_manifest(company.publish_dir)["version"]

    result = run_job(
        "erase_account", run_config={"ops": {"erase_account_data": {"config": {"account_id": account_id}}}}
    )
    assert result.success

    after = _everywhere(company, account_id)
    assert set(after) == set(before)
    assert {label: mine for label, (mine, _, _) in after.items() if mine} == {}
    changed = [label for label in before if before[label][1] != after[label][1]]
    assert changed == []
    assert publish.read_manifest(company.publish_dir)["version"] != version_before

    # rows removed = the account's rows stored in landing files and tables (views and Parquet follow)
    expected_removed = sum(mine for mine, _, stored in before.values() if stored)
    output = result.output_for_node("erase_account_data")
    assert output == expected_removed

    con = duckdb.connect(str(company.warehouse), read_only=True)
    log = con.execute(
        f"SELECT account_hash, rows_removed, CAST(rows_by_location AS VARCHAR) FROM {privacy.ERASURE_LOG}"
    ).fetchall()
    con.close()
    salt = get_settings().pii_salt
    assert log == [(hashlib.sha256((salt + account_id).encode()).hexdigest(), expected_removed, log[0][2])]
    assert account_id not in log[0][2]

    # the same request again finds nothing and says so
    again = run_job("erase_account", run_config={"ops": {"erase_account_data": {"config": {"account_id": account_id}}}})
    assert not again.success
    failure = next(e for e in again.all_events if e.event_type_value == "STEP_FAILURE")
    assert "was found in no landing file" in str(failure.event_specific_data.error)


def _events_split(company, cutoff_sql: str) -> dict[str, tuple[int, list]]:
    """Per location: (events older than the cut-off, [rows, hash sum] of the newer ones)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{company.warehouse}' AS wh (READ_ONLY)")
    relations = {"raw": "wh.raw.events", "quarantine": "wh.quarantine.events", "landing": _landing(company, "events")}
    out = {}
    for label, relation in relations.items():
        old = con.execute(f"SELECT count(*) FROM {relation} WHERE occurred_at < {cutoff_sql}").fetchall()[0][0]
        newer = con.execute(
            f"SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR FROM {relation} x "
            f"WHERE NOT coalesce(occurred_at < {cutoff_sql}, false)"
        ).fetchall()[0]
        out[label] = (old, list(newer))
    con.close()
    return out


def test_retention_prunes_old_events_and_keeps_the_rest(company):
    cutoff = privacy.months_before(clock.now(), get_settings().retention_months)
    assert get_settings().retention_months == 13
    cutoff_sql = f"TIMESTAMP '{cutoff.isoformat(sep=' ')}'"
    before = _events_split(company, cutoff_sql)
    assert before["raw"][0] > 0 and before["landing"][0] > 0  # 16 months of data, 13 kept

    result = run_job("retention")
    assert result.success
    after = _events_split(company, cutoff_sql)
    assert {label: old for label, (old, _) in after.items()} == {"raw": 0, "quarantine": 0, "landing": 0}
    assert {label: newer for label, (_, newer) in after.items()} == {
        label: newer for label, (_, newer) in before.items()
    }
    removed = result.output_for_node("prune_old_events")
    assert removed == sum(old for old, _ in before.values())
    metadata = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT").event_specific_data.metadata
    assert metadata["cutoff"].value == cutoff.isoformat()
    assert metadata["raw_events_kept"].value == before["raw"][1][0]

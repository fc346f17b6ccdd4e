"""Quarantine: move rows that break a validity rule from `raw.<table>` to `quarantine.<table>`.

Runs right after each raw load (the ingest assets call `quarantine_table`). A quarantined row keeps
every column it arrived with, plus `quarantine_reason`, `quarantine_column` and `quarantined_at`.

Only a rule on a required column of the contract moves a row: a row without its key, its account,
its time or its amount means nothing. An unusable value in an optional, descriptive column (an
unknown ticket priority, a billing interval that does not parse, a negative amount paid, a CS
activity completed before it was created) keeps its row: the value becomes NULL in raw, and the
value as it arrived is recorded in `quarantine.nulled_values` (table, key, column, original value,
reason). Dropping the row instead would change what the row says about the account (a subscription
state missing from its history looks like the end of the subscription).
`quarantine.<table>` is replaced on every load, like `raw.<table>` (an incremental load of events
replaces both from its first day on), so per load:

    landed rows = raw rows + quarantined rows

Duplicate primary keys are not quarantined: they stay in raw and dbt staging removes them.

Every load also records its scope in `quarantine.load_scope` (one row per table: everything, or
the rows from a first day on). The data-quality checks measure exactly that scope, so a daily run
judges the days it reloaded, at the cost of those days, instead of diluting a bad delivery in the
whole history (`scoped_rows`).
The rules and their order (a row is filed under the first rule it breaks) come from the contract
and expectations/sla.yml; the same rules are the GX expectations of the raw suites.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from dagster_project.core.contract import LOAD_ORDER, RAW_SCHEMA, RawTable
from dagster_project.core.warehouse import sql_literal, table_exists, transaction
from dagster_project.ingest.landing import INCREMENTAL_COLUMNS
from dagster_project.quality.sla import Sla

QUARANTINE_SCHEMA = "quarantine"
LOAD_SCOPE_TABLE = f"{QUARANTINE_SCHEMA}.load_scope"
NULLED_VALUES_TABLE = f"{QUARANTINE_SCHEMA}.nulled_values"
NULLED_VALUES_COLUMNS = {
    "table_name": "VARCHAR",
    "row_key": "VARCHAR",  # the row's primary key
    "column_name": "VARCHAR",
    "original_value": "VARCHAR",  # the value as it arrived, as text
    "reason": "VARCHAR",
    "scope_at": "TIMESTAMP",  # the row's load-scope timestamp (append-only tables), else NULL
    "nulled_at": "TIMESTAMP",
}

# Reasons, in the order a row is filed (the SLA each one belongs to in brackets).
NULL_CRITICAL_FIELD = "null_critical_field"  # completeness
UNKNOWN_ACCOUNT = "unknown_account"  # referential integrity
FUTURE_TIMESTAMP = "future_timestamp"  # validity
ENDS_BEFORE_START = "ends_before_start"  # validity: an end before its start (a completion before the creation)
NEGATIVE_AMOUNT = "negative_amount"  # validity
OUT_OF_RANGE = "out_of_range"  # validity
UNKNOWN_ENUM_VALUE = "unknown_enum_value"  # validity
UNPARSEABLE_VALUE = "unparseable_value"  # validity: a value that does not match its column's format

REASON_SLA = {
    NULL_CRITICAL_FIELD: "completeness",
    UNKNOWN_ACCOUNT: "referential_integrity",
    FUTURE_TIMESTAMP: "validity",
    ENDS_BEFORE_START: "validity",
    NEGATIVE_AMOUNT: "validity",
    OUT_OF_RANGE: "validity",
    UNKNOWN_ENUM_VALUE: "validity",
    UNPARSEABLE_VALUE: "validity",
}


@dataclass(frozen=True)
class Rule:
    """One validity rule: a SQL condition on one column of a raw table. On a required column a
    broken rule quarantines the row; on an optional column it sets the value to NULL."""

    reason: str
    column: str
    condition: str  # true when the row breaks the rule (NULL counts as not broken)
    required: bool = True  # the column is one of the contract's required columns

    @property
    def sla(self) -> str:
        return REASON_SLA[self.reason]


@dataclass
class QuarantineResult:
    """What one quarantine pass did, reported as asset metadata and in mart_data_quality."""

    table: str
    landed_rows: int  # rows this load brought (a partition run: the reloaded days only)
    raw_rows: int  # of those, the rows kept in raw
    quarantined_rows: int
    table_rows: int  # every row of raw.<table> after the load, the reloaded days and the rest
    by_reason: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, column) -> rows
    # unusable optional values set to NULL in rows kept in raw: (reason, column) -> values
    nulled: dict[tuple[str, str], int] = field(default_factory=dict)

    def reasons_summary(self) -> dict[str, int]:
        """{"reason:column": rows}, for metadata."""
        return {f"{reason}:{column}": n for (reason, column), n in sorted(self.by_reason.items())}

    def nulled_summary(self) -> dict[str, int]:
        """{"reason:column": values set to NULL}, for metadata."""
        return {f"{reason}:{column}": n for (reason, column), n in sorted(self.nulled.items())}

    @property
    def nulled_values(self) -> int:
        return sum(self.nulled.values())


def timestamp_literal(value: dt.datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def account_ids_sql() -> str:
    """The known accounts: the account ids left in raw.accounts after its own quarantine."""
    return f"SELECT account_id FROM {RAW_SCHEMA}.accounts WHERE account_id IS NOT NULL"


def record_load_scope(con: duckdb.DuckDBPyConnection, table: RawTable, since: tuple[str, dt.date] | None) -> None:
    """Remember what the last load of `table` replaced: everything (since None) or the rows whose
    `since[0]` is on or after the day `since[1]`."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {LOAD_SCOPE_TABLE} "
        "(table_name VARCHAR PRIMARY KEY, scope_column VARCHAR, loaded_from DATE)"
    )
    con.execute(
        f"INSERT OR REPLACE INTO {LOAD_SCOPE_TABLE} VALUES (?, ?, ?)",
        [table.name, since[0] if since else None, since[1] if since else None],
    )


def scoped_rows(table: RawTable, relation: str, columns: str = "*", column: str | None = None) -> str:
    """A query of the rows of `relation` (`table`, its quarantine or a model derived from it, whose
    timestamp is `column`) that belong to the table's last load. A table never loaded in part (no
    recorded scope, or a full load) is in scope whole, rows without a timestamp included; after a
    partial load, only the rows from its first day on are (rows without a timestamp wait for a full
    load).

    The scope is read when the query runs, so the committed GX suites follow every load. It is two
    branches, not one OR: DuckDB skips the row groups before the first day only for a plain
    `column >= <value>`, which keeps a daily run's checks at the cost of the days it reloaded."""
    if table.name not in INCREMENTAL_COLUMNS:
        return f"SELECT {columns} FROM {relation}"
    column = column or INCREMENTAL_COLUMNS[table.name]
    loaded_from = f"(SELECT max(loaded_from) FROM {LOAD_SCOPE_TABLE} WHERE table_name = {sql_literal(table.name)})"
    return (
        f"SELECT {columns} FROM {relation} WHERE {column} >= coalesce({loaded_from}, DATE '-infinity') "
        f"UNION ALL SELECT {columns} FROM {relation} WHERE {column} IS NULL AND {loaded_from} IS NULL"
    )


def landed_rows(table: RawTable) -> str:
    """A query of every row of the table's last load, contract columns only: the rows left in raw
    plus the rows quarantined. Rates are measured on this, so quarantining a row never hides it
    from the SLA it broke."""
    cols = ", ".join(table.columns)
    return (
        f"{scoped_rows(table, table.qualified_name, cols)} "
        f"UNION ALL {scoped_rows(table, f'{QUARANTINE_SCHEMA}.{table.name}', cols)}"
    )


def format_condition(column: str, pattern: str) -> str:
    """True when a non-NULL value of `column` does not match `pattern` (on its trimmed lower case)."""
    return f"{column} IS NOT NULL AND NOT regexp_full_match(lower(trim({column})), {sql_literal(pattern)})"


def quarantine_rules(table: RawTable, sla: Sla, now: dt.datetime) -> list[Rule]:
    """The validity rules of one raw table, in filing order; `required` says whether a broken rule
    quarantines the row (a required column) or nulls the value (an optional one)."""
    rules = [Rule(NULL_CRITICAL_FIELD, col, f"{col} IS NULL") for col in sla.critical_columns(table.name)]
    if table.account_fk:
        rules.append(
            Rule(UNKNOWN_ACCOUNT, "account_id", f"account_id IS NOT NULL AND account_id NOT IN ({account_ids_sql()})")
        )
    rules += [
        Rule(FUTURE_TIMESTAMP, col, f"{col} > {timestamp_literal(now)}")
        for col in sla.no_future_timestamps.get(table.name, ())
    ]
    rules += [
        Rule(ENDS_BEFORE_START, col, f"{col} < {start}") for col, start in sla.not_before.get(table.name, {}).items()
    ]
    rules += [Rule(NEGATIVE_AMOUNT, col, f"{col} < 0") for col in sla.non_negative.get(table.name, ())]
    rules += [
        Rule(OUT_OF_RANGE, col, f"{col} NOT BETWEEN {lo} AND {hi}")
        for col, (lo, hi) in sla.ranges.get(table.name, {}).items()
    ]
    rules += [
        Rule(
            UNKNOWN_ENUM_VALUE, col, f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(sql_literal(v) for v in values)})"
        )
        for col, values in table.enums.items()
    ]
    rules += [Rule(UNPARSEABLE_VALUE, col, format_condition(col, pattern)) for col, pattern in table.formats.items()]
    return [Rule(r.reason, r.column, r.condition, r.column in table.required) for r in rules]


def _case(rules: list[Rule], attr: str) -> str:
    whens = " ".join(f"WHEN ({r.condition}) THEN {sql_literal(getattr(r, attr))}" for r in rules)
    return f"CASE {whens} END" if rules else "CAST(NULL AS VARCHAR)"


def quarantine_table(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    sla: Sla,
    now: dt.datetime,
    since: tuple[str, dt.date] | None = None,
) -> QuarantineResult:
    """Move the invalid rows of `raw.<table>` to `quarantine.<table>` (replaced); return the counts.

    `now` is the run time: timestamps after it are future timestamps, and it is the `quarantined_at`
    of the rows moved. Tables with an account_id need `raw.accounts` loaded (and quarantined) first.
    With `since` = (timestamp column, day), only the rows from that day on are looked at (the rows
    an incremental load just replaced), and only their part of `quarantine.<table>` is replaced;
    the counts are of those rows.
    """
    all_rules = quarantine_rules(table, sla, now)
    rules = [r for r in all_rules if r.required]
    broken = " OR ".join(f"({r.condition})" for r in rules) or "FALSE"
    raw_name = table.qualified_name
    q_name = f"{QUARANTINE_SCHEMA}.{table.name}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUARANTINE_SCHEMA}")
    q_exists = table_exists(con, QUARANTINE_SCHEMA, table.name)
    scope = f"{since[0]} >= DATE '{since[1].isoformat()}'" if since else "TRUE"
    partial = since is not None and q_exists
    landed = con.execute(f"SELECT count(*) FROM {raw_name} WHERE {scope}").fetchall()[0][0]
    quarantined_rows = (
        f"SELECT *, {_case(rules, 'reason')} AS quarantine_reason, {_case(rules, 'column')} AS quarantine_column, "
        f"{timestamp_literal(now)} AS quarantined_at FROM {raw_name} WHERE ({broken}) AND {scope}"
    )
    with transaction(con):
        if partial:
            con.execute(f"DELETE FROM {q_name} WHERE {scope}")
            con.execute(f"INSERT INTO {q_name} BY NAME {quarantined_rows}")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {q_name} AS {quarantined_rows}")
        con.execute(f"DELETE FROM {raw_name} WHERE ({broken}) AND {scope}")
        nulled = null_unusable_values(con, table, [r for r in all_rules if not r.required], now, since)
    counts = con.execute(
        f"SELECT quarantine_reason, quarantine_column, count(*) FROM {q_name} WHERE {scope} GROUP BY ALL"
    ).fetchall()
    by_reason = {(reason, column): int(n) for reason, column, n in counts}
    quarantined = sum(by_reason.values())
    raw_rows = con.execute(f"SELECT count(*) FROM {raw_name} WHERE {scope}").fetchall()[0][0]
    if raw_rows + quarantined != landed:
        raise RuntimeError(
            f"quarantine of {raw_name} does not reconcile: {landed} rows landed, {raw_rows} left in raw, "
            f"{quarantined} in {q_name}. A rule condition evaluated differently in the two statements."
        )
    record_load_scope(con, table, since)
    table_rows = raw_rows if since is None else con.execute(f"SELECT count(*) FROM {raw_name}").fetchall()[0][0]
    return QuarantineResult(
        table=table.name,
        landed_rows=landed,
        raw_rows=raw_rows,
        quarantined_rows=quarantined,
        table_rows=table_rows,
        by_reason=by_reason,
        nulled=nulled,
    )


def null_unusable_values(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    rules: list[Rule],
    now: dt.datetime,
    since: tuple[str, dt.date] | None = None,
) -> dict[tuple[str, str], int]:
    """Set the values of `raw.<table>` that break a rule on an optional column to NULL, after
    recording each one in `quarantine.nulled_values` (whose rows of this table, within the load's
    scope, are replaced); return {(reason, column): values nulled}.

    Rules apply in order: a value already nulled by an earlier rule breaks no later one."""
    raw_name = table.qualified_name
    scope = f"{since[0]} >= DATE '{since[1].isoformat()}'" if since else "TRUE"
    scope_at = f"CAST({INCREMENTAL_COLUMNS[table.name]} AS TIMESTAMP)" if table.name in INCREMENTAL_COLUMNS else "NULL"
    cols = ", ".join(f"{c} {t}" for c, t in NULLED_VALUES_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {NULLED_VALUES_TABLE} ({cols})")
    old_scope = "TRUE" if since is None else f"scope_at >= DATE '{since[1].isoformat()}'"
    con.execute(f"DELETE FROM {NULLED_VALUES_TABLE} WHERE table_name = ? AND {old_scope}", [table.name])
    counts: dict[tuple[str, str], int] = {}
    for rule in rules:
        where = f"({rule.condition}) AND {scope}"
        con.execute(
            f"INSERT INTO {NULLED_VALUES_TABLE} SELECT {sql_literal(table.name)}, "
            f"CAST({table.primary_key} AS VARCHAR), {sql_literal(rule.column)}, CAST({rule.column} AS VARCHAR), "
            f"{sql_literal(rule.reason)}, {scope_at}, {timestamp_literal(now)} FROM {raw_name} WHERE {where}"
        )
        n = con.execute(f"UPDATE {raw_name} SET {rule.column} = NULL WHERE {where}").fetchone()[0]
        if n:
            counts[(rule.reason, rule.column)] = counts.get((rule.reason, rule.column), 0) + int(n)
    return counts


def nulled_values_query(table: RawTable) -> str:
    """The rows of `quarantine.nulled_values` for `table` that belong to its last load."""
    relation = f"(SELECT * FROM {NULLED_VALUES_TABLE} WHERE table_name = {sql_literal(table.name)})"
    return scoped_rows(table, relation, column="scope_at")


def quarantine_order() -> list[str]:
    """Tables in the order they must be quarantined: accounts first (the others look accounts up)."""
    return list(LOAD_ORDER)

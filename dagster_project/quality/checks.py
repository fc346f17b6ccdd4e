"""Data-quality check logic (pure Python + DuckDB SQL, no Dagster).

Every check produces `Outcome`s: one measured value against one SLA threshold for one table and
column. The Dagster asset checks (dagster_project/defs/quality/) group them into check results,
and every outcome becomes a row of `marts.mart_data_quality`, the history of all check runs.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.core.contract import TABLES, RawTable
from dagster_project.ingest.landing import file_reader, table_files
from dagster_project.quality.quarantine import (
    NULLED_VALUES_TABLE,
    QUARANTINE_SCHEMA,
    REASON_SLA,
    UNKNOWN_ACCOUNT,
    landed_rows,
    nulled_values_query,
    scoped_rows,
)
from dagster_project.quality.sla import BLOCK, WARN, Sla
from dagster_project.quality.suites import STAGING_MODELS, STAGING_SCHEMA

MAX_EXAMPLES = 5
HISTORY_TABLE = "marts.mart_data_quality"


@dataclass
class Outcome:
    """One measured value of one check against its threshold."""

    # completeness | duplicates | referential_integrity | validity | freshness | volume | reconciliation |
    # snapshot_gate | quarantine
    sla: str
    table: str  # schema-qualified, e.g. raw.events
    column: str | None
    check: str  # the GX expectation type or the name of the SQL check
    observed: float | None  # a rate (0-1), hours, rows or a relative deviation: see `comparison`
    threshold: float | None
    comparison: str  # how observed must compare with threshold, in words
    passed: bool
    severity: str  # block | warn: what a failure means
    failing_rows: int | None = None
    total_rows: int | None = None
    quarantined_rows: int | None = None
    examples: list[str] = field(default_factory=list)
    detail: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "check": self.check,
            "sla": self.sla,
            "observed": None if self.observed is None else round(float(self.observed), 6),
            "threshold": self.threshold,
            "comparison": self.comparison,
            "passed": self.passed,
            "severity": self.severity,
            "failing_rows": self.failing_rows,
            "total_rows": self.total_rows,
            "quarantined_rows": self.quarantined_rows,
            "examples": ", ".join(self.examples),
            "detail": self.detail,
        }


# ---------------------------------------------------------------------------------------- GX results


def _examples(result: dict[str, Any], key_columns: list[str]) -> list[str]:
    rows = result.get("partial_unexpected_index_list") or []
    out = []
    for row in rows[:MAX_EXAMPLES]:
        if isinstance(row, dict):
            out.append("/".join(str(row.get(k)) for k in key_columns) if key_columns else json.dumps(row, default=str))
        else:
            out.append(str(row))
    if not out:
        out = [str(v) for v in (result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]]
    return out


def outcomes_from_suite(suite: str, results: list[dict[str, Any]], key_columns: list[str]) -> list[Outcome]:
    """Turn the GX results of one suite into outcomes (observed rates, thresholds, example keys)."""
    outcomes = []
    for r in results:
        meta, res, kwargs = r["meta"], r["result"], r["kwargs"]
        column = (
            kwargs.get("column")
            or kwargs.get("column_A")  # a pair expectation: the column that must not precede the other
            or (",".join(kwargs["column_list"]) if "column_list" in kwargs else None)
        )
        failing = total = None
        examples: list[str] = []
        if "unexpected_count" in res:  # a map expectation: observed = share of rows that meet it
            failing = int(res.get("unexpected_count") or 0)
            total = int(res.get("element_count") or 0)
            pct = res.get("unexpected_percent")
            observed = 1.0 - (float(pct) / 100.0 if pct is not None else 0.0)
            examples = _examples(res, key_columns)
        elif r["type"] == "expect_column_proportion_of_unique_values_to_be_between":
            observed = 1.0 - float(res.get("observed_value") or 0.0)  # the duplicate rate
        else:
            observed = res.get("observed_value")
            observed = float(observed) if isinstance(observed, (int, float)) else None
            if r["type"] == "unexpected_rows_expectation":
                failing = int(observed or 0)
                column = None
        outcomes.append(
            Outcome(
                sla=meta.get("sla", "unknown"),
                table=suite,
                column=column,
                check=r["type"],
                observed=observed,
                threshold=meta.get("threshold"),
                comparison=meta.get("comparison", ""),
                passed=r["success"],
                severity=meta.get("severity", BLOCK),
                failing_rows=failing,
                total_rows=total,
                examples=examples,
                detail=r.get("description") or kwargs.get("description", ""),
            )
        )
    return outcomes


# -------------------------------------------------------------------------- SQL measures and examples


def add_duplicate_details(
    con: duckdb.DuckDBPyConnection, table: RawTable, outcome: Outcome, rows_sql: str | None = None
) -> None:
    """Rows beyond the first per key, and the most duplicated keys, of the rows the outcome
    measured: by default the table as landed (like the GX rate), or the query `rows_sql`; one
    grouping of the keys serves all three."""
    pk = table.primary_key
    rows, distinct, keys = con.execute(
        f"WITH per_key AS MATERIALIZED (SELECT {pk} AS key, count(*) AS n "
        f"FROM ({rows_sql or landed_rows(table)}) AS measured "
        f"WHERE {pk} IS NOT NULL GROUP BY {pk}) "
        f"SELECT (SELECT coalesce(sum(n), 0) FROM per_key), (SELECT count(*) FROM per_key), "
        f"(SELECT list([CAST(key AS VARCHAR), CAST(n AS VARCHAR)] ORDER BY n DESC, key) FROM "
        f"(SELECT key, n FROM per_key WHERE n > 1 ORDER BY n DESC, key LIMIT {MAX_EXAMPLES}))"
    ).fetchone()
    outcome.failing_rows = int(rows - distinct)
    outcome.total_rows = int(rows)
    if rows == 0:
        # GX reports a unique share of 0 for no rows; with no key there is no duplicate (an optional
        # table not provided, a daily run's days without rows; missing keys are completeness's to judge)
        outcome.observed, outcome.passed = 0.0, True
        outcome.detail = "no rows with a key in this load"
    outcome.examples = [f"{k} (x{n})" for k, n in keys or []]


def add_orphan_details(con: duckdb.DuckDBPyConnection, table: RawTable, outcome: Outcome) -> None:
    """The quarantined orphans: their keys and unknown account ids."""
    orphans = f"({scoped_rows(table, f'{QUARANTINE_SCHEMA}.{table.name}')}) AS quarantined WHERE quarantine_reason = ?"
    keys = con.execute(
        f"SELECT DISTINCT {table.primary_key}, account_id FROM {orphans} ORDER BY ALL LIMIT {MAX_EXAMPLES}",
        [UNKNOWN_ACCOUNT],
    ).fetchall()
    outcome.examples = [f"{k} (account {a})" for k, a in keys]
    outcome.column = "account_id"
    outcome.quarantined_rows = con.execute(f"SELECT count(*) FROM {orphans}", [UNKNOWN_ACCOUNT]).fetchone()[0]


def quarantined_rows(table: RawTable) -> str:
    """A query of the rows of `quarantine.<table>` from the table's last load."""
    return scoped_rows(table, f"{QUARANTINE_SCHEMA}.{table.name}")


def quarantined_by_reason(con: duckdb.DuckDBPyConnection, table: RawTable, where: str = "TRUE") -> list[tuple]:
    """(reason, column, rows, up to MAX_EXAMPLES keys) of the quarantined rows of the last load that
    match `where`, ordered by reason and column."""
    return con.execute(
        f"SELECT quarantine_reason, quarantine_column, count(*), "
        f"list({table.primary_key} ORDER BY {table.primary_key})[1:{MAX_EXAMPLES}] "
        f"FROM ({quarantined_rows(table)}) WHERE {where} GROUP BY ALL ORDER BY ALL"
    ).fetchall()


def quarantine_outcomes(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> list[Outcome]:
    """One outcome per raw table and quarantine reason: the rows moved out of raw in this load."""
    outcomes = []
    for table in [TABLES[t] for t in (tables or list(TABLES))]:
        landed, raw = con.execute(
            f"SELECT (SELECT count(*) FROM ({landed_rows(table)})), "
            f"(SELECT count(*) FROM ({scoped_rows(table, table.qualified_name)}))"
        ).fetchone()
        rows = quarantined_by_reason(con, table)
        total_q = sum(r[2] for r in rows)
        outcomes.append(
            Outcome(
                sla="quarantine",
                table=table.qualified_name,
                column=None,
                check="landed_equals_raw_plus_quarantined",
                observed=float(raw + total_q),
                threshold=float(landed),
                comparison="== landed rows",
                passed=raw + total_q == landed,
                severity=BLOCK,
                failing_rows=int(landed - raw - total_q),
                total_rows=int(landed),
                quarantined_rows=int(total_q),
                detail=f"{landed} landed = {raw} raw + {total_q} quarantined",
            )
        )
        for reason, column, n, keys in rows:
            outcomes.append(
                Outcome(
                    sla=REASON_SLA.get(reason, "validity"),
                    table=f"{QUARANTINE_SCHEMA}.{table.name}",
                    column=column,
                    check=f"quarantine:{reason}",
                    observed=float(n) / landed if landed else 0.0,
                    threshold=None,
                    comparison="share of landed rows quarantined",
                    passed=True,
                    severity=WARN,
                    failing_rows=int(n),
                    total_rows=int(landed),
                    quarantined_rows=int(n),
                    examples=[str(k) for k in keys or []],
                )
            )
    return outcomes


def nulled_outcomes(con: duckdb.DuckDBPyConnection, table: RawTable, sla: Sla) -> list[Outcome]:
    """Validity of the optional columns: one outcome per column and reason, the values of this load
    set to NULL (their rows stay in raw). Observed is the share of landed rows whose value was usable,
    against the validity rate."""
    landed = con.execute(f"SELECT count(*) FROM ({landed_rows(table)})").fetchone()[0]
    rows = con.execute(
        f"SELECT column_name, reason, count(*), list(row_key ORDER BY row_key)[1:{MAX_EXAMPLES}], "
        f"list(DISTINCT original_value ORDER BY original_value)[1:{MAX_EXAMPLES}] "
        f"FROM ({nulled_values_query(table)}) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    outcomes = []
    for column, reason, n, keys, values in rows:
        observed = 1.0 - n / landed if landed else 1.0
        outcomes.append(
            Outcome(
                sla="validity",
                table=table.qualified_name,
                column=column,
                check=f"nulled:{reason}",
                observed=observed,
                threshold=sla.min_valid_rate,
                comparison=">= valid rate (unusable optional values set to NULL, rows kept)",
                passed=observed >= sla.min_valid_rate,
                severity=WARN,
                failing_rows=int(n),
                total_rows=int(landed),
                examples=[str(k) for k in keys or []],
                detail=f"{n} value(s) of the optional column {table.name}.{column} set to NULL ({reason}), "
                f"e.g. {', '.join(repr(v) for v in values or [])}; the rows stay in raw, the values as they "
                f"arrived are in {NULLED_VALUES_TABLE}.",
            )
        )
    return outcomes


def landing_files_with_rows(
    con: duckdb.DuckDBPyConnection, table: RawTable, landing_dir: Path, keys_sql: str
) -> list[str]:
    """The landing files of `table` that hold a row whose primary key is in the query `keys_sql`."""
    found = []
    for path in table_files(landing_dir, table.name):
        n = con.execute(
            f"SELECT count(*) FROM {file_reader(path)} "
            f"WHERE CAST({table.primary_key} AS VARCHAR) IN (SELECT CAST(key AS VARCHAR) FROM ({keys_sql}))"
        ).fetchone()[0]
        if n:
            found.append(str(path))
    return found


def state_history_outcome(con: duckdb.DuckDBPyConnection, table: RawTable, sla: Sla, landing_dir: Path) -> Outcome:
    """Quarantined rows of a state-history table (a subscription state, an invoice) in this load.

    Each such row is a state of an account's history: scoring without it changes the history (a
    missing subscription state looks like the end of the subscription), so the SLA blocks. Orphans
    (unknown accounts) are left to referential integrity: no known account's history changes."""
    not_orphan = f"quarantine_reason <> {UNKNOWN_ACCOUNT!r}"
    rows = quarantined_by_reason(con, table, not_orphan)
    n = sum(r[2] for r in rows)
    limit = sla.state_history_max_quarantined_rows
    outcome = Outcome(
        sla="state_history",
        table=table.qualified_name,
        column=", ".join(dict.fromkeys(r[1] for r in rows)) or None,
        check="no_state_row_quarantined",
        observed=float(n),
        threshold=float(limit),
        comparison="<= quarantined rows of the account state history",
        passed=n <= limit,
        severity=BLOCK,
        failing_rows=int(n),
        quarantined_rows=int(n),
        examples=[str(k) for r in rows for k in r[3]][:MAX_EXAMPLES],
    )
    if n == 0:
        outcome.detail = f"no row of {table.qualified_name} quarantined (orphans excepted)"
        return outcome
    keys = f"SELECT {table.primary_key} AS key FROM ({quarantined_rows(table)}) WHERE {not_orphan}"
    files = landing_files_with_rows(con, table, landing_dir, keys)
    reasons = "; ".join(f"{reason} in {column}: {k} row(s)" for reason, column, k, _ in rows)
    outcome.detail = (
        f"{n} row(s) of {table.qualified_name} were quarantined ({reasons}), from landing file(s) "
        f"{', '.join(files) or str(landing_dir / table.name)}. Each is a state of an account's {table.name} "
        "history: scoring without it would change that history (a missing state can look like the end of a "
        "subscription and move a churn date), so the refresh stops here. Fix the rows in the export (they are "
        f"in quarantine.{table.name} with the reason; the contract's rules are in expectations/sla.yml and "
        "dagster_project/core/contract.py) and reload; a row that is not part of the history must be removed "
        "from the landing files."
    )
    return outcome


def freshness_outcomes(con: duckdb.DuckDBPyConnection, sla: Sla, now: dt.datetime) -> list[Outcome]:
    """Hours from the newest event to the run time, against the warn and the block threshold."""
    table = TABLES[sla.freshness_table]
    newest = con.execute(f"SELECT max({sla.freshness_column}) FROM {table.qualified_name}").fetchone()[0]
    age = None if newest is None else (now - newest).total_seconds() / 3600.0
    detail = f"newest {sla.freshness_column} = {newest}, run time = {now:%Y-%m-%d %H:%M:%S}"
    return [
        Outcome(
            sla="freshness",
            table=table.qualified_name,
            column=sla.freshness_column,
            check=f"freshness_{sev}",
            observed=None if age is None else round(age, 2),
            threshold=limit,
            comparison="<= hours since newest row",
            passed=age is not None and age <= limit,
            severity=sev,
            detail=detail,
        )
        for sev, limit in ((WARN, sla.freshness_warn_after_hours), (BLOCK, sla.freshness_block_after_hours))
    ]


def volume_outcome(con: duckdb.DuckDBPyConnection, sla: Sla, now: dt.datetime) -> Outcome:
    """Each of the last complete days vs the median of the same weekday in the trailing weeks.

    Reported: the day that deviates most. Days whose baseline is below the SLA's minimum (history
    too short, or a quiet weekend of a small company) are not judged.
    """
    table = TABLES[sla.volume_table]
    today = now.date()
    first = today - dt.timedelta(days=sla.volume_recent_days + 7 * sla.volume_trailing_weeks)
    counts = dict(
        con.execute(
            f"SELECT CAST({sla.volume_column} AS DATE) AS day, count(*) FROM {table.qualified_name} "
            f"WHERE {sla.volume_column} >= ? AND {sla.volume_column} < ? GROUP BY 1",
            [dt.datetime.combine(first, dt.time()), dt.datetime.combine(today, dt.time())],
        ).fetchall()
    )
    days = []
    for back in range(sla.volume_recent_days, 0, -1):
        day = today - dt.timedelta(days=back)
        history = [counts.get(day - dt.timedelta(weeks=k), 0) for k in range(1, sla.volume_trailing_weeks + 1)]
        baseline = statistics.median(history)
        if baseline < max(sla.volume_min_baseline_rows, 1):
            continue  # too few rows expected to tell noise from a fault
        n = counts.get(day, 0)
        days.append((day, n, baseline, n / baseline - 1.0))
    out_of_band = [d for d in days if abs(d[3]) > sla.volume_max_relative_deviation]
    worst = max(days, key=lambda d: abs(d[3]), default=None)
    detail = (
        "; ".join(f"{d:%Y-%m-%d}: {n} vs median {b:g} ({dev:+.0%})" for d, n, b, dev in days)
        or "no day with a baseline above the minimum (history too short or too few events)"
    )
    return Outcome(
        sla="volume",
        table=table.qualified_name,
        column=sla.volume_column,
        check="daily_volume_vs_trailing_median",
        observed=None if worst is None else round(worst[3], 4),
        threshold=sla.volume_max_relative_deviation,
        comparison="<= |relative deviation| of every recent day",
        passed=not out_of_band,
        severity=WARN,
        failing_rows=len(out_of_band),
        total_rows=len(days),
        examples=[f"{d:%Y-%m-%d} ({n} events, {dev:+.0%})" for d, n, _, dev in out_of_band[:MAX_EXAMPLES]],
        detail=detail,
    )


def reconciliation_outcome(con: duckdb.DuckDBPyConnection, table: RawTable) -> Outcome:
    """No valid row lost: raw rows = staged rows + duplicates removed by staging (and landed = raw + quarantined)."""
    model = f"{STAGING_SCHEMA}.{STAGING_MODELS[table.name]}"
    pk = table.primary_key
    # the rows of the last load (a daily run: the days it reloaded)
    raw, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT {pk}) FROM ({scoped_rows(table, table.qualified_name)})"
    ).fetchone()
    quarantined = con.execute(
        f"SELECT count(*) FROM ({scoped_rows(table, f'{QUARANTINE_SCHEMA}.{table.name}')})"
    ).fetchone()[0]
    staged = con.execute(f"SELECT count(*) FROM ({scoped_rows(table, model)})").fetchone()[0]
    removed = raw - distinct
    return Outcome(
        sla="reconciliation",
        table=model,
        column=pk,
        check="raw_equals_staged_plus_removed_duplicates",
        observed=float(staged + removed),
        threshold=float(raw),
        comparison="== raw rows",
        passed=staged + removed == raw,
        severity=BLOCK,
        failing_rows=int(raw - staged - removed),
        total_rows=int(raw),
        quarantined_rows=int(quarantined),
        detail=f"landed {raw + quarantined} = raw {raw} + quarantined {quarantined}; "
        f"raw {raw} = staged {staged} + removed duplicates {removed}",
    )


# -------------------------------------------------------------------------------------- verdicts


@dataclass
class Verdict:
    """A group of outcomes as one check result: passed, severity and metadata with the numbers."""

    passed: bool
    severity: str  # block | warn: the severity of the failure (warn when passed)
    metadata: dict[str, Any]
    description: str


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def verdict(outcomes: list[Outcome], what: str) -> Verdict:
    """Failed outcomes first: the worst one's table, column, observed rate, threshold and examples."""
    failed = [o for o in outcomes if not o.passed]
    blocking = [o for o in failed if o.severity == BLOCK]
    headline = (blocking or failed or outcomes or [None])[0]
    metadata: dict[str, Any] = {"outcomes": len(outcomes), "failed": len(failed)}
    if headline is not None:
        metadata.update(
            {
                "table": headline.table,
                "column": headline.column or "",
                "observed": headline.observed,
                "threshold": headline.threshold,
                "comparison": headline.comparison,
                "failing_rows": headline.failing_rows,
                "total_rows": headline.total_rows,
                "example_bad_keys": ", ".join(headline.examples),
                "detail": headline.detail,
            }
        )
    lines = [
        "| table | column | check | observed | threshold | passed | severity | failing rows | examples |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in sorted(outcomes, key=lambda o: (o.passed, o.table, o.column or "")):
        lines.append(
            f"| {o.table} | {o.column or ''} | {o.check} | {_fmt(o.observed)} | {_fmt(o.threshold)} ({o.comparison}) "
            f"| {o.passed} | {o.severity} | {o.failing_rows if o.failing_rows is not None else ''} "
            f"| {', '.join(o.examples)} |"
        )
    metadata["details"] = "\n".join(lines)
    if failed and headline is not None:
        description = (
            f"{what} FAILED on {headline.table}.{headline.column or '*'}: observed {_fmt(headline.observed)} "
            f"vs threshold {_fmt(headline.threshold)} ({headline.comparison}); "
            f"{headline.failing_rows if headline.failing_rows is not None else '?'} bad rows; "
            f"e.g. {', '.join(headline.examples) or 'n/a'}. {headline.detail}".strip()
        )
    else:
        only = outcomes[0].detail if len(outcomes) == 1 and outcomes[0].detail else ""
        description = f"{what} passed ({len(outcomes)} measures). {only}".strip()
    return Verdict(passed=not failed, severity=BLOCK if blocking else WARN, metadata=metadata, description=description)


# ---------------------------------------------------------------------------------------- history


HISTORY_COLUMNS = {
    "run_id": "VARCHAR",
    "checked_at": "TIMESTAMP",
    "table_name": "VARCHAR",
    "column_name": "VARCHAR",
    "check_name": "VARCHAR",
    "sla": "VARCHAR",
    "observed_value": "DOUBLE",
    "threshold": "DOUBLE",
    "comparison": "VARCHAR",
    "passed": "BOOLEAN",
    "severity": "VARCHAR",
    "failing_rows": "BIGINT",
    "total_rows": "BIGINT",
    "quarantined_rows": "BIGINT",
    "example_keys": "VARCHAR",
    "detail": "VARCHAR",
}


def append_history(
    con: duckdb.DuckDBPyConnection, run_id: str, checked_at: dt.datetime, outcomes: list[Outcome]
) -> int:
    """Append one row per outcome to marts.mart_data_quality (created on first use); returns rows added."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    cols = ", ".join(f"{c} {t}" for c, t in HISTORY_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} ({cols})")
    rows = [
        (
            run_id,
            checked_at,
            o.table,
            o.column,
            o.check,
            o.sla,
            o.observed,
            None if o.threshold is None else float(o.threshold),
            o.comparison,
            o.passed,
            o.severity,
            o.failing_rows,
            o.total_rows,
            o.quarantined_rows,
            ", ".join(o.examples),
            o.detail,
        )
        for o in outcomes
    ]
    if rows:
        con.executemany(
            f"INSERT INTO {HISTORY_TABLE} ({', '.join(HISTORY_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in HISTORY_COLUMNS)})",
            rows,
        )
    return len(rows)

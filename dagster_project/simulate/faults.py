"""Data faults for the data-quality tests: rewrite landing Parquet files with known damage.

    from dagster_project.simulate.faults import inject_faults
    report = inject_faults(Path("data/landing"), ["duplicates", "orphans"], seed=7, rate=0.05)

or `ahw faults --landing data/landing --fault duplicates --fault orphans`.

Each fault picks its rows deterministically from the seed (exactly round(rate x rows) rows, so the
tests know the numbers to expect) and returns what it did: table, column, rows affected. Faults run
after `generate`, on the files it wrote, so the clean tables and the ground truth stay reproducible.

| fault                     | what it does (default table.column)              | caught by                           |
|---------------------------|--------------------------------------------------|-------------------------------------|
| duplicates                | re-delivers rows with the same key (events)      | duplicate_keys (blocks >= 1 %)      |
| nulls                     | blanks a critical field (events.occurred_at)     | completeness (blocks > 1 %)         |
| orphans                   | unknown accounts (events.account_id)             | referential_integrity + quarantine  |
| late_events               | the newest `days` of events have not arrived     | freshness (warns 36 h, blocks 72 h) |
| future_timestamps         | event times after the run (events.occurred_at)   | validity + quarantine               |
| bad_enum                  | unknown values (tickets.priority, optional)      | validity; values set to NULL        |
| bad_billing_interval      | unparseable subscriptions.billing_interval       | validity; values set to NULL        |
| billing_interval_variants | 'month'/'year' as '1 month', 'annual', ...       | nothing: the meaning is the same    |
| bad_subscription_status   | unknown values (subscriptions.status)            | quarantine + state_history (blocks) |
| negative_amounts          | negative amounts (invoices.amount_due)           | quarantine + state_history (blocks) |
| nps_out_of_range          | NPS scores above 10 (nps_responses.score)        | validity + quarantine               |
| missing_day               | drops every event of one recent day (events)     | volume (warns)                      |
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import duckdb

from dagster_project.core.contract import TABLES

FAULTS = (
    "duplicates",
    "nulls",
    "orphans",
    "late_events",
    "future_timestamps",
    "bad_enum",
    "bad_billing_interval",
    "billing_interval_variants",
    "bad_subscription_status",
    "negative_amounts",
    "nps_out_of_range",
    "missing_day",
)
DEFAULT_RATE = 0.05
UNKNOWN_ACCOUNT_PREFIX = "acc_unknown_"
BAD_ENUM_VALUE = "URGENT!!"
BAD_BILLING_INTERVAL = "every blue moon"
BAD_SUBSCRIPTION_STATUS = "Cancelled!!"
# Other spellings of the simulator's 'month' and 'year' that the contract accepts with the same meaning.
BILLING_INTERVAL_SPELLINGS = {
    "month": ("1 month", "monthly", "every 1 month"),
    "year": ("12 months", "annual", "1 year"),
}


class _Landing:
    """One in-memory DuckDB holding the landing tables that faults rewrite."""

    def __init__(self, landing_dir: Path):
        self.dir = Path(landing_dir)
        self.con = duckdb.connect()
        self.loaded: set[str] = set()
        self.changed: set[str] = set()
        self._newest_event = None

    def newest_event(self):
        """The newest event time as delivered, before any fault moved events (late/missing days use it)."""
        if self._newest_event is None:
            self.table("events")
            self._newest_event = self.con.execute("SELECT max(occurred_at) FROM events").fetchone()[0]
        return self._newest_event

    def table(self, name: str) -> str:
        if name not in self.loaded:
            files = sorted((self.dir / name).glob("*.parquet"))
            if not files:
                raise FileNotFoundError(
                    f"fault injection: no Parquet files in {self.dir / name}. Generate the landing data first "
                    "(ahw simulate)."
                )
            paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet([{paths}])")
            self.loaded.add(name)
        return name

    def pick(self, name: str, rate: float, seed: int, where: str = "TRUE") -> tuple[str, int]:
        """A temp table of the keys of exactly round(rate x rows) rows, chosen by seed."""
        pk = TABLES[name].primary_key
        self.table(name)
        total = self.con.execute(f"SELECT count(*) FROM {name} WHERE {where}").fetchone()[0]
        n = int(round(rate * total))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE picked AS SELECT {pk} AS key FROM {name} WHERE {where} "
            f"ORDER BY hash({pk} || '{int(seed)}'), {pk} LIMIT {n}"
        )
        return "picked", n

    def write(self) -> None:
        """Replace the files of every changed table with one Parquet file of its new contents."""
        for name in sorted(self.changed):
            folder = self.dir / name
            with tempfile.TemporaryDirectory(dir=self.dir) as tmp:
                out = Path(tmp) / "part-00000.parquet"
                self.con.execute(f"COPY {name} TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
                for f in folder.glob("*.parquet"):
                    f.unlink()
                shutil.move(str(out), folder / out.name)
        self.con.close()


def _duplicates(land: _Landing, table: str, rate: float, seed: int, **_) -> dict:
    pk = TABLES[table].primary_key
    picked, n = land.pick(table, rate, seed)
    # a re-delivery: same key, received an hour later
    replace = " REPLACE (received_at + INTERVAL 1 HOUR AS received_at)" if table == "events" else ""
    land.con.execute(f"INSERT INTO {table} SELECT *{replace} FROM {table} WHERE {pk} IN (SELECT key FROM {picked})")
    return {"table": table, "column": pk, "rows": n}


def _nulls(land: _Landing, table: str, column: str, rate: float, seed: int, **_) -> dict:
    pk = TABLES[table].primary_key
    picked, n = land.pick(table, rate, seed)
    land.con.execute(f"UPDATE {table} SET {column} = NULL WHERE {pk} IN (SELECT key FROM {picked})")
    return {"table": table, "column": column, "rows": n}


def _orphans(land: _Landing, table: str, rate: float, seed: int, **_) -> dict:
    pk = TABLES[table].primary_key
    picked, n = land.pick(table, rate, seed)
    land.con.execute(
        f"UPDATE {table} SET account_id = '{UNKNOWN_ACCOUNT_PREFIX}' "
        f"|| lpad(CAST(CAST(hash({pk}) % 1000 AS BIGINT) AS VARCHAR), 4, '0') "
        f"WHERE {pk} IN (SELECT key FROM {picked})"
    )
    return {"table": table, "column": "account_id", "rows": n}


def _late_events(land: _Landing, days: int, **_) -> dict:
    newest = land.newest_event()
    cutoff = land.con.execute(
        f"SELECT CAST(CAST(? AS DATE) - INTERVAL {int(days) - 1} DAY AS TIMESTAMP)", [newest]
    ).fetchone()[0]
    n = land.con.execute("DELETE FROM events WHERE occurred_at >= ? AND occurred_at <= ?", [cutoff, newest]).fetchone()[
        0
    ]
    return {"table": "events", "column": "occurred_at", "rows": int(n), "not_arrived_from": str(cutoff), "days": days}


def _future_timestamps(land: _Landing, table: str, column: str, rate: float, seed: int, **_) -> dict:
    pk = TABLES[table].primary_key
    picked, n = land.pick(table, rate, seed)
    newest = (
        land.newest_event()
        if table == "events"
        else land.con.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]
    )
    land.con.execute(
        f"UPDATE {table} SET {column} = CAST(? AS TIMESTAMP) + INTERVAL 30 DAY "
        f"+ to_seconds(CAST(hash({pk}) % 86400 AS BIGINT)) "
        f"WHERE {pk} IN (SELECT key FROM {picked})",
        [newest],
    )
    return {"table": table, "column": column, "rows": n}


def _set_value(land: _Landing, table: str, column: str, value_sql: str, rate: float, seed: int, where: str) -> dict:
    pk = TABLES[table].primary_key
    picked, n = land.pick(table, rate, seed, where)
    land.con.execute(f"UPDATE {table} SET {column} = {value_sql} WHERE {pk} IN (SELECT key FROM {picked})")
    return {"table": table, "column": column, "rows": n}


def _billing_interval_variants(land: _Landing, rate: float, seed: int, **_) -> dict:
    """Rewrite 'month' and 'year' of the rows chosen by seed in other spellings the contract accepts
    (the spelling picked by the row's key): the billing history means the same."""
    picked, n = land.pick("subscriptions", rate, seed, "billing_interval IN ('month', 'year')")
    cases = []
    for interval, spellings in BILLING_INTERVAL_SPELLINGS.items():
        options = ", ".join(f"'{v}'" for v in spellings)
        pick = f"1 + CAST(hash(subscription_id) % {len(spellings)} AS INTEGER)"
        cases.append(f"WHEN billing_interval = '{interval}' THEN [{options}][{pick}]")
    land.con.execute(
        f"UPDATE subscriptions SET billing_interval = CASE {' '.join(cases)} END "
        f"WHERE subscription_id IN (SELECT key FROM {picked})"
    )
    return {"table": "subscriptions", "column": "billing_interval", "rows": n}


def _missing_day(land: _Landing, days_before_end: int, **_) -> dict:
    day = land.newest_event().date() - dt.timedelta(days=int(days_before_end))
    n = land.con.execute("DELETE FROM events WHERE CAST(occurred_at AS DATE) = ?", [day]).fetchone()[0]
    return {"table": "events", "column": "occurred_at", "rows": int(n), "day": str(day)}


def inject_faults(
    landing_dir: Path,
    faults: list[str],
    seed: int = 0,
    rate: float = DEFAULT_RATE,
    late_days: int = 2,
    missing_day_before_end: int = 3,
) -> dict[str, dict]:
    """Rewrite the landing Parquet files with the given faults; return {fault: what it did}.

    `rate` is the share of a table's rows each row-level fault damages. `late_days` is how many of
    the newest days of events have not arrived (2 -> freshness warns, 4 -> it blocks, with the run
    on the morning after the last simulated day). `missing_day_before_end` picks the dropped day.
    """
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a fraction between 0 and 1, got {rate}")
    land = _Landing(Path(landing_dir))
    report: dict[str, dict] = {}
    try:
        for i, fault in enumerate(faults):
            s = seed * 1000 + i  # each fault its own rows
            if fault == "duplicates":
                report[fault] = _duplicates(land, "events", rate, s)
            elif fault == "nulls":
                report[fault] = _nulls(land, "events", "occurred_at", rate, s)
            elif fault == "orphans":
                report[fault] = _orphans(land, "events", rate, s)
            elif fault == "late_events":
                report[fault] = _late_events(land, late_days)
            elif fault == "future_timestamps":
                report[fault] = _future_timestamps(land, "events", "occurred_at", rate, s)
            elif fault == "bad_enum":
                report[fault] = _set_value(land, "tickets", "priority", f"'{BAD_ENUM_VALUE}'", rate, s, "TRUE")
            elif fault == "bad_billing_interval":
                report[fault] = _set_value(
                    land, "subscriptions", "billing_interval", f"'{BAD_BILLING_INTERVAL}'", rate, s, "TRUE"
                )
            elif fault == "billing_interval_variants":
                report[fault] = _billing_interval_variants(land, rate, s)
            elif fault == "bad_subscription_status":
                report[fault] = _set_value(
                    land, "subscriptions", "status", f"'{BAD_SUBSCRIPTION_STATUS}'", rate, s, "TRUE"
                )
            elif fault == "negative_amounts":
                report[fault] = _set_value(land, "invoices", "amount_due", "-abs(amount_due) - 1", rate, s, "TRUE")
            elif fault == "nps_out_of_range":
                report[fault] = _set_value(
                    land, "nps_responses", "score", "11 + CAST(hash(response_id) % 5 AS INTEGER)", rate, s, "TRUE"
                )
            elif fault == "missing_day":
                report[fault] = _missing_day(land, missing_day_before_end)
            land.changed.add(report[fault]["table"])
        land.write()
    except BaseException:
        land.con.close()
        raise
    return report


def main(argv: list[str] | None = None) -> None:
    """CLI: inject faults into an existing landing folder and print what was done (JSON)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--landing", type=Path, required=True, help="landing folder (one sub-folder per table)")
    parser.add_argument("--fault", action="append", choices=FAULTS, required=True, help="repeat for several faults")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="share of rows damaged per fault")
    parser.add_argument("--late-days", type=int, default=2)
    parser.add_argument("--missing-day-before-end", type=int, default=3)
    args = parser.parse_args(argv)
    report = inject_faults(
        args.landing,
        args.fault,
        seed=args.seed,
        rate=args.rate,
        late_days=args.late_days,
        missing_day_before_end=args.missing_day_before_end,
    )
    print(json.dumps(report, indent=2))

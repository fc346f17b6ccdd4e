"""A BI reader for the publish tests: fingerprints of every published mart, and a process that keeps
one read-only connection open and reads through it until told to stop.

    python tests/e2e/publish/reader.py <account_health.duckdb> <stop-file>

prints one JSON line per read ({table: [rows, row-hash sum]}); the first line is printed once the
connection is open.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def fingerprint(con: duckdb.DuckDBPyConnection, schema: str = "marts", catalog: str | None = None) -> dict:
    """{table: [row count, sum of row hashes]} for every table of `schema`: equal content, equal fingerprint."""
    prefix = f'"{catalog}".' if catalog else ""
    names = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_catalog = "
        + ("?" if catalog else "current_database()")
        + " ORDER BY 1",
        [schema, catalog] if catalog else [schema],
    ).fetchall()
    return {
        name: list(
            con.execute(
                f'SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR FROM {prefix}{schema}."{name}" x'
            ).fetchall()[0]
        )
        for (name,) in names
    }


def main() -> None:
    database, stop = Path(sys.argv[1]), Path(sys.argv[2])
    con = duckdb.connect(str(database), read_only=True)
    while True:
        print(json.dumps(fingerprint(con)), flush=True)
        if stop.exists():
            break
        time.sleep(0.2)
    con.close()


if __name__ == "__main__":
    main()

"""Comparing one table built by two engines, row for row, inside one DuckDB connection."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
# Floating-point results may differ in their last bits (sums in another order); above 1 the
# tolerance is relative.
TOLERANCE = 1e-9


@dataclass
class TableDifference:
    """How two builds of one table differ: row counts, and per column the rows whose values differ."""

    table: str
    rows: tuple[int, int]
    missing_columns: list[str]
    differing_columns: dict[str, int]

    @property
    def equal(self) -> bool:
        return self.rows[0] == self.rows[1] and not self.missing_columns and not self.differing_columns


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {name: str(dtype).upper() for name, dtype in zip(*_describe(con, relation), strict=True)}


def _describe(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], list[str]]:
    rel = con.sql(f"SELECT * FROM {relation}")
    return rel.columns, [str(t) for t in rel.types]


def compare_tables(con: duckdb.DuckDBPyConnection, expected: str, actual: str) -> TableDifference:
    """Compare `actual` with `expected`: equal row counts, the same columns (any order), and row for
    row equal values: exactly, or within TOLERANCE for floating-point columns. Rows are paired by
    sorting both sides on every column (floating-point ones rounded to 6 decimals)."""
    want, got = _columns(con, expected), _columns(con, actual)
    counts = tuple(con.execute(f"SELECT count(*) FROM {r}").fetchall()[0][0] for r in (expected, actual))
    missing = sorted(set(want) ^ set(got))
    common = [c for c in want if c in got]
    floats = {c for c in common if want[c] in FLOAT_TYPES or got[c] in FLOAT_TYPES}
    order = ", ".join(f'round("{c}", 6)' if c in floats else f'"{c}"' for c in common)
    differing: dict[str, int] = {}
    if counts[0] == counts[1] and common:
        checks = []
        for c in common:
            if c in floats:
                condition = (
                    f'(e."{c}" IS NULL AND a."{c}" IS NULL) OR (isnan(e."{c}") AND isnan(a."{c}")) OR '
                    f'abs(e."{c}" - a."{c}") <= {TOLERANCE} * greatest(1, abs(e."{c}"))'
                )
            else:
                condition = f'e."{c}" IS NOT DISTINCT FROM a."{c}"'
            checks.append(f'count(*) FILTER (WHERE NOT coalesce({condition}, false)) AS "{c}"')
        row = con.execute(
            f"WITH e AS (SELECT *, row_number() OVER (ORDER BY {order}) AS rn__ FROM {expected}), "
            f"a AS (SELECT *, row_number() OVER (ORDER BY {order}) AS rn__ FROM {actual}) "
            f"SELECT {', '.join(checks)} FROM e JOIN a USING (rn__)"
        ).fetchall()[0]
        differing = {c: n for c, n in zip(common, row, strict=True) if n}
    return TableDifference(expected, counts, missing, differing)

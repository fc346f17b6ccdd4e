"""Metadata every Python-written table shows in the Dagster UI, built one way: table name, column
schema (names, DuckDB types, the column comments `health.schemas.write_mart` writes), row count,
and floats rounded to what a reader can use.

Not an asset module: the asset modules call these helpers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import dagster as dg
import pandas as pd

from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.health import schemas

DIGITS = 4


def rounded(value: float | None, digits: int = DIGITS) -> float | None:
    """A float for metadata, rounded (None and NaN stay None: the UI shows them as missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def column_schema(columns: Iterable[tuple[str, str, str]]) -> dg.TableSchema:
    """A Dagster table schema from (name, type, description) triples."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type=type_.lower(), description=description) for name, type_, description in columns
        ]
    )


def mart_spec_metadata(mart: str, schema: str = "marts") -> dict:
    """Definition metadata of a Python mart declared in `health.schemas`: its table name and columns,
    shown in the UI before the first materialization."""
    return {
        "dagster/table_name": f"{schema}.{mart}",
        "dagster/column_schema": column_schema(schemas.MARTS[mart]),
    }


def table_metadata(table: str) -> dict:
    """Materialization metadata of a warehouse table (`schema.name`) as written: table name, the
    columns with types and comments, row count."""
    schema, name = table.split(".")
    with connect(get_settings(), read_only=True) as con:
        columns = con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, name],
        ).fetchall()
        rows = con.execute(f"SELECT count(*) FROM {schema}.{name}").fetchone()[0]
    return {
        "dagster/table_name": table,
        "dagster/column_schema": column_schema((c, t, d or "") for c, t, d in columns),
        "dagster/row_count": int(rows),
    }


def markdown_table(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> dg.MetadataValue:
    """A frame as a Markdown table with floats rounded (the UI shows every digit otherwise)."""
    return dg.MetadataValue.md(frame.round(digits).to_markdown(index=index))

"""The staging models accept exactly the enum values of the raw data contract.

The allowed values of an enum column (a subscription's status, a ticket's priority, ...) are
declared once, in the contract's `enums`; ingestion quarantines rows outside them. The staging
yml repeats them in `accepted_values` tests, because dbt cannot read Python. These tests fail as
soon as the two lists disagree, or a contract enum has no staging test.

A staging model's contract table is the source table it reads; its column is the contract column
of the same name, or the one named by the column's `meta.contract_column` when staging renames it
(`status` -> `invoice_status`). Columns staging derives itself (`nps_category`) are not compared.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

try:
    from dagster_project.core.contract import TABLES
except ModuleNotFoundError:
    from dagster_project.contract import TABLES

STAGING_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging"
SOURCE_CALL = re.compile(r"""\bsource\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]\s*\)""")


def _contract_table(model: str) -> str:
    """The raw table a staging model reads: the table of its one source() call."""
    files = list(STAGING_DIR.rglob(f"{model}.sql"))
    assert len(files) == 1, f"expected one file {model}.sql under {STAGING_DIR}, found {files}"
    tables = {table for _, table in SOURCE_CALL.findall(files[0].read_text())}
    assert len(tables) == 1, f"{files[0]} should read exactly one source table, reads {sorted(tables)}"
    (table,) = tables
    assert table in TABLES, f"{files[0]} reads source table {table!r}, which is not in the raw data contract"
    return table


def _accepted_values(column: dict) -> list[str] | None:
    """The values of the column's accepted_values test, or None without one."""
    for test in column.get("data_tests", column.get("tests", [])) or []:
        if isinstance(test, dict) and "accepted_values" in test:
            spec = test["accepted_values"]
            return list(spec.get("arguments", spec)["values"])
    return None


def _staging_enum_tests() -> list[tuple[str, str, str, list[str]]]:
    """(model, column, contract column, accepted values) for every accepted_values test in staging."""
    found = []
    for path in sorted(STAGING_DIR.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            for column in model.get("columns", []):
                values = _accepted_values(column)
                if values is None:
                    continue
                meta = {**column.get("meta", {}), **column.get("config", {}).get("meta", {})}
                found.append((model["name"], column["name"], meta.get("contract_column", column["name"]), values))
    return found


STAGING_ENUM_TESTS = _staging_enum_tests()


def test_the_staging_yml_has_accepted_values_tests():
    """Guard the guard: an empty list (a moved folder, a new yml layout) would pass every test below."""
    assert len(STAGING_ENUM_TESTS) >= 8, STAGING_ENUM_TESTS


@pytest.mark.parametrize(
    ("model", "column", "contract_column", "values"),
    STAGING_ENUM_TESTS,
    ids=[f"{model}.{column}" for model, column, _, _ in STAGING_ENUM_TESTS],
)
def test_accepted_values_are_the_contract_enum(model, column, contract_column, values):
    table = TABLES[_contract_table(model)]
    if contract_column not in table.columns:
        pytest.skip(f"{model}.{column} is derived in staging, not a column of the contract's {table.name}")
    enum = table.enums.get(contract_column)
    assert enum is not None, (
        f"{model}.{column} has an accepted_values test, but the contract (TABLES[{table.name!r}]) has no enum for "
        f"{contract_column!r}: add it to the contract's enums, or remove the test."
    )
    assert sorted(values) == sorted(enum), (
        f"accepted_values of {model}.{column} in the staging yml are {sorted(values)}, the contract's enum "
        f"{table.name}.{contract_column} is {sorted(enum)}: copy the contract's values into the yml."
    )


@pytest.mark.parametrize(
    ("table", "column"),
    [(table.name, column) for table in TABLES.values() for column in table.enums],
)
def test_every_contract_enum_has_a_staging_test(table, column):
    tested = {(_contract_table(model), contract_column) for model, _, contract_column, _ in STAGING_ENUM_TESTS}
    assert (table, column) in tested, (
        f"the contract's enum {table}.{column} has no accepted_values test in the staging yml: add one to the "
        f"column of the staging model that reads {table} (with meta.contract_column: {column} if staging renames it)."
    )

"""The billing-interval format is one rule, written twice: in the raw contract (ingestion nulls text
that does not match it) and in the staging model that normalizes it to months (dbt cannot read
Python). The two patterns must be the same text, and the pattern must accept exactly the intervals
the docs promise."""

from __future__ import annotations

import re

import duckdb
import pytest

from dagster_project.core.contract import BILLING_INTERVAL_PATTERN, TABLES
from dagster_project.core.settings import DBT_PROJECT_DIR
from dagster_project.quality.quarantine import format_condition

STAGING_MODEL = DBT_PROJECT_DIR / "models" / "staging" / "billing" / "stg_billing__subscriptions.sql"
SET_BLOCK = re.compile(r"\{%-?\s*set billing_interval_pattern\s*=(.*?)-?%\}", re.S)


def test_the_staging_model_uses_the_contracts_pattern():
    block = SET_BLOCK.search(STAGING_MODEL.read_text())
    assert block, f"{STAGING_MODEL} has no `set billing_interval_pattern` block"
    pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', block.group(1))
    assert "".join(pieces) == BILLING_INTERVAL_PATTERN, (
        f"the pattern in {STAGING_MODEL} differs from BILLING_INTERVAL_PATTERN in dagster_project/core/contract.py: "
        "copy the contract's pattern into the model."
    )
    assert TABLES["subscriptions"].formats["billing_interval"] == BILLING_INTERVAL_PATTERN


ACCEPTED = [
    "month", "year", "6 months", " 6 Months ", "1 year", "2 weeks", "30 days", "annual", "monthly",
    "quarterly", "every 3 months", "12-month", "yearly", "week", "day", "annually", "quarter", "2 years",
]  # fmt: skip
REJECTED = ["whenever", "0 months", "", "6", "months 6", "bi-weekly", "1.5 months", "every", "6 monthss"]


def _broken(text: str | None) -> bool:
    """Whether ingestion would null `text` (the quarantine's SQL condition, run in DuckDB)."""
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT {format_condition('x', BILLING_INTERVAL_PATTERN)} FROM (SELECT CAST(? AS VARCHAR) AS x)", [text]
        ).fetchone()[0]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_intervals(text):
    assert _broken(text) is False


@pytest.mark.parametrize("text", REJECTED)
def test_rejected_intervals(text):
    assert _broken(text) is True


def test_a_missing_interval_is_not_a_broken_one():
    assert not _broken(None)

"""Great Expectations suites generated from the raw contract and the SLA file.

`expected_suites()` is the generator: one suite per raw table, one per key staging model and the
training gate on `marts.ml_account_snapshots`, each expectation tagged in `meta` with the SLA it
enforces and the severity of a failure. `ahw suites` writes them
(and the SQL data assets and validation definitions that run them) into the committed GX File Data
Context in `expectations/`; a test fails while the committed suites differ from the generated ones.

GX validates the DuckDB tables in place through a SQL data source (duckdb-engine): every
expectation is a SQL query, nothing is loaded into pandas.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from dagster_project.core.contract import TABLES, RawTable
from dagster_project.quality.quarantine import account_ids_sql, landed_rows, scoped_rows
from dagster_project.quality.sla import BLOCK, WARN, Sla, load_sla

DATASOURCE = "warehouse"
BATCH_DEFINITION = "whole_table"
# Expectation parameter filled in at validation time (GX `$PARAMETER`): the run's "now".
RUN_TIME_PARAMETER = "run_time"
KNOWN_ACCOUNT_COLUMN = "account_id_is_known"

# The staging model of each raw table (dbt_project/models/staging/<source>/).
STAGING_MODELS = {
    "accounts": "stg_product__accounts",
    "users": "stg_product__users",
    "events": "stg_product__events",
    "subscriptions": "stg_billing__subscriptions",
    "invoices": "stg_billing__invoices",
    "tickets": "stg_support__tickets",
    "nps_responses": "stg_feedback__nps_responses",
    "cs_activities": "stg_cs__activities",
}
STAGING_SCHEMA = "staging"
SNAPSHOT_TABLE = "marts.ml_account_snapshots"
SNAPSHOT_KEY = ("account_id", "as_of_date")
SNAPSHOT_LABEL = "churned_within_90d"


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: its GX type (snake_case), its kwargs and the SLA it enforces."""

    type: str
    kwargs: dict[str, Any]
    sla: str
    severity: str  # block | warn
    threshold: float | None = None
    comparison: str = ""  # how the observed value must compare with the threshold, for people

    @property
    def column(self) -> str | None:
        if "column" in self.kwargs:
            return self.kwargs["column"]
        if "column_list" in self.kwargs:
            return ",".join(self.kwargs["column_list"])
        if "column_A" in self.kwargs:
            return self.kwargs["column_A"]
        return None

    def meta(self) -> dict[str, Any]:
        return {"sla": self.sla, "severity": self.severity, "threshold": self.threshold, "comparison": self.comparison}


@dataclass(frozen=True)
class SuiteSpec:
    """One suite, the SQL the data asset validates, and the key columns examples are reported by."""

    name: str  # also the data asset and validation definition name, e.g. "raw.events"
    query: str
    key_columns: tuple[str, ...]
    expectations: list[ExpectationSpec] = field(default_factory=list)


def landed_query(table: RawTable) -> str:
    """Every row of this load (`quarantine.landed_rows`: raw plus quarantined, within the scope of
    the last load), with whether its account is known for tables that reference accounts."""
    cols = ", ".join(table.columns)
    known = ""
    if table.account_fk:
        known = (
            f", CASE WHEN account_id IS NULL THEN NULL ELSE account_id IN ({account_ids_sql()}) END "
            f"AS {KNOWN_ACCOUNT_COLUMN}"
        )
    return f"SELECT {cols}{known} FROM ({landed_rows(table)}) AS landed"


def raw_suite(table: RawTable, sla: Sla) -> SuiteSpec:
    """Completeness, duplicate keys, referential integrity and validity of one raw table.

    Validity is measured here for the required columns only: an unusable value in an optional column
    is set to NULL in raw by the quarantine (its row stays), so its rate is measured from
    `quarantine.nulled_values` instead (`checks.nulled_outcomes`)."""
    ex: list[ExpectationSpec] = []
    required = set(table.required)
    for col in sla.critical_columns(table.name):
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_not_be_null",
                {"column": col, "mostly": sla.min_non_null_rate},
                "completeness",
                BLOCK,
                sla.min_non_null_rate,
                ">= non-null rate",
            )
        )
    # proportion of unique keys = distinct / rows = 1 - duplicate rate; the SLA is "< max rate".
    ex.append(
        ExpectationSpec(
            "expect_column_proportion_of_unique_values_to_be_between",
            {"column": table.primary_key, "min_value": round(1.0 - sla.max_duplicate_rate, 10), "strict_min": True},
            "duplicates",
            BLOCK,
            sla.max_duplicate_rate,
            "< duplicate rate",
        )
    )
    if table.account_fk:
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_be_in_set",
                {"column": KNOWN_ACCOUNT_COLUMN, "value_set": [True], "mostly": sla.min_known_account_rate},
                "referential_integrity",
                BLOCK,
                sla.min_known_account_rate,
                ">= known-account rate",
            )
        )
    for col in [c for c in sla.no_future_timestamps.get(table.name, ()) if c in required]:
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_be_between",
                {"column": col, "max_value": {"$PARAMETER": RUN_TIME_PARAMETER}, "mostly": sla.min_valid_rate},
                "validity",
                WARN,
                sla.min_valid_rate,
                ">= valid rate (not after the run time)",
            )
        )
    for col, start in [(c, s) for c, s in sla.not_before.get(table.name, {}).items() if c in required]:
        ex.append(
            ExpectationSpec(
                "expect_column_pair_values_a_to_be_greater_than_b",
                {
                    "column_A": col,
                    "column_B": start,
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                    "mostly": sla.min_valid_rate,
                },
                "validity",
                WARN,
                sla.min_valid_rate,
                f">= valid rate (not before {start})",
            )
        )
    for col in [c for c in sla.non_negative.get(table.name, ()) if c in required]:
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_be_between",
                {"column": col, "min_value": 0, "mostly": sla.min_valid_rate},
                "validity",
                WARN,
                sla.min_valid_rate,
                ">= valid rate (>= 0)",
            )
        )
    for col, (lo, hi) in [(c, r) for c, r in sla.ranges.get(table.name, {}).items() if c in required]:
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_be_between",
                {"column": col, "min_value": lo, "max_value": hi, "mostly": sla.min_valid_rate},
                "validity",
                WARN,
                sla.min_valid_rate,
                f">= valid rate (within {lo:g}-{hi:g})",
            )
        )
    for col, values in [(c, v) for c, v in table.enums.items() if c in required]:
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_be_in_set",
                {"column": col, "value_set": list(values), "mostly": sla.min_valid_rate},
                "validity",
                WARN,
                sla.min_valid_rate,
                ">= valid rate (known value)",
            )
        )
    return SuiteSpec(
        name=table.qualified_name, query=landed_query(table), key_columns=(table.primary_key,), expectations=ex
    )


def staging_suite(table: RawTable) -> SuiteSpec:
    """A staging model: one row per key (duplicates removed), keys and account ids present; within
    the scope of the raw table's last load."""
    model = f"{STAGING_SCHEMA}.{STAGING_MODELS[table.name]}"
    ex = [
        ExpectationSpec(
            "expect_column_values_to_not_be_null",
            {"column": table.primary_key},
            "completeness",
            BLOCK,
            1.0,
            ">= non-null rate",
        ),
        # distinct keys / keys = 1: one aggregate (expect_column_values_to_be_unique groups and joins
        # every key, ~4x the cost on 100 M events); the duplicated keys are looked up only on failure
        ExpectationSpec(
            "expect_column_proportion_of_unique_values_to_be_between",
            {"column": table.primary_key, "min_value": 1.0},
            "duplicates",
            BLOCK,
            0.0,
            "== duplicate rate",
        ),
    ]
    if table.account_fk:
        ex.append(
            ExpectationSpec(
                "expect_column_values_to_not_be_null",
                {"column": "account_id"},
                "completeness",
                BLOCK,
                1.0,
                ">= non-null rate",
            )
        )
    return SuiteSpec(name=model, query=scoped_rows(table, model), key_columns=(table.primary_key,), expectations=ex)


def snapshot_suite(sla: Sla) -> SuiteSpec:
    """The training gate: what churn_model needs from marts.ml_account_snapshots."""
    ex = [
        ExpectationSpec("expect_table_row_count_to_be_between", {"min_value": 1}, "snapshot_gate", BLOCK, 1, ">= rows"),
        *[
            ExpectationSpec(
                "expect_column_values_to_not_be_null", {"column": c}, "snapshot_gate", BLOCK, 1.0, ">= non-null rate"
            )
            for c in (*SNAPSHOT_KEY, "is_censored")
        ],
        ExpectationSpec(
            "expect_compound_columns_to_be_unique",
            {"column_list": list(SNAPSHOT_KEY)},
            "snapshot_gate",
            BLOCK,
            0.0,
            "== duplicate rate",
        ),
        ExpectationSpec(
            "unexpected_rows_expectation",
            {
                "unexpected_rows_query": f"SELECT * FROM {{batch}} WHERE is_censored AND {SNAPSHOT_LABEL} IS NOT NULL",
                "description": "Censored snapshots (label window not yet observed) have no label.",
            },
            "snapshot_gate",
            BLOCK,
            0,
            "== rows",
        ),
        ExpectationSpec(
            "unexpected_rows_expectation",
            {
                "unexpected_rows_query": (
                    f"SELECT labelled_rows FROM (SELECT count({SNAPSHOT_LABEL}) AS labelled_rows "
                    f"FROM {{batch}}) AS counted WHERE labelled_rows < {sla.snapshot_min_labelled_rows}"
                ),
                "description": f"At least {sla.snapshot_min_labelled_rows} labelled snapshots to train on.",
            },
            "snapshot_gate",
            BLOCK,
            sla.snapshot_min_labelled_rows,
            ">= labelled rows",
        ),
    ]
    return SuiteSpec(
        name=SNAPSHOT_TABLE, query=f"SELECT * FROM {SNAPSHOT_TABLE}", key_columns=SNAPSHOT_KEY, expectations=ex
    )


def expected_suites(sla: Sla | None = None) -> dict[str, SuiteSpec]:
    """Every suite, generated from the contract and the SLA file: raw tables, staging models, the gate."""
    sla = sla or load_sla()
    suites = [raw_suite(t, sla) for t in TABLES.values()]
    suites += [staging_suite(t) for t in TABLES.values()]
    suites.append(snapshot_suite(sla))
    return {s.name: s for s in suites}


def staging_suite_names() -> list[str]:
    return [f"{STAGING_SCHEMA}.{STAGING_MODELS[t]}" for t in TABLES]


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def to_gx_suite(spec: SuiteSpec):
    """The GX ExpectationSuite of a spec (imports GX: call only where GX is needed)."""
    from dagster_project.quality.gx_runtime import import_gx

    gx = import_gx()

    suite = gx.ExpectationSuite(
        name=spec.name, meta={"generated_by": "dagster_project.quality.suites", "key_columns": list(spec.key_columns)}
    )
    for e in spec.expectations:
        kwargs = dict(e.kwargs)
        cls = getattr(gx.expectations, _camel(e.type))
        suite.add_expectation(cls(**kwargs, meta=e.meta()))
    return suite


def write_context(root=None) -> list[str]:
    """(Re)write the suites, SQL data assets and validation definitions of the committed GX context."""
    from dagster_project.quality import gx_runtime

    context = gx_runtime.get_context(root)
    specs = expected_suites()
    # validation definitions first: they can only be listed while their data source exists
    for name in [vd.name for vd in context.validation_definitions.all()]:
        context.validation_definitions.delete(name)
    for suite in list(context.suites.all()):
        context.suites.delete(suite.name)
    try:
        context.data_sources.delete(DATASOURCE)
    except Exception:  # noqa: BLE001 - absent on the first generation
        pass
    datasource = context.data_sources.add_sql(name=DATASOURCE, connection_string=gx_runtime.CONNECTION_STRING)
    written = []
    for spec in specs.values():
        asset = datasource.add_query_asset(name=spec.name, query=spec.query)
        batch = asset.add_batch_definition_whole_table(BATCH_DEFINITION)
        suite = context.suites.add(to_gx_suite(spec))
        import great_expectations as gx

        context.validation_definitions.add(gx.ValidationDefinition(name=spec.name, data=batch, suite=suite))
        written.append(spec.name)
    return written


def main(argv: list[str] | None = None) -> None:
    """CLI: regenerate the committed suites after a change to the contract or expectations/sla.yml."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.parse_args(argv)
    for name in write_context():
        print(f"wrote suite and validation definition {name}")

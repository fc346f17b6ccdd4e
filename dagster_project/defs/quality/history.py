"""`marts.mart_data_quality` as an asset: every check step (`checks.py`) appends its measures to it;
this asset, downstream of the training gate's snapshot table, puts the table in the graph with its
columns and the newest run's failed measures."""

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import column_schema, markdown_table, table_metadata
from dagster_project.quality.checks import HISTORY_COLUMNS, HISTORY_TABLE


@dg.asset(
    key=HISTORY_TABLE.split("."),
    group_name="quality",
    deps=[dg.AssetKey(["marts", "ml_account_snapshots"])],
    kinds={"duckdb", "python", "great_expectations"},
    metadata={
        "dagster/table_name": HISTORY_TABLE,
        "dagster/column_schema": column_schema((c, t, "") for c, t in HISTORY_COLUMNS.items()),
    },
    description="One row per data-quality measure and check run: table, column, check, SLA, observed value, "
    "threshold, passed, severity, failing and quarantined rows, run time. The Great Expectations check steps "
    "append to it; this asset summarizes the newest check run.",
)
def mart_data_quality(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with connect(get_settings(), read_only=True) as con:
        failed = con.sql(
            f"""
            SELECT table_name, column_name, check_name, observed_value, threshold, severity
            FROM {HISTORY_TABLE}
            WHERE run_id = (SELECT arg_max(run_id, checked_at) FROM {HISTORY_TABLE}) AND NOT passed
            """
        ).df()
    return dg.MaterializeResult(
        metadata={
            **table_metadata(HISTORY_TABLE),
            "failed_in_latest_check_run": len(failed),
            "latest_failures": markdown_table(failed),
        }
    )

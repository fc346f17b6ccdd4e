"""Ingestion: one asset per raw table of the contract, loading landing files into `raw`.

raw.events is daily-partitioned: a run for a partition (range) reloads the events from its first
day minus the look-back window; a full refresh reloads everything, like the other tables. The
simulator's ground truth is an asset of its own group, `simulator`: it is not part of the contract.
"""

import dagster as dg

from dagster_project.core import clock
from dagster_project.core.contract import GROUND_TRUTH_TABLE, TABLES, RawTable
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import column_schema
from dagster_project.defs.partitions import daily_partitions, refresh_from_date, single_run, unrecorded_partitions
from dagster_project.ingest.landing import INCREMENTAL_COLUMNS, SIM_SCHEMA, load_ground_truth, load_table
from dagster_project.ingest.spark_raw import export_raw_table
from dagster_project.quality.quarantine import quarantine_table
from dagster_project.quality.sla import load_sla

INGEST_GROUP = "ingest"
SIMULATOR_GROUP = "simulator"
# Raw columns with personal data (SPEC section 3); staging pseudonymizes or drops them.
PII_COLUMNS = {"users": ("email",), "tickets": ("subject",), "nps_responses": ("comment",)}


def _raw_table_asset(table: RawTable) -> dg.AssetsDefinition:
    incremental = table.name in INCREMENTAL_COLUMNS
    pii = PII_COLUMNS.get(table.name, ())

    @dg.asset(
        partitions_def=daily_partitions if incremental else None,
        backfill_policy=single_run if incremental else None,
        key=["raw", table.name],
        group_name=INGEST_GROUP,
        kinds={"duckdb", "python"},
        tags={"pii": "raw"} if pii else None,
        metadata={
            "dagster/table_name": f"raw.{table.name}",
            "dagster/column_schema": column_schema(
                (
                    name,
                    type_,
                    ("Required" if name in table.required else "Optional")
                    + (" (PII: pseudonymized or dropped in staging)." if name in pii else "."),
                )
                for name, type_ in table.columns.items()
            ),
        },
        # orphans are found against raw.accounts, so it is loaded (and quarantined) first
        deps=[dg.AssetKey(["raw", "accounts"])] if table.account_fk else None,
        description=(
            f"Raw `{table.name}` loaded from landing files (Parquet/CSV) and checked against the "
            f"contract: required columns {', '.join(table.required)}; primary key {table.primary_key}."
            + ("" if table.mandatory else " Optional: an empty table when not provided.")
            + (
                " Daily partitions: a partition run reloads the days from its first day minus the "
                "look-back window (AHW_LOOKBACK_DAYS); a run without a partition reloads everything."
                if incremental
                else ""
            )
        ),
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = get_settings()
        since = refresh_from_date(context.run.tags, settings.lookback_days) if incremental else None
        unrecorded = unrecorded_partitions(context.run.tags) if incremental else None
        if unrecorded:
            context.log.warning(unrecorded)
        with connect(settings) as con:
            result = load_table(con, table, settings.landing_dir, since=since)
            quarantined = quarantine_table(
                con,
                table,
                load_sla(),
                clock.now(),
                since=(INCREMENTAL_COLUMNS[table.name], result.since) if result.since else None,
            )
            if settings.engine == "spark":
                # what passed the contract and the quarantine, as the Parquet folder dbt reads on Spark
                export_raw_table(con, table.name, settings.spark_raw_dir)
        if not result.provided:
            context.log.warning(f"No landing files for optional table '{table.name}': features from it are absent.")
        return dg.MaterializeResult(
            metadata={
                # the whole table; a partition run's own rows are rows_loaded
                "dagster/row_count": quarantined.table_rows,
                "rows_loaded": quarantined.raw_rows,
                "landed_rows": result.rows,
                "quarantined_rows": quarantined.quarantined_rows,
                "quarantine_reasons": dg.MetadataValue.json(quarantined.reasons_summary()),
                # unusable optional values set to NULL, rows kept (originals in quarantine.nulled_values)
                "nulled_values": quarantined.nulled_values,
                "nulled_reasons": dg.MetadataValue.json(quarantined.nulled_summary()),
                "files": len(result.files),
                "provided": result.provided,
                "missing_optional_columns": ", ".join(result.missing_optional_columns) or "none",
                "extra_columns": ", ".join(result.extra_columns) or "none",
                "landing_dir": str(settings.landing_dir / table.name),
                "reloaded_from": result.since.isoformat() if result.since else "everything",
                **({"partitions_not_recorded": unrecorded} if unrecorded else {}),
            }
        )

    return _asset


raw_table_assets = [_raw_table_asset(t) for t in TABLES.values()]


@dg.asset(
    key=[SIM_SCHEMA, f"ground_truth_{GROUND_TRUTH_TABLE}"],
    group_name=SIMULATOR_GROUP,
    kinds={"duckdb", "python"},
    description="The simulator's ground truth (latent health, true churn hazard per account-week), "
    "used only to report the oracle AUC. Empty for a real company's data.",
)
def ground_truth(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    with connect(settings) as con:
        rows = load_ground_truth(con, settings.landing_dir)
    if rows is None:
        context.log.info("No simulator ground truth in the landing folder: the oracle AUC is not reported.")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows or 0, "present": rows is not None})

"""Privacy jobs (SPEC section 7): `retention` prunes old raw events, `erase_account` removes one account.

Both are op jobs, run on demand from the UI or the command line (see docs/privacy.md); they are not
part of the asset graph, so the refresh jobs never run them. The work happens in `dagster_project.serve.privacy`.
"""

import dagster as dg

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.serve import privacy


class RetentionConfig(dg.Config):
    """Keep this many months of raw events; 0 means AHW_RETENTION_MONTHS."""

    months: int = 0


@dg.op(description="Delete raw events older than the retention period from landing files, raw and quarantine.")
def prune_old_events(context: dg.OpExecutionContext, config: RetentionConfig) -> dg.Output[int]:
    settings = get_settings()
    months = config.months or settings.retention_months
    cutoff = privacy.months_before(clock.now(), months)
    with connect(settings) as con:
        result = privacy.prune_events(
            con, settings.landing_dir, cutoff, settings.spark_raw_dir if settings.engine == "spark" else None
        )
    removed = sum(result.rows_removed.values())
    context.log.info(f"Pruned events before {cutoff:%Y-%m-%d %H:%M} ({months} months): {removed} rows removed.")
    return dg.Output(
        removed,
        metadata={
            "retention_months": months,
            "cutoff": cutoff.isoformat(),
            "rows_removed": removed,
            "raw_events_kept": result.rows_kept,
            "rows_removed_by_location": dg.MetadataValue.json(result.rows_removed),
        },
    )


@dg.job(
    name="retention",
    description="Prune raw events older than AHW_RETENTION_MONTHS (default 13) from the landing files, "
    "raw.events and quarantine.events. Derived tables follow at the next refresh.",
)
def retention_job():
    prune_old_events()


class EraseAccountConfig(dg.Config):
    """The account to erase, exactly as in the raw data (e.g. acc_000042)."""

    account_id: str


@dg.op(description="Remove one account from landing files, every warehouse table and the published marts.")
def erase_account_data(context: dg.OpExecutionContext, config: EraseAccountConfig) -> dg.Output[int]:
    settings = get_settings()
    # On purpose the real time, not the project's (pinnable) clock: the erasure audit log records when
    # the data really left, which a pinned AHW_NOW must not rewrite.
    erased_at = clock.wall_clock().replace(tzinfo=None)
    with connect(settings) as con:
        counts = privacy.erase_account(
            con,
            settings.landing_dir,
            settings.publish_dir,
            config.account_id,
            run_id=context.run_id,
            salt=settings.pii_salt,
            erased_at=erased_at,
            parquet_dirs=settings.spark_parquet_dirs,
        )
    removed = sum(counts.values())
    touched = {location: n for location, n in counts.items() if n}
    # The account id itself stays out of the metadata: the audit log keeps only its salted hash.
    context.log.info(f"Erased {removed} rows in {len(touched)} locations; audit record in {privacy.ERASURE_LOG}.")
    return dg.Output(
        removed,
        metadata={
            "account_hash": privacy.account_hash(config.account_id.strip(), settings.pii_salt),
            "rows_removed": removed,
            "rows_removed_by_location": dg.MetadataValue.json(touched),
            "locations_checked": len(counts),
            "audit_log": privacy.ERASURE_LOG,
            "erased_at": erased_at.isoformat(),
        },
    )


@dg.job(
    name="erase_account",
    description="Erase one account everywhere: landing files, raw, quarantine, staging, intermediate, marts, "
    "the simulator's ground truth and the published DuckDB file and Parquet. Config: account_id.",
)
def erase_account_job():
    erase_account_data()

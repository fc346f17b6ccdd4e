"""Jobs and schedules: the daily refresh (ingest -> transform -> score -> publish)."""

import dagster as dg

daily_refresh_job = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest new landing files, build and test the dbt models, retrain and score the churn model, publish the marts.",
)

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh_schedule",
    job=daily_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 05:00 UTC, so health scores are ready before the CS team starts.",
)


"""Jobs and schedules.

- `full_refresh`: every asset, training included. The first run on a new warehouse, and `make run`.
- `daily_refresh`: ingest -> checks -> dbt -> score with the champion model -> publish. No training.
- `weekly_retrain`: retrain the models (champion/challenger) and rescore everything downstream.
"""

import dagster as dg

MODELS = dg.AssetSelection.groups("models")

full_refresh_job = dg.define_asset_job(
    name="full_refresh",
    selection=dg.AssetSelection.all(),
    description="Everything, training included: ingest, checks, dbt, train and promote models, score, publish. "
    "Run it once on a new warehouse (make run does).",
)

daily_refresh_job = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all() - MODELS,
    description="Ingest new landing files, run the checks, build and test the dbt models, score every account "
    "with the champion model, publish the marts. Training happens in weekly_retrain.",
)

weekly_retrain_job = dg.define_asset_job(
    name="weekly_retrain",
    selection=MODELS.downstream(),
    description="Retrain the models on the newest labels; a challenger replaces the champion only if its "
    "backtest is not worse. Then rescore and republish.",
)

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh_schedule",
    job=daily_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 05:00 UTC, so health scores are ready before the CS team starts.",
)

weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain_schedule",
    job=weekly_retrain_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays at 03:00 UTC, before the daily refresh, on the week's newest labels.",
)

"""The customer-success assets sit in the right jobs, and every job resolves (a multi-asset cannot be split)."""

import dagster as dg

from dagster_project.defs import automation

CS_MARTS = {
    dg.AssetKey(["marts", m])
    for m in (
        "mart_account_health",
        "mart_account_health_history",
        "mart_health_alerts",
        "mart_expansion_opportunities",
        "mart_segments",
        "mart_segment_profiles",
        "mart_segment_history",
        "mart_business_kpis",
        "mart_alert_outcomes",
        "mart_playbook_outcomes",
        "mart_alert_rule_precision",
        "mart_cs_operations",
        "mart_roi",
    )
}
MODELS = {dg.AssetKey(["models", "churn_model"]), dg.AssetKey(["models", "expansion_model"])}


def _keys(job):
    from dagster_project.definitions import defs

    definitions = defs()
    definitions.resolve_job_def(job.name)  # raises if the selection splits a multi-asset
    return job.selection.resolve(definitions.resolve_asset_graph())


def test_daily_refresh_scores_and_publishes_without_training():
    keys = _keys(automation.daily_refresh_job)
    assert CS_MARTS <= keys and not MODELS & keys


def test_weekly_retrain_trains_both_models_and_republishes():
    keys = _keys(automation.weekly_retrain_job)
    assert CS_MARTS | MODELS <= keys

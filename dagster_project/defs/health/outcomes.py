"""Did the playbooks work? The outcome marts: one row per alert, playbook x month cohort against
the holdout, the precision of each alert rule, the CS team's weekly operations, and the ROI.

All five come from one pass over the alerts, so they are one multi-asset (a job that selects one
selects all five).
"""

import dagster as dg
import pandas as pd

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect, table_exists
from dagster_project.defs.metadata import markdown_table, mart_spec_metadata, table_metadata
from dagster_project.health import operations, outcomes, schemas
from dagster_project.ml.snapshots import CHURN_LABEL

UPSTREAM = [
    dg.AssetKey(["marts", "mart_health_alerts"]),
    dg.AssetKey(["marts", "mart_account_health_history"]),
    dg.AssetKey(["marts", "ml_account_snapshots"]),
    dg.AssetKey(["intermediate", "int_account_churn_dates"]),
    dg.AssetKey(["staging", "stg_cs__activities"]),
]
ACTIVITIES = ("staging", "stg_cs__activities")
ACTIVITY_COLUMNS = ["activity_id", "account_id", "alert_id", "created_at", "outcome", "feedback", "feedback_reason"]
MARTS = {
    "mart_alert_outcomes": "One row per alert: group, first action and SLA, engagement, churned / expanded / "
    "score recovered within the horizon, true positive, CSM feedback.",
    "mart_playbook_outcomes": "Playbook x month cohort: alerts, actions, engagement, SLA adherence, churn of "
    "playbook vs holdout episodes with the difference and its 95 % interval, ARR saved, a verdict.",
    "mart_alert_rule_precision": "Per alert rule: precision (overall and on the holdout), share marked not "
    "useful, and the churns it preceded or missed.",
    "mart_cs_operations": "Per week: alerts, holdout alerts, actions, engagement rate, SLA adherence.",
    "mart_roi": "The ROI template over the trailing year: ARR at risk x measured churn reduction = ARR retained, "
    "yearly cost, payback months, net ROI, with 95 % intervals.",
}


@dg.multi_asset(
    group_name="health",
    specs=[
        dg.AssetSpec(
            ["marts", mart],
            kinds={"duckdb", "python"},
            metadata=mart_spec_metadata(mart),
            deps=UPSTREAM,
            description=description,
        )
        for mart, description in MARTS.items()
    ],
)
def outcome_marts(context: dg.AssetExecutionContext):
    settings = get_settings()
    now = pd.Timestamp(clock.now()).tz_localize(None)
    horizon = settings.churn_horizon_days
    with connect(settings, read_only=True) as con:
        alerts = con.sql("SELECT * FROM marts.mart_health_alerts").df()
        history = con.sql(
            "SELECT account_id, as_of_date, health_score, arr_usd FROM marts.mart_account_health_history"
        ).df()
        labels = con.sql(
            f"SELECT account_id, as_of_date, {CHURN_LABEL}, expanded_within_90d FROM marts.ml_account_snapshots"
        ).df()
        churn_dates = con.sql("SELECT account_id, churn_date FROM intermediate.int_account_churn_dates").df()
        if table_exists(con, *ACTIVITIES):
            activities = con.sql(f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM {'.'.join(ACTIVITIES)}").df()
        else:
            activities = pd.DataFrame(columns=ACTIVITY_COLUMNS)
    linked = outcomes.link_activities(alerts, activities, horizon)
    per_alert = outcomes.alert_outcomes(alerts, linked, labels, history, now, horizon)
    playbooks = outcomes.playbook_outcomes(per_alert)
    precision = outcomes.rule_precision(per_alert, churn_dates, now, horizon)
    weekly = operations.weekly_operations(per_alert)
    costs = operations.CostInputs(
        settings.roi_tooling_usd_per_year, settings.roi_hours_per_action, settings.roi_hourly_cost_usd
    )
    roi = operations.roi(per_alert, playbooks, costs, now)
    frames = {
        "mart_alert_outcomes": per_alert,
        "mart_playbook_outcomes": playbooks,
        "mart_alert_rule_precision": precision,
        "mart_cs_operations": weekly,
        "mart_roi": roi,
    }
    with connect(settings) as con:
        for mart, frame in frames.items():
            schemas.write_mart(con, mart, frame[schemas.columns(mart)] if len(frame) else schemas.empty(mart))

    totals = playbooks[playbooks["cohort_month"].isna()]
    extra = {
        "mart_alert_outcomes": {
            "activities": len(activities),
            "activities_linked_by_alert_id": int((linked["linked_by"] == "alert_id").sum()),
            "activities_linked_by_account_time": int((linked["linked_by"] == "account_time").sum()),
            "activities_without_alert": int(linked["linked_by"].isna().sum()),
        },
        "mart_playbook_outcomes": {
            "by_playbook": markdown_table(
                totals[
                    [
                        "playbook",
                        "known_playbook",
                        "known_holdout",
                        "churn_rate_playbook",
                        "churn_rate_holdout",
                        "churn_difference",
                        "churn_difference_low",
                        "churn_difference_high",
                        "verdict",
                    ]
                ]
            ),
        },
        "mart_alert_rule_precision": {"precision": markdown_table(precision)},
        "mart_cs_operations": {},
        "mart_roi": {"roi": markdown_table(roi.drop(columns=["period_start_date", "period_end_date"]).T, index=True)},
    }
    for mart in MARTS:
        yield dg.MaterializeResult(
            asset_key=["marts", mart], metadata={**table_metadata(f"marts.{mart}"), **extra[mart]}
        )

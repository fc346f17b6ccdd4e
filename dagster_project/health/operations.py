"""The customer-success team's operational KPIs by week, and the ROI of acting on alerts.

Both read `mart_alert_outcomes` and `mart_playbook_outcomes` (`health.outcomes`):

- per week (Monday of the alert date): alerts raised, in the holdout, actions, engagement rate
  (worked playbook alerts that ended completed or escalated) and SLA adherence (first action by
  respond_by, among person-owned playbook alerts whose deadline has passed);
- ROI over the trailing year: ARR at risk (ARR at the first alert of the playbook episodes that
  started in the year) x measured churn reduction (holdout churn rate minus playbook churn rate,
  all playbooks, all months) = ARR retained; the yearly cost of the tooling and of the CS time
  (actions x hours per action x hourly cost, from settings); payback in months and net ROI.
  Every money figure carries the 95 % interval of the churn reduction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dagster_project.core.holdout import HOLDOUT, PLAYBOOK
from dagster_project.health.outcomes import ALL_PLAYBOOKS


@dataclass(frozen=True)
class CostInputs:
    """Yearly tooling cost and the cost of CS time per action (settings AHW_ROI_*)."""

    tooling_usd_per_year: float = 0.0
    hours_per_action: float = 1.5
    hourly_cost_usd: float = 60.0


def weekly_operations(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per week with alerts: alerts, holdout alerts, actions, engagement, SLA adherence."""
    frame = outcomes.copy()
    frame["week_start_date"] = pd.to_datetime(frame["alert_date"]).dt.to_period("W-SUN").dt.start_time
    frame["is_holdout"] = frame["treatment_group"] == HOLDOUT
    playbook = frame["treatment_group"] == PLAYBOOK
    frame["engaged_f"] = frame["engaged"].astype("Float64").where(playbook)
    frame["met_f"] = frame["met_respond_by"].astype("Float64")
    weekly = (
        frame.groupby("week_start_date", sort=True)
        .agg(
            alerts=("alert_id", "count"),
            alerts_holdout=("is_holdout", "sum"),
            actions=("actions", "sum"),
            engagement_rate=("engaged_f", "mean"),
            sla_adherence=("met_f", "mean"),
            sla_decided=("met_f", "count"),
        )
        .reset_index()
    )
    for column in ("alerts", "alerts_holdout", "actions", "sla_decided"):
        weekly[column] = weekly[column].astype("int64")
    return weekly


def roi(outcomes: pd.DataFrame, playbooks: pd.DataFrame, costs: CostInputs, now: pd.Timestamp) -> pd.DataFrame:
    """One row: the ROI template over the year before `now` (see the module docstring)."""
    start = now - pd.Timedelta(days=365)
    frame = outcomes[pd.to_datetime(outcomes["alert_date"]) > start]
    episodes = frame[frame["is_episode_start"].astype(bool) & (frame["treatment_group"] == PLAYBOOK)]
    at_risk = float(episodes["arr_usd"].fillna(0).sum())
    actions = int(frame["actions"].sum())
    cost = costs.tooling_usd_per_year + actions * costs.hours_per_action * costs.hourly_cost_usd
    total = playbooks[(playbooks["playbook"] == ALL_PLAYBOOKS) & playbooks["cohort_month"].isna()]
    row = total.iloc[0] if len(total) else None

    def reduction(column: str) -> float | None:
        value = None if row is None else row[column]
        return None if value is None or pd.isna(value) else -float(value)

    cut, cut_low, cut_high = (
        reduction("churn_difference"),
        reduction("churn_difference_high"),
        reduction("churn_difference_low"),
    )
    retained = None if cut is None else at_risk * cut
    return pd.DataFrame(
        [
            {
                "period_start_date": start.normalize(),
                "period_end_date": now.normalize(),
                "arr_at_risk_usd": at_risk,
                "churn_reduction": cut,
                "churn_reduction_low": cut_low,
                "churn_reduction_high": cut_high,
                "arr_retained_usd": retained,
                "arr_retained_low_usd": None if cut_low is None else at_risk * cut_low,
                "arr_retained_high_usd": None if cut_high is None else at_risk * cut_high,
                "actions": actions,
                "tooling_cost_usd": costs.tooling_usd_per_year,
                "cs_time_cost_usd": actions * costs.hours_per_action * costs.hourly_cost_usd,
                "yearly_cost_usd": cost,
                "payback_months": cost / (retained / 12) if retained and retained > 0 else None,
                "net_roi": (retained - cost) / cost if retained is not None and cost > 0 else None,
                "effect_verdict": None if row is None else row["verdict"],
            }
        ]
    )

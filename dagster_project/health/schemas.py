"""The columns of the customer-success marts written from Python: name, DuckDB type, description.

One place: the assets write through `write_mart` (explicit CREATE TABLE with these types, values
cast to them, descriptions as column comments for BI tools), the schema test reads the same
lists, and docs/customer_success.md documents them.
"""

from __future__ import annotations

import pandas as pd

from dagster_project.core.warehouse import sql_literal, table_exists, transaction

Column = tuple[str, str, str]

_SCORE = [
    ("account_id", "VARCHAR", "The account."),
    ("as_of_date", "DATE", "Snapshot date the score describes."),
    ("churn_probability", "DOUBLE", "Calibrated probability that the account churns within 90 days."),
    (
        "health_score",
        "INTEGER",
        "0-100, higher = healthier: round(100 / (1 + churn_probability / base rate)); 50 = an average account.",
    ),
    (
        "health_band",
        "VARCHAR",
        "red / yellow / green from health_score and the band edges, with hysteresis (an account changes band "
        "only when its score crosses the edge by the margin).",
    ),
    (
        "usage_score",
        "INTEGER",
        "0-100 usage sub-score (usage, adoption and trend features' contributions); 50 = neutral.",
    ),
    ("billing_score", "INTEGER", "0-100 billing sub-score; NULL when no billing feature exists."),
    ("support_score", "INTEGER", "0-100 support sub-score; NULL when no support feature exists."),
    ("sentiment_score", "INTEGER", "0-100 sentiment (NPS) sub-score; NULL when no NPS source exists."),
    (
        "score_change_7d",
        "INTEGER",
        "health_score minus the score of the account's latest row at least 7 days earlier; NULL for its first week.",
    ),
    (
        "top_drivers",
        "JSON",
        "The 3 features moving the churn risk most: [{feature, value, impact (log-odds, > 0 raises risk), sentence}].",
    ),
    ("arr_usd", "DOUBLE", "Annual recurring revenue on as_of_date (USD)."),
    ("days_to_renewal", "INTEGER", "Days from as_of_date to the end of the current subscription period."),
    ("model_version", "VARCHAR", "Version of the churn model that scored the row."),
    (
        "model_kind",
        "VARCHAR",
        "backtested (the best candidate of a walk-forward backtest) or provisional (history too short for any "
        "backtest: a logistic regression on every labelled row, untested).",
    ),
]

# The randomized holdout (core/holdout.py, health/outcomes.py): on every alert.
_EXPERIMENT = [
    ("treatment_group", "VARCHAR", "playbook or holdout (no outreach): the group of the account's horizon block."),
    ("rule_playbook", "VARCHAR", "The playbook the alert rule names (withheld from holdout alerts)."),
    ("horizon_block", "INTEGER", "The horizon block (90-day blocks from 2000-01-03) the alert falls in."),
    ("episode_id", "VARCHAR", "account_id:horizon_block: the unit the holdout randomizes."),
    ("is_episode_start", "BOOLEAN", "The first alert of the account in its horizon block (the episode's entry)."),
]

MARTS: dict[str, list[Column]] = {
    "mart_account_health_history": [
        *_SCORE[:4],
        ("score_band", "VARCHAR", "The band of health_score alone, without hysteresis."),
        *_SCORE[4:],
        (
            "in_training_window",
            "BOOLEAN",
            "True when as_of_date is inside the training or calibration period of the model that scored it "
            "(in sample); false = out of sample.",
        ),
        (
            "is_backfilled",
            "BOOLEAN",
            "True when the row was scored after the fact (an earlier snapshot), false when scored on the day "
            "(the current snapshot).",
        ),
        ("scored_at", "TIMESTAMP", "When the row was scored (UTC)."),
    ],
    "mart_account_health": [
        *_SCORE[:11],
        ("segment_name", "VARCHAR", "The account's segment (mart_segments)."),
        ("expansion_score", "INTEGER", "0-100 expansion score (mart_expansion_opportunities.score)."),
        (
            "uplift_score",
            "DOUBLE",
            "P(churn within 90 days | no outreach) - P(churn | playbook): the churn probability a playbook is "
            "expected to take off (uplift model on the holdout); NULL until the holdout has enough episodes.",
        ),
        *_SCORE[11:],
        ("scored_at", "TIMESTAMP", "When the row was scored (UTC)."),
    ],
    "mart_health_alerts": [
        ("alert_id", "VARCHAR", "account_id:alert_date:alert_type, unique."),
        ("account_id", "VARCHAR", "The account."),
        ("alert_date", "DATE", "as_of_date of the score that raised the alert."),
        ("alert_type", "VARCHAR", "score_drop (week over week) or band_worsened."),
        (
            "severity",
            "VARCHAR",
            "minor_drop (1-10 points), moderate_drop (11-20), major_drop (21+), band_to_yellow, band_to_red.",
        ),
        ("previous_score", "INTEGER", "Score a week earlier (score_drop) or on the previous row (band_worsened)."),
        ("current_score", "INTEGER", "Score on alert_date."),
        ("score_decrement", "INTEGER", "previous_score - current_score (points)."),
        ("band_from", "VARCHAR", "Band before."),
        ("band_to", "VARCHAR", "Band on alert_date."),
        (
            "playbook",
            "VARCHAR",
            "What to do: in-app nudge, CS outreach, technical remediation + renewal prioritization; "
            "'holdout: no outreach' for holdout alerts.",
        ),
        ("owner_role", "VARCHAR", "Who acts: automated, CSM, TAM / technical owner."),
        ("raised_at", "TIMESTAMP", "When the alert could first be seen (UTC)."),
        ("respond_by", "TIMESTAMP", "raised_at + the response time of the rule (0, 24 or 48 hours)."),
        ("is_backfilled", "BOOLEAN", "Raised from a row scored after the fact (historical alert)."),
        ("top_drivers", "JSON", "The drivers of the score on alert_date (as in mart_account_health)."),
        *_EXPERIMENT,
    ],
    "mart_alert_outcomes": [
        ("alert_id", "VARCHAR", "The alert (mart_health_alerts.alert_id)."),
        ("account_id", "VARCHAR", "The account."),
        ("alert_date", "DATE", "as_of_date of the score that raised the alert."),
        ("severity", "VARCHAR", "The alert rule: minor_drop, moderate_drop, major_drop, band_to_yellow, band_to_red."),
        *_EXPERIMENT,
        ("owner_role", "VARCHAR", "Who acts: automated, CSM, TAM / technical owner."),
        ("respond_by", "TIMESTAMP", "Deadline of the first action (UTC)."),
        ("actions", "INTEGER", "CS activities linked to the alert (by alert_id, else by account and time)."),
        ("first_action_at", "TIMESTAMP", "created_at of the first linked activity; NULL = none."),
        ("first_action_outcome", "VARCHAR", "outcome of the first linked activity."),
        (
            "met_respond_by",
            "BOOLEAN",
            "First action by respond_by; NULL for holdout and automated alerts and while the deadline has not passed.",
        ),
        ("engaged", "BOOLEAN", "A linked activity ended completed or escalated; NULL for holdout alerts."),
        (
            "churned_within_horizon",
            "BOOLEAN",
            "The account churned within the horizon after alert_date (the churn label); NULL while censored.",
        ),
        (
            "expanded_within_horizon",
            "BOOLEAN",
            "The account expanded within the horizon (the expansion label); NULL while censored or unknown.",
        ),
        (
            "score_recovered",
            "BOOLEAN",
            "The health score got back to previous_score within the horizon; NULL while the horizon runs.",
        ),
        (
            "was_true_positive",
            "BOOLEAN",
            "The alert was right: the account churned within the horizon (outreach may have prevented some churn; "
            "holdout alerts measure the rule alone).",
        ),
        ("feedback", "VARCHAR", "The CSM's latest feedback on the alert: useful / not_useful."),
        ("feedback_reason", "VARCHAR", "Why, in the CSM's words."),
        ("horizon_end_date", "DATE", "alert_date + the horizon: when the outcome is final."),
        ("arr_usd", "DOUBLE", "ARR on alert_date (USD)."),
    ],
    "mart_playbook_outcomes": [
        ("playbook", "VARCHAR", "The playbook the alert rule names, or 'all playbooks'."),
        ("cohort_month", "DATE", "Month of the episodes' first alert; NULL = all months."),
        ("alerts", "INTEGER", "Alerts."),
        ("alerts_holdout", "INTEGER", "Of which in the holdout (no outreach)."),
        ("actions", "INTEGER", "CS activities linked to the alerts."),
        ("engagement_rate", "DOUBLE", "Playbook alerts whose activity ended completed or escalated / playbook alerts."),
        (
            "sla_adherence",
            "DOUBLE",
            "Person-owned playbook alerts answered by respond_by / those decided.",
        ),
        (
            "episodes_playbook",
            "INTEGER",
            "Episodes (first alert of an account in a horizon block) of the playbook group.",
        ),
        ("episodes_holdout", "INTEGER", "Episodes in the holdout."),
        (
            "known_playbook",
            "INTEGER",
            "Playbook episodes whose outcome is known (horizon passed, or churned).",
        ),
        ("known_holdout", "INTEGER", "Holdout episodes whose outcome is known."),
        ("churned_playbook", "INTEGER", "Known playbook episodes that churned within the horizon."),
        ("churned_holdout", "INTEGER", "Known holdout episodes that churned within the horizon."),
        ("churn_rate_playbook", "DOUBLE", "churned_playbook / known_playbook."),
        ("churn_rate_holdout", "DOUBLE", "churned_holdout / known_holdout."),
        ("churn_difference", "DOUBLE", "churn_rate_playbook - churn_rate_holdout (< 0: the playbook lowers churn)."),
        ("churn_difference_low", "DOUBLE", "Lower end of its 95 % interval (Newcombe's hybrid score interval)."),
        ("churn_difference_high", "DOUBLE", "Upper end of its 95 % interval."),
        ("arr_playbook_usd", "DOUBLE", "ARR at the first alert of the known playbook episodes (USD)."),
        ("arr_saved_usd", "DOUBLE", "-churn_difference x arr_playbook_usd: ARR kept by the playbook (USD)."),
        ("arr_saved_low_usd", "DOUBLE", "Lower end of its 95 % interval (USD)."),
        ("arr_saved_high_usd", "DOUBLE", "Upper end of its 95 % interval (USD)."),
        (
            "too_small",
            "BOOLEAN",
            "Fewer than 10 known episodes in a group: the comparison says nothing yet.",
        ),
        (
            "verdict",
            "VARCHAR",
            "works / harms / no effect shown / too small, from a Bonferroni-corrected interval (the all-months rows "
            "are one family, the month rows another), so that chance alone does not call a playbook working.",
        ),
    ],
    "mart_alert_rule_precision": [
        ("severity", "VARCHAR", "The alert rule, or 'any alert'."),
        ("alerts", "INTEGER", "Alerts raised."),
        ("alerts_known", "INTEGER", "Alerts whose outcome is known."),
        ("alerts_churned", "INTEGER", "Known alerts followed by churn within the horizon."),
        ("precision", "DOUBLE", "alerts_churned / alerts_known: how often the alert was right."),
        (
            "precision_holdout",
            "DOUBLE",
            "The same on holdout alerts only: the rule's precision without outreach preventing churn.",
        ),
        ("alerts_with_feedback", "INTEGER", "Alerts a CSM gave feedback on."),
        ("not_useful_share", "DOUBLE", "Alerts marked not useful / alerts with feedback: noisy rules show here."),
        ("churns", "INTEGER", "Churns up to today."),
        ("churns_preceded", "INTEGER", "Churns with an alert of this rule in the horizon before the churn date."),
        ("recall", "DOUBLE", "churns_preceded / churns; 1 - recall = the churns the rule missed."),
    ],
    "mart_cs_operations": [
        ("week_start_date", "DATE", "Monday of the alerts' week."),
        ("alerts", "INTEGER", "Alerts raised in the week."),
        ("alerts_holdout", "INTEGER", "Of which in the holdout."),
        ("actions", "INTEGER", "CS activities linked to the week's alerts."),
        ("engagement_rate", "DOUBLE", "Playbook alerts whose activity ended completed or escalated / playbook alerts."),
        ("sla_adherence", "DOUBLE", "Person-owned playbook alerts answered by respond_by / those decided."),
        ("sla_decided", "INTEGER", "Person-owned playbook alerts whose deadline passed or that were answered."),
    ],
    "mart_uplift_performance": [
        ("learner", "VARCHAR", "t_learner (one churn model per arm) or s_learner (one model, the group a feature)."),
        ("chosen", "BOOLEAN", "The learner deployed: the higher pooled Qini coefficient."),
        ("fold", "INTEGER", "Walk-forward fold, 0 = oldest origin; NULL = all folds' test episodes pooled."),
        ("origin_date", "DATE", "First alert date of the fold's test episodes (training episodes ended before it)."),
        ("test_episodes", "INTEGER", "Test episodes (known outcome)."),
        ("test_holdout_episodes", "INTEGER", "Of which in the holdout."),
        ("qini", "DOUBLE", "Qini coefficient of uplift_score (> 0: better than random targeting)."),
        ("uplift_at_10pct", "DOUBLE", "Holdout churn rate - playbook churn rate among the top 10 % by uplift_score."),
        ("qini_oracle", "DOUBLE", "Qini coefficient of the simulator's true uplift (simulated companies only)."),
        (
            "true_saved_top10_by_uplift",
            "DOUBLE",
            "Simulated churners a playbook saves on the top 10 % by uplift_score (true uplift summed).",
        ),
        ("true_saved_top10_by_risk", "DOUBLE", "The same on the top 10 % by churn probability."),
        ("true_saved_top10_by_oracle", "DOUBLE", "The same on the top 10 % by true uplift (the most there is)."),
        ("evaluated_at", "TIMESTAMP", "When the backtest ran (UTC)."),
    ],
    "mart_roi": [
        ("period_start_date", "DATE", "Start of the trailing year."),
        ("period_end_date", "DATE", "Today."),
        ("arr_at_risk_usd", "DOUBLE", "ARR at the first alert of the playbook episodes of the year (USD)."),
        ("churn_reduction", "DOUBLE", "Holdout churn rate - playbook churn rate (all playbooks, all months)."),
        ("churn_reduction_low", "DOUBLE", "Lower end of its 95 % interval."),
        ("churn_reduction_high", "DOUBLE", "Upper end of its 95 % interval."),
        ("arr_retained_usd", "DOUBLE", "arr_at_risk_usd x churn_reduction (USD)."),
        ("arr_retained_low_usd", "DOUBLE", "Lower end of its 95 % interval (USD)."),
        ("arr_retained_high_usd", "DOUBLE", "Upper end of its 95 % interval (USD)."),
        ("actions", "INTEGER", "CS activities on the year's alerts."),
        ("tooling_cost_usd", "DOUBLE", "Yearly tooling cost (AHW_ROI_TOOLING_USD_PER_YEAR)."),
        (
            "cs_time_cost_usd",
            "DOUBLE",
            "actions x AHW_ROI_HOURS_PER_ACTION x AHW_ROI_HOURLY_COST_USD.",
        ),
        ("yearly_cost_usd", "DOUBLE", "tooling_cost_usd + cs_time_cost_usd."),
        ("payback_months", "DOUBLE", "yearly_cost_usd / (arr_retained_usd / 12); NULL when nothing is retained."),
        ("net_roi", "DOUBLE", "(arr_retained_usd - yearly_cost_usd) / yearly_cost_usd."),
        ("effect_verdict", "VARCHAR", "The verdict of the all-playbooks comparison (mart_playbook_outcomes)."),
    ],
    "mart_expansion_opportunities": [
        ("account_id", "VARCHAR", "The account."),
        (
            "score",
            "INTEGER",
            "0-100 expansion score: round(100 x poc / (poc + base rate)); 50 = as likely as an average account.",
        ),
        (
            "projected_arr",
            "DOUBLE",
            "Expected ARR uplift (USD): ARR x (uplift factor - 1) x poc; uplift 1.5 High, 1.35 Medium, 1.2 Low.",
        ),
        (
            "poc",
            "DOUBLE",
            "Probability of close: calibrated probability of expanding (MRR +10 % or more seats) within 90 days.",
        ),
        (
            "signals_json",
            "JSON",
            "The 3 features moving the expansion probability most: [{feature, value, impact, sentence}].",
        ),
        (
            "created_date",
            "DATE",
            "First day of the account's current run as a Medium or High opportunity (or of its scoring, for Low).",
        ),
        ("status", "VARCHAR", "new (first seen at this tier or better today), open (seen before), watch (Low tier)."),
        ("priority_tier", "VARCHAR", "High (score > 80), Medium (50-80), Low (< 50)."),
    ],
    "mart_expansion_opportunity_history": [
        ("account_id", "VARCHAR", "The account."),
        ("created_date", "DATE", "First snapshot date of the run at Medium or High tier: when the opportunity opened."),
        ("last_seen_date", "DATE", "Last snapshot date of the run."),
        ("snapshots", "INTEGER", "Snapshot dates in the run."),
        ("priority_tier", "VARCHAR", "High if the score went above 80 during the run, else Medium."),
        ("tier_at_creation", "VARCHAR", "The tier on created_date."),
        ("score_at_creation", "INTEGER", "Expansion score on created_date."),
        ("best_score", "INTEGER", "Highest expansion score during the run."),
        ("projected_arr_at_creation", "DOUBLE", "Projected ARR uplift on created_date (USD)."),
        (
            "status",
            "VARCHAR",
            "won (expanded within the horizon of created_date), lost (churned), expired (the horizon passed "
            "without either), open (not yet).",
        ),
        ("horizon_end_date", "DATE", "created_date + the horizon: when the status is final."),
    ],
    "mart_segments": [
        ("account_id", "VARCHAR", "The account."),
        ("segment_id", "INTEGER", "1..k, ordered by the segment's median ARR (highest first)."),
        ("segment_name", "VARCHAR", "Name from the profile, e.g. High-value disengaged, Emerging champions."),
        ("segment_accounts", "INTEGER", "Accounts in the segment."),
        ("segment_median_arr_usd", "DOUBLE", "Median ARR of the segment (USD)."),
        (
            "segment_expected_churn_rate_90d",
            "DOUBLE",
            "Mean calibrated 90-day churn probability of the segment's accounts.",
        ),
        ("segment_defining_traits", "VARCHAR", "The three traits that set the segment apart most."),
        ("as_of_date", "DATE", "Snapshot the segments were computed on."),
    ],
    "mart_segment_profiles": [
        ("segment_id", "INTEGER", "1..k."),
        ("segment_name", "VARCHAR", "Name from the profile."),
        ("accounts", "INTEGER", "Accounts in the segment."),
        ("median_arr_usd", "DOUBLE", "Median ARR (USD)."),
        ("total_arr_usd", "DOUBLE", "Total ARR (USD)."),
        ("median_seat_utilization_30d", "DOUBLE", "Median seat utilization (active users / seats)."),
        ("median_logins_30d_vs_prior_30d", "DOUBLE", "Median ratio of logins in the last 30 days to the prior 30."),
        ("median_tickets_90d", "DOUBLE", "Median tickets in 90 days."),
        ("median_nps_latest_score", "DOUBLE", "Median latest NPS answer (0-10)."),
        ("median_tenure_days", "DOUBLE", "Median tenure (days)."),
        (
            "engagement_index",
            "DOUBLE",
            "Mean z-score of the behaviour features, higher = healthier; > 0.35 engaged, < -0.35 disengaged.",
        ),
        ("expected_churn_rate_90d", "DOUBLE", "Mean calibrated 90-day churn probability."),
        ("defining_traits", "VARCHAR", "The three traits that set the segment apart most."),
        ("silhouette", "DOUBLE", "Mean silhouette of the chosen k (the criterion that chose it)."),
        ("as_of_date", "DATE", "Snapshot the segments were computed on."),
    ],
    "mart_segment_history": [
        ("account_id", "VARCHAR", "The account."),
        ("segment_id", "INTEGER", "Segment id at the time."),
        ("segment_name", "VARCHAR", "Segment name at the time."),
        ("valid_from", "DATE", "First snapshot date with this segment."),
        ("valid_to", "DATE", "Snapshot date it changed (exclusive); NULL = current."),
    ],
    "mart_business_kpis": [
        ("month_start_date", "DATE", "First day of the month."),
        ("starting_mrr_usd", "DOUBLE", "MRR at the end of the previous month (USD)."),
        ("new_mrr_usd", "DOUBLE", "MRR of first paying months (USD)."),
        ("expansion_mrr_usd", "DOUBLE", "MRR increases of paying accounts (USD)."),
        ("contraction_mrr_usd", "DOUBLE", "MRR decreases of accounts that still pay (USD, <= 0)."),
        ("churn_mrr_usd", "DOUBLE", "MRR lost by accounts that stopped paying (USD, <= 0)."),
        ("reactivation_mrr_usd", "DOUBLE", "MRR of accounts paying again (USD)."),
        ("ending_mrr_usd", "DOUBLE", "MRR at the end of the month (USD)."),
        ("accounts_at_start", "INTEGER", "Accounts paying at the start of the month."),
        ("logo_churn", "INTEGER", "Accounts paying at the start and not at the end."),
        ("accounts_at_end", "INTEGER", "Accounts paying at the end of the month."),
        ("nrr", "DOUBLE", "Net revenue retention: (starting + expansion + contraction + churn) / starting."),
        ("grr", "DOUBLE", "Gross revenue retention: (starting + contraction + churn) / starting."),
        ("logo_churn_rate", "DOUBLE", "logo_churn / accounts_at_start."),
        ("red_accounts", "INTEGER", "Accounts in the red band on their first scored date of the month."),
        ("red_churn_rate_90d", "DOUBLE", "Share of those that churned within 90 days; NULL while censored."),
        ("yellow_accounts", "INTEGER", "Accounts in the yellow band on their first scored date of the month."),
        ("yellow_churn_rate_90d", "DOUBLE", "Share of those that churned within 90 days; NULL while censored."),
        ("green_accounts", "INTEGER", "Accounts in the green band on their first scored date of the month."),
        ("green_churn_rate_90d", "DOUBLE", "Share of those that churned within 90 days; NULL while censored."),
    ],
    "mart_model_performance": [
        ("model", "VARCHAR", "churn or expansion."),
        ("run_version", "VARCHAR", "Version of the challenger trained in this retrain run."),
        ("evaluated_at", "TIMESTAMP", "When the backtest ran (UTC)."),
        ("promoted", "BOOLEAN", "Whether this run's challenger became the champion."),
        (
            "candidate",
            "VARCHAR",
            "A candidate model kind (logistic, lightgbm, blend), a baseline's name, or oracle (the simulator's "
            "true probability).",
        ),
        (
            "candidate_kind",
            "VARCHAR",
            "model (the candidate chosen and deployed: best mean AUC) / candidate / baseline / oracle.",
        ),
        ("fold", "INTEGER", "Walk-forward fold, 0 = oldest origin."),
        ("origin_date", "DATE", "First as_of_date of the fold's test window."),
        ("test_end_date", "DATE", "Last as_of_date of the fold's test window."),
        ("train_start_date", "DATE", "First as_of_date the fold model trained on."),
        ("train_end_date", "DATE", "Last as_of_date the fold model trained on."),
        (
            "calibration_end_date",
            "DATE",
            "Last calibration as_of_date; its label window ends on or before origin_date.",
        ),
        ("label", "VARCHAR", "The label predicted, e.g. churned_within_90d."),
        ("horizon_days", "INTEGER", "Label horizon (days)."),
        ("fold_model_version", "VARCHAR", "Version stamp of the fold's model (candidate rows only)."),
        ("auc", "DOUBLE", "ROC AUC on the fold's test rows."),
        ("pr_auc", "DOUBLE", "Average precision on the fold's test rows."),
        ("precision_at_k", "DOUBLE", "Precision among the top 10 % by score."),
        ("lift_top_decile", "DOUBLE", "Positive rate in the top decile / overall positive rate."),
        ("brier", "DOUBLE", "Brier score (mean squared error of the probability)."),
        ("ece", "DOUBLE", "Expected calibration error, 10 equal-width bins."),
        ("n", "BIGINT", "Test rows."),
        ("positives", "BIGINT", "Test rows with the label 1."),
        ("base_rate", "DOUBLE", "positives / n."),
    ],
}


def empty(mart: str) -> pd.DataFrame:
    """A frame with the columns of `mart` and no rows (a mart published empty)."""
    return pd.DataFrame(columns=columns(mart))


def columns(mart: str) -> list[str]:
    """Column names of `mart`, in order."""
    return [name for name, _, _ in MARTS[mart]]


def write_mart(con, mart: str, frame: pd.DataFrame, schema: str = "marts") -> int:
    """Replace `<schema>.<mart>` with `frame`: declared columns and types, comments, in one transaction.

    Raises ValueError naming the columns `frame` lacks or has in excess.
    """
    spec = MARTS[mart]
    names = [n for n, _, _ in spec]
    missing = [n for n in names if n not in frame.columns]
    extra = [c for c in frame.columns if c not in names]
    if missing or extra:
        raise ValueError(
            f"{schema}.{mart}: the frame lacks the columns {missing} and has unexpected columns {extra}; "
            f"the declared columns are in dagster_project/health/schemas.py."
        )
    view = f"_{mart}_frame"
    ddl = ", ".join(f'"{n}" {t}' for n, t, _ in spec)
    casts = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t, _ in spec)
    con.register(view, frame[names])
    try:
        with transaction(con):
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{mart} ({ddl})")
            con.execute(f"INSERT INTO {schema}.{mart} SELECT {casts} FROM {view}")
            for n, _, description in spec:
                con.execute(f'COMMENT ON COLUMN {schema}.{mart}."{n}" IS {sql_literal(description)}')
    finally:
        con.unregister(view)
    return len(frame)


def read_mart(con, mart: str, columns: str = "*", schema: str = "marts") -> pd.DataFrame | None:
    """`SELECT <columns>` from `<schema>.<mart>`, or None when the table does not exist yet (first run)."""
    return con.sql(f"SELECT {columns} FROM {schema}.{mart}").df() if table_exists(con, schema, mart) else None

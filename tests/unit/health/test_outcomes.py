"""Alert outcomes, the playbook-vs-holdout comparison, rule precision and ROI on small frames."""

import numpy as np
import pandas as pd
import pytest

from dagster_project.core.holdout import HOLDOUT, HOLDOUT_PLAYBOOK, PLAYBOOK, assign_groups
from dagster_project.health import outcomes as oc
from dagster_project.health.operations import CostInputs, roi, weekly_operations

NOW = pd.Timestamp("2026-06-01")
HORIZON = 90


def _alerts(rows):
    """rows: (account, date, severity, playbook, owner_role, respond_hours)."""
    frame = pd.DataFrame(rows, columns=["account_id", "alert_date", "severity", "playbook", "owner_role", "hours"])
    frame["alert_date"] = pd.to_datetime(frame["alert_date"]).dt.date
    frame["alert_type"] = "score_drop"
    frame["alert_id"] = frame["account_id"] + ":" + frame["alert_date"].astype(str) + ":score_drop"
    frame["raised_at"] = pd.to_datetime(frame["alert_date"]) + pd.Timedelta(hours=6)
    frame["respond_by"] = frame["raised_at"] + pd.to_timedelta(frame["hours"], unit="h")
    frame["previous_score"] = 60
    return frame.drop(columns="hours")


def _activities(rows):
    """rows: (activity_id, account, alert_id or None, created_at, outcome, feedback)."""
    frame = pd.DataFrame(rows, columns=["activity_id", "account_id", "alert_id", "created_at", "outcome", "feedback"])
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    frame["feedback_reason"] = None
    return frame


def test_groups_follow_the_account_block_and_holdout_alerts_say_no_outreach():
    alerts = _alerts(
        [("a", "2026-01-05", "moderate_drop", "CS outreach", "CSM", 24)]
        + [(f"acct{i}", "2026-01-05", "moderate_drop", "CS outreach", "CSM", 24) for i in range(300)]
        + [("a", "2026-01-12", "major_drop", "technical remediation", "TAM", 48)]
    )
    out = oc.assign_alert_groups(alerts, share=0.2, salt="s", horizon_days=HORIZON)
    expected = assign_groups(out["account_id"], out["alert_date"], 0.2, "s", HORIZON)
    assert (out["treatment_group"].to_numpy() == expected).all()
    holdout = out["treatment_group"] == HOLDOUT
    assert 30 <= holdout.sum() <= 90
    assert (out.loc[holdout, "playbook"] == HOLDOUT_PLAYBOOK).all()
    assert (out.loc[~holdout, "playbook"] == out.loc[~holdout, "rule_playbook"]).all()
    a = out[out["account_id"] == "a"].sort_values("alert_date")
    assert a["is_episode_start"].tolist() == [True, False]
    assert a["treatment_group"].nunique() == 1
    assert (
        oc.assign_alert_groups(alerts, share=0.0, salt="s", horizon_days=HORIZON)["treatment_group"].eq(PLAYBOOK).all()
    )


def test_activities_link_by_alert_id_then_by_account_and_time():
    alerts = oc.assign_alert_groups(
        _alerts(
            [
                ("a", "2026-01-05", "moderate_drop", "CS outreach", "CSM", 24),
                ("a", "2026-02-02", "major_drop", "technical remediation", "TAM", 48),
            ]
        ),
        share=0.0,
        salt="s",
        horizon_days=HORIZON,
    )
    acts = _activities(
        [
            ("x1", "a", "a:2026-01-05:score_drop", "2026-02-10 09:00", "completed", None),  # id wins over time
            ("x2", "a", None, "2026-01-20 09:00", "completed", "useful"),  # -> Jan 5 alert
            ("x3", "a", None, "2026-02-03 09:00", "no_response", None),  # -> Feb 2 alert
            ("x4", "a", None, "2025-12-01 09:00", "completed", None),  # before any alert
            ("x5", "a", None, "2026-08-01 09:00", "completed", None),  # past the horizon
            ("x6", "b", "unknown-id", "2026-01-06 09:00", "completed", None),  # no alert of b
        ]
    )
    linked = oc.link_activities(alerts, acts, HORIZON).set_index("activity_id")
    assert linked.loc["x1", "linked_alert_id"] == "a:2026-01-05:score_drop"
    assert linked.loc["x1", "linked_by"] == "alert_id"
    assert linked.loc["x2", "linked_alert_id"] == "a:2026-01-05:score_drop"
    assert linked.loc["x3", "linked_alert_id"] == "a:2026-02-02:score_drop"
    assert linked.loc["x3", "linked_by"] == "account_time"
    for unlinked in ("x4", "x5", "x6"):
        assert pd.isna(linked.loc[unlinked, "linked_alert_id"])


def test_alert_outcomes_sla_engagement_labels_and_recovery():
    alerts = oc.assign_alert_groups(
        _alerts(
            [
                ("a", "2026-01-05", "moderate_drop", "CS outreach", "CSM", 24),  # answered in time
                ("b", "2026-01-05", "moderate_drop", "CS outreach", "CSM", 24),  # answered late
                ("c", "2026-01-05", "moderate_drop", "CS outreach", "CSM", 24),  # never answered
                ("d", "2026-05-31", "moderate_drop", "CS outreach", "CSM", 24),  # deadline not passed
                ("e", "2026-01-05", "minor_drop", "in-app nudge", "automated", 0),  # automated
            ]
        ),
        share=0.0,
        salt="s",
        horizon_days=HORIZON,
    )
    acts = oc.link_activities(
        alerts,
        _activities(
            [
                ("x1", "a", None, "2026-01-05 12:00", "completed", "useful"),
                ("x2", "b", None, "2026-01-09 12:00", "declined", "not_useful"),
            ]
        ),
        HORIZON,
    )
    labels = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "as_of_date": ["2026-01-05"] * 4 + ["2026-01-05"],
            "churned_within_90d": [False, True, None, None, False],
            "expanded_within_90d": [True, False, None, None, False],
        }
    )
    labels.loc[3, "as_of_date"] = "2026-05-31"
    history = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c", "d", "e"],
            "as_of_date": pd.to_datetime(
                ["2026-01-05", "2026-02-02", "2026-01-05", "2026-01-05", "2026-05-31", "2026-01-05"]
            ),
            "health_score": [40, 65, 40, 40, 40, 50],
            "arr_usd": [1000.0, 1000.0, 2000.0, 3000.0, 4000.0, 500.0],
        }
    )
    out = oc.alert_outcomes(alerts, acts, labels, history, NOW, HORIZON).set_index("account_id")
    assert out.loc["a", "met_respond_by"] == True  # noqa: E712 (nullable boolean)
    assert out.loc["b", "met_respond_by"] == False  # noqa: E712
    assert out.loc["c", "met_respond_by"] == False  # noqa: E712
    assert pd.isna(out.loc["d", "met_respond_by"])
    assert pd.isna(out.loc["e", "met_respond_by"])
    assert out.loc["a", "engaged"] == True and out.loc["b", "engaged"] == False  # noqa: E712
    assert out.loc["a", "actions"] == 1 and out.loc["c", "actions"] == 0
    assert out.loc["b", "churned_within_horizon"] == True  # noqa: E712
    assert pd.isna(out.loc["c", "churned_within_horizon"])
    assert out.loc["a", "score_recovered"] == True  # noqa: E712
    assert out.loc["c", "score_recovered"] == False  # noqa: E712 (horizon passed)
    assert pd.isna(out.loc["d", "score_recovered"])
    assert out.loc["b", "feedback"] == "not_useful"
    assert out.loc["c", "arr_usd"] == 3000.0


def test_the_interval_of_a_rate_difference_covers_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    n1, n2, p1, p2 = 300, 35, 0.12, 0.2
    covered = 0
    reps = 2000
    for x1, x2 in zip(rng.binomial(n1, p1, reps), rng.binomial(n2, p2, reps)):
        d = oc.rate_difference(int(x1), n1, int(x2), n2)
        covered += d.low <= p1 - p2 <= d.high
    assert 0.93 <= covered / reps <= 0.98
    assert oc.rate_difference(1, 10, 0, 0) is None


def _experiment(n, effect, share, seed):
    """n episodes, holdout churn 0.25, playbook churn 0.25 + effect."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < share, HOLDOUT, PLAYBOOK)
    p = np.where(group == PLAYBOOK, 0.25 + effect, 0.25)
    return pd.DataFrame(
        {
            "alert_id": [f"x{i}" for i in range(n)],
            "account_id": [f"a{i}" for i in range(n)],
            "alert_date": pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
            "rule_playbook": rng.choice(["CS outreach", "in-app nudge"], n),
            "treatment_group": group,
            "is_episode_start": True,
            "churned_within_horizon": pd.array(rng.random(n) < p, dtype="boolean"),
            "actions": (group == PLAYBOOK).astype(int),
            "engaged": pd.array(group == PLAYBOOK, dtype="boolean"),
            "met_respond_by": pd.array(np.where(group == PLAYBOOK, True, None), dtype="boolean"),
            "arr_usd": 10_000.0,
            "feedback": None,
        }
    )


def test_a_strong_effect_is_found_and_no_effect_is_not():
    strong = oc.playbook_outcomes(_experiment(4000, -0.15, 0.3, 1))
    total = strong[(strong["playbook"] == oc.ALL_PLAYBOOKS)].iloc[0]
    assert total["verdict"] == "works"
    assert total["churn_difference_low"] < -0.15 < total["churn_difference_high"]
    assert total["arr_saved_usd"] == pytest.approx(-total["churn_difference"] * total["arr_playbook_usd"])
    null = oc.playbook_outcomes(_experiment(4000, 0.0, 0.3, 2))
    assert not (null["verdict"] == "works").any()
    small = oc.playbook_outcomes(_experiment(60, -0.15, 0.1, 3))
    assert (small.loc[small["known_holdout"] < oc.MIN_EPISODES, "verdict"] == "too small").all()
    assert small["too_small"].any()


def test_rule_precision_counts_right_alerts_and_missed_churns():
    frame = _experiment(8, 0.0, 0.0, 4)
    frame["severity"] = ["minor_drop"] * 4 + ["major_drop"] * 4
    frame["churned_within_horizon"] = pd.array([True, False, False, None, True, True, False, True], dtype="boolean")
    frame["alert_date"] = pd.Timestamp("2026-01-05")
    frame["feedback"] = ["not_useful", "useful", None, None, None, None, None, None]
    churns = pd.DataFrame(
        {
            "account_id": ["a0", "a4", "zz", "a5"],
            "churn_date": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-03-01", "2027-01-01"]),
        }
    )
    out = oc.rule_precision(frame, churns, NOW, HORIZON).set_index("severity")
    assert out.loc["minor_drop", "precision"] == pytest.approx(1 / 3)
    assert out.loc["major_drop", "precision"] == pytest.approx(3 / 4)
    assert out.loc["minor_drop", "not_useful_share"] == pytest.approx(0.5)
    assert out.loc[oc.ANY_ALERT, "churns"] == 3  # the 2027 churn has not happened yet
    assert out.loc[oc.ANY_ALERT, "churns_preceded"] == 2
    assert out.loc["minor_drop", "recall"] == pytest.approx(1 / 3)


def test_operations_and_roi():
    frame = _experiment(4000, -0.15, 0.3, 5)
    frame["owner_role"] = "CSM"
    weekly = weekly_operations(frame)
    assert weekly["alerts"].sum() == 4000
    assert weekly["alerts_holdout"].sum() == (frame["treatment_group"] == HOLDOUT).sum()
    playbooks = oc.playbook_outcomes(frame)
    out = roi(
        frame, playbooks, CostInputs(tooling_usd_per_year=12_000, hours_per_action=1, hourly_cost_usd=50), NOW
    ).iloc[0]
    treated = (frame["treatment_group"] == PLAYBOOK).sum()
    assert out["arr_at_risk_usd"] == pytest.approx(treated * 10_000.0)
    assert out["yearly_cost_usd"] == pytest.approx(12_000 + treated * 50)
    assert out["arr_retained_usd"] == pytest.approx(out["arr_at_risk_usd"] * out["churn_reduction"])
    assert out["churn_reduction_low"] < out["churn_reduction"] < out["churn_reduction_high"]
    assert out["net_roi"] == pytest.approx((out["arr_retained_usd"] - out["yearly_cost_usd"]) / out["yearly_cost_usd"])
    assert out["payback_months"] == pytest.approx(out["yearly_cost_usd"] / (out["arr_retained_usd"] / 12))

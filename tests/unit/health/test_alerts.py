"""Alert rules of SPEC section 4 on hand-built score histories."""

import json

import pandas as pd
import pytest

from dagster_project.health.alerts import AlertPolicy, derive_alerts, score_change
from dagster_project.health.bands import BandEdges, apply_hysteresis

SCORED_AT = pd.Timestamp("2026-03-02 05:00")


def _history(scores, dates=None, account="a", backfilled=False):
    dates = pd.to_datetime(dates) if dates is not None else pd.date_range("2026-01-04", periods=len(scores), freq="7D")
    frame = pd.DataFrame(
        {
            "account_id": account,
            "as_of_date": dates,
            "health_score": scores,
            "top_drivers": json.dumps([{"feature": "logins_30d", "sentence": "Logins fell"}]),
            "scored_at": SCORED_AT,
            "is_backfilled": backfilled,
        }
    )
    frame["health_band"] = apply_hysteresis(frame, BandEdges())
    return frame


@pytest.mark.parametrize(
    "drop, severity, playbook, owner, hours",
    [
        (1, "minor_drop", "in-app nudge", "automated", 0),
        (10, "minor_drop", "in-app nudge", "automated", 0),
        (11, "moderate_drop", "CS outreach", "CSM", 24),
        (20, "moderate_drop", "CS outreach", "CSM", 24),
        (21, "major_drop", "technical remediation + renewal prioritization", "TAM / technical owner", 48),
        (45, "major_drop", "technical remediation + renewal prioritization", "TAM / technical owner", 48),
    ],
)
def test_each_score_drop_row_of_the_spec_table(drop, severity, playbook, owner, hours):
    # 95 stays green for drops up to 27 (green -> yellow needs <= 67), so only the drop alert fires
    # for the small drops; the big ones also worsen the band.
    alerts = derive_alerts(_history([95, 95 - drop]))
    drops = alerts[alerts["alert_type"] == "score_drop"]
    assert len(drops) == 1
    row = drops.iloc[0]
    assert (row.severity, row.playbook, row.owner_role) == (severity, playbook, owner)
    assert (row.previous_score, row.current_score, row.score_decrement) == (95, 95 - drop, drop)
    assert row.raised_at == SCORED_AT
    assert row.respond_by == SCORED_AT + pd.Timedelta(hours=hours)
    assert json.loads(row.top_drivers)[0]["feature"] == "logins_30d"


def test_band_worsening_row_of_the_spec_table():
    alerts = derive_alerts(_history([75, 66, 60, 40, 25]))
    bands = alerts[alerts["alert_type"] == "band_worsened"]
    assert bands[["band_from", "band_to", "severity", "owner_role"]].values.tolist() == [
        ["green", "yellow", "band_to_yellow", "CSM"],
        ["yellow", "red", "band_to_red", "CSM"],
    ]
    assert (bands["respond_by"] - bands["raised_at"]).eq(pd.Timedelta(hours=24)).all()
    assert bands["playbook"].tolist() == ["CS outreach", "technical remediation + renewal prioritization"]
    # Every weekly decline is its own score-drop event: 9, 6, 20 and 15 points.
    drops = alerts[alerts["alert_type"] == "score_drop"]
    assert drops["score_decrement"].tolist() == [9, 6, 20, 15]


def test_no_alert_for_rising_or_flat_scores_or_an_improving_band():
    assert derive_alerts(_history([20, 20, 40, 80])).empty


def test_daily_rows_within_a_week_raise_one_alert_per_event():
    # Weekly history, then daily current rows that all see the same week-over-week drop.
    dates = ["2026-01-04", "2026-01-11", "2026-01-12", "2026-01-13", "2026-01-14", "2026-01-15"]
    alerts = derive_alerts(_history([80, 65, 65, 65, 65, 65], dates))
    drops = alerts[alerts["alert_type"] == "score_drop"]
    assert drops["alert_date"].astype(str).tolist() == ["2026-01-11"]
    assert drops["severity"].tolist() == ["moderate_drop"]


def test_a_worse_drop_within_the_week_escalates_once():
    dates = ["2026-01-04", "2026-01-11", "2026-01-12", "2026-01-13"]
    alerts = derive_alerts(_history([90, 85, 60, 60], dates))
    drops = alerts[alerts["alert_type"] == "score_drop"]
    assert drops[["alert_date", "severity"]].astype(str).values.tolist() == [
        ["2026-01-11", "minor_drop"],
        ["2026-01-12", "major_drop"],
    ]


def test_band_alert_once_per_crossing_even_with_a_hovering_score():
    alerts = derive_alerts(_history([35, 27, 29, 26, 28, 25]))
    assert (alerts["alert_type"] == "band_worsened").sum() == 1


def test_backfilled_alerts_are_dated_from_their_snapshot_and_ids_are_unique():
    history = pd.concat([_history([80, 50], backfilled=True), _history([80, 79], account="b", backfilled=True)])
    alerts = derive_alerts(history)
    assert alerts["alert_id"].is_unique
    assert set(alerts["is_backfilled"]) == {True}
    assert (alerts["raised_at"] == pd.Timestamp("2026-01-12")).all()


def test_configured_tiers_and_bad_input():
    alerts = derive_alerts(_history([90, 84]), AlertPolicy(moderate_min=5, major_min=6))
    assert alerts["severity"].tolist() == ["major_drop"]
    with pytest.raises(ValueError, match="AHW_ALERT"):
        AlertPolicy(moderate_min=30, major_min=20)
    with pytest.raises(ValueError, match="mart_account_health_history lacks the columns \\['health_band'"):
        derive_alerts(_history([90, 80]).drop(columns="health_band"))


def test_score_change_compares_with_the_latest_row_a_week_earlier():
    dates = ["2026-01-04", "2026-01-11", "2026-01-14", "2026-01-18"]
    changes = score_change(_history([50, 60, 40, 45], dates))
    assert changes["reference_score"].tolist()[1:] == [50, 50, 60]
    assert changes["score_change"].isna().tolist() == [True, False, False, False]
    assert changes["score_change"].tolist()[1:] == [10, -10, -15]

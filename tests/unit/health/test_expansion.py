"""Expansion score, tiers and the projected_arr formula."""

import pandas as pd
import pytest

from dagster_project.health.expansion import expansion_score, priority_tier, projected_arr, track_status


def test_projected_arr_is_arr_times_uplift_minus_one_times_poc():
    assert projected_arr(100_000, 0.5, "High") == pytest.approx(100_000 * 0.5 * 0.5)
    assert projected_arr(100_000, 0.5, "Medium") == pytest.approx(100_000 * 0.35 * 0.5)
    assert projected_arr(10_000, 0.1, "Low") == pytest.approx(10_000 * 0.2 * 0.1)
    assert projected_arr([1000.0, float("nan")], [0.2, 0.9], ["High", "High"]).tolist() == [100.0, 0.0]
    with pytest.raises(ValueError, match="Unknown priority tiers"):
        projected_arr(1, 0.1, "Urgent")


@pytest.mark.parametrize(
    "score, tier", [(100, "High"), (81, "High"), (80, "Medium"), (50, "Medium"), (49, "Low"), (0, "Low")]
)
def test_priority_tiers(score, tier):
    assert priority_tier(score) == tier


def test_expansion_score_is_relative_to_the_base_rate():
    assert expansion_score(0.1, 0.1) == 50
    assert expansion_score(0.4, 0.1) == 80
    assert expansion_score(0.0, 0.1) == 0
    with pytest.raises(ValueError, match="base_rate"):
        expansion_score(0.1, 0.0)


def test_track_status_carries_open_opportunities_and_is_idempotent():
    today = pd.Timestamp("2026-03-10")
    scored = pd.DataFrame({"account_id": ["a", "b", "c"], "priority_tier": ["High", "Medium", "Low"]})
    previous = pd.DataFrame(
        {
            "account_id": ["a", "c"],
            "created_date": pd.to_datetime(["2026-03-01", "2026-03-09"]),
            "priority_tier": ["Medium", "Low"],
        }
    )
    out = track_status(scored, previous, today)
    assert out["status"].tolist() == ["open", "new", "watch"]
    assert out["created_date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-03-01", "2026-03-10", "2026-03-10"]
    again = track_status(scored, out, today)
    assert again["status"].tolist() == out["status"].tolist()
    assert again["created_date"].tolist() == out["created_date"].tolist()

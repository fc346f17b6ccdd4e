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


def test_opportunities_are_runs_at_medium_or_high_and_end_won_lost_expired_or_open():
    import pandas as pd

    from dagster_project.health.expansion import conversion_by_tier, opportunity_history

    dates = pd.date_range("2026-01-04", periods=6, freq="7D")
    rows = []
    # a: Medium run of 2 weeks (won), Low, then High run from week 4 (open: created too recently)
    for date, tier, score in zip(dates, ["Medium", "Medium", "Low", "High", "High", "High"], [60, 70, 30, 90, 85, 95]):
        rows.append(("a", date, score, tier, 100.0))
    # b: one High week (lost), c: a Medium run whose horizon passed without either (expired)
    rows += [("b", dates[0], 85, "High", 50.0), ("b", dates[1], 40, "Low", 0.0)]
    rows += [("c", dates[0], 55, "Medium", 10.0)]
    scores = pd.DataFrame(rows, columns=["account_id", "as_of_date", "score", "priority_tier", "projected_arr"])
    labels = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c"],
            "as_of_date": [dates[0], dates[3], dates[0], dates[0]],
            "expanded_within_90d": [True, None, False, False],
            "churned_within_90d": [False, None, True, False],
        }
    )
    out = opportunity_history(scores, labels, today=dates[5], horizon_days=30)
    a = out[out["account_id"] == "a"].reset_index(drop=True)
    assert a["created_date"].tolist() == [dates[0], dates[3]]
    assert a["snapshots"].tolist() == [2, 3]
    assert a["status"].tolist() == ["won", "open"]
    assert a.loc[1, "priority_tier"] == "High" and a.loc[0, "priority_tier"] == "Medium"
    assert out.loc[out["account_id"] == "b", "status"].item() == "lost"
    assert out.loc[out["account_id"] == "c", "status"].item() == "expired"
    tiers = conversion_by_tier(out).set_index("priority_tier")
    assert tiers.loc["Medium", "conversion"] == 0.5  # won a, expired c
    assert tiers.loc["High", "conversion"] == 0.0  # lost b; a's High run is still open

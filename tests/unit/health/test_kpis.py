"""KPI maths against hand-computed numbers."""

import numpy as np
import pandas as pd
import pytest

from dagster_project.health.kpis import business_kpis, churn_by_band, kaplan_meier, mrr_kpis


def _movements():
    # Month 1: a starts at 100, b at 200, c at 50. a expands +20, b contracts -50, c churns.
    # d is new (30). Month 2: a churns, b expands +30, d flat, e reactivates (40).
    rows = [
        ("a", "2026-01-01", 100, 0, 20, 0, 0, 0, 120),
        ("b", "2026-01-01", 200, 0, 0, -50, 0, 0, 150),
        ("c", "2026-01-01", 50, 0, 0, 0, -50, 0, 0),
        ("d", "2026-01-01", 0, 30, 0, 0, 0, 0, 30),
        ("a", "2026-02-01", 120, 0, 0, 0, -120, 0, 0),
        ("b", "2026-02-01", 150, 0, 30, 0, 0, 0, 180),
        ("d", "2026-02-01", 30, 0, 0, 0, 0, 0, 30),
        ("e", "2026-02-01", 0, 0, 0, 0, 0, 40, 40),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "account_id",
            "month_start_date",
            "starting_mrr_usd",
            "new_mrr_usd",
            "expansion_mrr_usd",
            "contraction_mrr_usd",
            "churn_mrr_usd",
            "reactivation_mrr_usd",
            "ending_mrr_usd",
        ],
    ).assign(month_start_date=lambda f: pd.to_datetime(f["month_start_date"]))


def test_mrr_kpis_match_hand_computed_numbers():
    k = mrr_kpis(_movements()).set_index("month_start_date")
    jan, feb = k.loc["2026-01-01"], k.loc["2026-02-01"]
    assert (jan.starting_mrr_usd, jan.ending_mrr_usd) == (350, 300)
    assert jan.nrr == pytest.approx((350 + 20 - 50 - 50) / 350)  # 270 / 350
    assert jan.grr == pytest.approx((350 - 50 - 50) / 350)  # 250 / 350
    assert (jan.accounts_at_start, jan.logo_churn, jan.accounts_at_end) == (3, 1, 3)
    assert jan.logo_churn_rate == pytest.approx(1 / 3)
    assert feb.starting_mrr_usd == 300 and feb.ending_mrr_usd == 250
    assert feb.nrr == pytest.approx((300 + 30 - 120) / 300)  # reactivation and new are not retention
    assert feb.grr == pytest.approx((300 - 120) / 300)
    assert (feb.accounts_at_start, feb.logo_churn, feb.accounts_at_end) == (3, 1, 3)


def test_churn_rate_by_band_uses_the_first_snapshot_of_the_month_and_respects_censoring():
    history = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c", "d", "a", "b"],
            "as_of_date": pd.to_datetime(
                ["2026-01-04", "2026-01-11", "2026-01-04", "2026-01-04", "2026-01-04", "2026-02-01", "2026-02-01"]
            ),
            "health_band": ["red", "green", "red", "yellow", "green", "red", "green"],
        }
    )
    labels = history[["account_id", "as_of_date"]].assign(
        churned_within_90d=pd.array([True, False, False, False, False, None, False], dtype="boolean")
    )
    out = churn_by_band(history, labels).set_index("month_start_date")
    jan = out.loc["2026-01-01"]
    # a is red on its first January snapshot (its later green does not count): red = a (churned), b.
    assert (jan.red_accounts, jan.yellow_accounts, jan.green_accounts) == (2, 1, 1)
    assert jan.red_churn_rate_90d == pytest.approx(0.5)
    assert jan.yellow_churn_rate_90d == 0.0 and jan.green_churn_rate_90d == 0.0
    feb = out.loc["2026-02-01"]
    assert np.isnan(feb.red_churn_rate_90d)  # a's label is censored
    assert feb.green_churn_rate_90d == 0.0 and feb.yellow_accounts == 0 and np.isnan(feb.yellow_churn_rate_90d)


def test_business_kpis_join_months():
    history = pd.DataFrame({"account_id": ["a"], "as_of_date": pd.to_datetime(["2026-01-04"]), "health_band": ["red"]})
    labels = history.assign(churned_within_90d=True)[["account_id", "as_of_date", "churned_within_90d"]]
    out = business_kpis(_movements(), history, labels)
    assert len(out) == 2
    assert out["red_accounts"].isna().tolist() == [False, True]  # no scores in February
    assert out.loc[0, "red_accounts"] == 1
    assert out.loc[0, "red_churn_rate_90d"] == 1.0


def test_kaplan_meier_matches_a_hand_computed_curve():
    # Durations 2, 3 (censored), 3, 5, 8 (censored). A censored entry at t is still at risk at t.
    # S(2) = 4/5; at 3: 4 at risk, 1 event -> 0.8 * 3/4 = 0.6; at 5: 2 at risk, 1 event -> 0.3.
    km = kaplan_meier([2, 3, 3, 5, 8], [1, 0, 1, 1, 0])
    assert km["time"].tolist() == [0, 2, 3, 5]
    assert km["at_risk"].tolist() == [5, 5, 4, 2]
    assert km["survival"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3])
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([-1], [1])


def test_mrr_kpis_names_the_missing_column():
    with pytest.raises(ValueError, match="fct_mrr_movements lacks the columns \\['churn_mrr_usd'\\]"):
        mrr_kpis(_movements().drop(columns="churn_mrr_usd"))


def test_landmarks_are_each_accounts_first_date_of_a_month_followed_to_churn_or_the_end():
    from dagster_project.health.kpis import landmark_entries, out_of_sample_churn_by_band

    history = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b", "b"],
            "as_of_date": pd.to_datetime(["2026-01-04", "2026-01-11", "2026-02-01", "2026-01-11", "2026-02-08"]),
            "health_band": ["red", "red", "yellow", "green", "green"],
            "in_training_window": [False, False, False, True, False],
        }
    )
    labels = history[["account_id", "as_of_date"]].assign(
        churned_within_90d=[1, 1, 1, 0, None], days_until_churn=[40, 33, 12, None, None]
    )
    entries = landmark_entries(history, labels).set_index(["account_id", "as_of_date"])
    # one landmark per account and month: a on 01-04 and 02-01, b on 01-11 and 02-08
    assert sorted(entries.index.get_level_values("as_of_date").strftime("%m-%d")) == [
        "01-04",
        "01-11",
        "02-01",
        "02-08",
    ]
    assert entries.loc[("a", pd.Timestamp("2026-01-04")), "duration_days"] == 40
    assert bool(entries.loc[("a", pd.Timestamp("2026-01-04")), "churned"])
    # b never churns: followed to the newest landmark (02-08), 28 days after 01-11
    assert entries.loc[("b", pd.Timestamp("2026-01-11")), "duration_days"] == 28
    rates = out_of_sample_churn_by_band(entries.reset_index())
    # b's January landmark is in the training window and its February one unlabelled: no green row
    assert rates.to_dict("index") == {"red": {"size": 1, "mean": 1.0}, "yellow": {"size": 1, "mean": 1.0}}

"""Health score, bands, and the plain-words pieces of driver sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dagster_project.health.score import health_band, health_score
from dagster_project.ml.explain import driver_sentence, family_subscores, feature_label, format_value, top_drivers


def test_base_rate_scores_50_and_red_edge_is_30():
    assert health_score(0.1, base_rate=0.1) == 50
    assert health_score(0.233, base_rate=0.1) == 30
    assert health_score(0.0, base_rate=0.1) == 100
    assert health_score(1.0, base_rate=0.5) == 33


def test_health_score_is_monotone_decreasing_in_probability():
    p = np.linspace(0, 1, 1001)
    scores = health_score(p, base_rate=0.08)
    assert scores.dtype == np.int64
    assert (np.diff(scores) <= 0).all() and scores[0] == 100 and 0 <= scores[-1] < 10


def test_health_score_rejects_bad_input():
    with pytest.raises(ValueError, match="base_rate"):
        health_score([0.1], base_rate=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        health_score([0.1, np.nan], base_rate=0.1)


@pytest.mark.parametrize(
    ("score", "band"), [(0, "red"), (30, "red"), (31, "yellow"), (70, "yellow"), (71, "green"), (100, "green")]
)
def test_band_edges(score, band):
    assert health_band(score) == band


def test_bands_vectorised_and_configurable():
    assert health_band(np.array([20, 50, 90])).tolist() == ["red", "yellow", "green"]
    assert health_band(np.array([40, 41]), red_max=40, yellow_max=80).tolist() == ["red", "yellow"]
    with pytest.raises(ValueError, match="red_max < yellow_max"):
        health_band(50, red_max=70, yellow_max=30)


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("logins_30d", "logins in the last 30 days"),
        ("logins_30d_vs_prior_30d", "logins in the last 30 days vs the prior 30 days"),
        ("mrr_change_90d", "MRR change in the last 90 days"),
        ("tenure_days", "tenure (days)"),
        ("days_since_last_login", "days since last login"),
        ("active_users_slope_12w", "active users slope over the last 12 weeks"),
        ("time_to_first_response_hours_90d", "time to first response (hours) in the last 90 days"),
        ("nps_latest", "NPS latest"),
        ("api_calls_7d", "API calls in the last 7 days"),
    ],
)
def test_feature_labels(name, label):
    assert feature_label(name) == label


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("logins_30d", 12, "12"),
        ("logins_30d", 12.0, "12"),
        ("mrr", 12345.678, "12,346"),
        ("logins_30d_vs_prior_30d", 0.5512, "0.55"),
        ("avg_session_minutes_30d", 23.456, "23.5"),
        ("seat_utilization_30d", 0.453, "45 %"),
        ("error_rate_7d", 0.031, "3 %"),
        ("plan", "enterprise", "enterprise"),
        ("nps_latest", float("nan"), "unknown"),
        ("nps_latest", None, "unknown"),
    ],
)
def test_values_are_rounded_for_people(feature, value, text):
    assert format_value(feature, value) == text


def test_sentence():
    assert driver_sentence("logins_30d", 12, 0.4) == "Logins in the last 30 days: 12 — raises churn risk"
    assert driver_sentence("mrr", 900.0, -0.2) == "MRR: 900 — lowers churn risk"


def test_top_drivers_on_a_tiny_frame():
    contrib = pd.DataFrame({"logins_30d": [0.5, 0.0], "plan": [-0.9, 0.0], "mrr": [0.1, 0.0]})
    values = pd.DataFrame({"logins_30d": [3, 40], "plan": ["starter", "growth"], "mrr": [np.float64(99.5), np.nan]})
    drivers = top_drivers(contrib, values, k=2)
    assert [d["feature"] for d in drivers[0]] == ["plan", "logins_30d"]
    assert drivers[0][0] == {
        "feature": "plan",
        "value": "starter",
        "impact": -0.9,
        "sentence": "Plan: starter — lowers churn risk",
    }
    assert drivers[1] == []  # no feature moved this row: no drivers rather than fake ones
    with pytest.raises(ValueError, match="rows"):
        top_drivers(contrib, values.head(1))


def test_family_subscores_by_hand():
    contrib = pd.DataFrame({"logins_30d": [0.0, 2.0], "trend": [0.0, 1.0], "mrr": [-1.0, 0.0], "region": [5.0, 5.0]})
    families = {"logins_30d": "usage", "trend": "trend", "mrr": "billing", "region": "firmographic"}
    subs = family_subscores(contrib, families)
    assert subs["usage_score"].tolist() == [50, round(100 / (1 + np.exp(3)))]
    assert subs["billing_score"].tolist() == [round(100 / (1 + np.exp(-1))), 50]
    assert subs["support_score"].isna().all() and subs["sentiment_score"].isna().all()
    with pytest.raises(ValueError, match="Unknown feature families"):
        family_subscores(contrib, {"mrr": "money"})

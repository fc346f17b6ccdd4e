"""Driver sentences a CSM can read: the account's own past first, else its peers of the same size."""

import numpy as np
import pandas as pd
import pytest

from dagster_project.health.drivers import (
    driver_sentence,
    expected_direction,
    feature_label,
    format_value,
    peer_medians,
    top_drivers,
)


def test_own_past_comparison():
    assert driver_sentence("logins_30d", 12, 0.4, own_ratio=0.4) == (
        "Logins in the last 30 days fell to 12, down 60 % from the prior 30 days — raises churn risk"
    )
    assert driver_sentence("active_users_30d", 15, -0.2, own_ratio=1.5) == (
        "Active users in the last 30 days rose to 15, up 50 % from the prior 30 days — lowers churn risk"
    )
    assert driver_sentence("core_actions_30d", 80, 0.1, own_ratio=1.02) == (
        "Core actions in the last 30 days held at 80, about the same as the prior 30 days — raises churn risk"
    )
    assert driver_sentence("logins_30d_vs_prior_30d", 0.55, 0.3) == (
        "Logins in the last 30 days vs the prior 30 days: down 45 % — raises churn risk"
    )
    assert driver_sentence("active_users_30d_vs_prior_30d", 1.03, -0.3) == (
        "Active users in the last 30 days vs the prior 30 days: about the same — lowers churn risk"
    )
    assert driver_sentence("core_actions_share_of_peak", 0.35, 0.3) == (
        "Core actions share of peak: 35 % of the account's own peak — raises churn risk"
    )


def test_peer_comparison_and_fallback():
    assert driver_sentence("open_tickets", 7, 0.4, peer_median=2, peer_group="50-249") == (
        "Open tickets: 7, above the median of 2 for accounts of 50-249 employees — raises churn risk"
    )
    assert driver_sentence("seat_utilization_30d", 0.6, -0.1, peer_median=0.6) == (
        "Seat utilization in the last 30 days: 60 %, in line with the median of 60 % for similar accounts"
        " — lowers churn risk"
    )
    assert driver_sentence("plan", "starter", 0.2, peer_median=np.nan) == "Plan: starter — raises churn risk"


def test_peer_medians_are_per_date_and_size_band():
    frame = pd.DataFrame(
        {
            "as_of_date": ["d1", "d1", "d1", "d2"],
            "size_band": ["s", "s", "l", "s"],
            "tickets_90d": [1, 5, 100, 9],
            "plan": ["a", "b", "c", "d"],
        }
    )
    medians = peer_medians(frame, ["tickets_90d", "plan"])
    assert medians["tickets_90d"].tolist() == [3, 3, 100, 9]
    assert medians["plan"].isna().all()


def test_top_drivers_use_the_comparisons():
    contrib = pd.DataFrame({"logins_30d": [0.5, -0.5], "tickets_90d": [0.2, 0.1]})
    values = pd.DataFrame(
        {
            "as_of_date": ["d1", "d1"],
            "size_band": ["1-49", "1-49"],
            "logins_30d": [4, 40],
            "logins_30d_vs_prior_30d": [0.5, np.nan],
            "tickets_90d": [6, 2],
        }
    )
    drivers = top_drivers(contrib, values, k=2)
    assert (
        drivers[0][0]["sentence"]
        == "Logins in the last 30 days fell to 4, down 50 % from the prior 30 days — raises churn risk"
    )
    assert (
        drivers[0][1]["sentence"]
        == "Tickets in the last 90 days: 6, above the median of 4 for accounts of 1-49 employees — raises churn risk"
    )
    # No own-past ratio: the peers instead.
    assert (
        drivers[1][0]["sentence"]
        == "Logins in the last 30 days: 40, above the median of 22 for accounts of 1-49 employees — lowers churn risk"
    )


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


def test_a_fall_that_lowers_risk_says_why():
    # Own past fell, but the level is still above similar accounts: that is why risk goes down.
    assert driver_sentence("core_actions_30d", 78, -0.3, own_ratio=0.74, peer_median=40, peer_group="50-249") == (
        "Core actions in the last 30 days fell to 78, down 26 % from the prior 30 days, still above the median"
        " of 40 for accounts of 50-249 employees — lowers churn risk"
    )
    # No reference agrees: the level the model learned for the feature gives the reason.
    assert driver_sentence(
        "seat_utilization_30d",
        0.44,
        -0.3,
        peer_median=0.49,
        peer_group="50-249",
        learned_direction=-1,
        learned_level=0.3,
    ) == (
        "Seat utilization in the last 30 days: 44 %, below the median of 49 % for accounts of 50-249 employees,"
        " but above 30 %, the level below which it raises churn risk — lowers churn risk"
    )


def test_fewer_tickets_than_peers_that_raise_risk_say_why():
    # More than the level the model learned, though fewer than the (large) peers.
    assert driver_sentence(
        "tickets_90d", 7, 0.3, peer_median=10, peer_group="1000+", learned_direction=1, learned_level=5.5
    ) == (
        "Tickets in the last 90 days: 7, below the median of 10 for accounts of 1000+ employees, but above 5,"
        " the level above which it raises churn risk — raises churn risk"
    )
    # The model learned that few tickets go with churn: the sentence says so rather than contradict itself.
    assert driver_sentence(
        "tickets_90d", 2, 0.3, peer_median=10, peer_group="1000+", learned_direction=-1, learned_level=3.5
    ) == (
        "Tickets in the last 90 days: 2, below the median of 10 for accounts of 1000+ employees, and below 4,"
        " the level below which it raises churn risk — raises churn risk"
    )
    # Nothing explains it by this feature alone: the sentence says the effect is a combination.
    assert driver_sentence("tickets_90d", 7, 0.3, peer_median=10, peer_group="1000+") == (
        "Tickets in the last 90 days: 7, below the median of 10 for accounts of 1000+ employees — raises churn risk"
        " together with the account's other signals"
    )
    # The peers agree with the effect: no reason needed.
    assert driver_sentence("tickets_90d", 12, 0.3, peer_median=10, peer_group="1000+", learned_level=5.5) == (
        "Tickets in the last 90 days: 12, above the median of 10 for accounts of 1000+ employees — raises churn risk"
    )


def test_expansion_reads_the_other_way_round():
    # More logins raise expansion likelihood: a rise that raises it needs no reason.
    assert driver_sentence("logins_30d", 40, 0.2, "expansion likelihood", own_ratio=1.5) == (
        "Logins in the last 30 days rose to 40, up 50 % from the prior 30 days — raises expansion likelihood"
    )
    assert driver_sentence("logins_30d", 40, -0.2, "expansion likelihood", own_ratio=1.5, peer_median=90) == (
        "Logins in the last 30 days rose to 40, up 50 % from the prior 30 days, still below the median of 90 for"
        " similar accounts — lowers expansion likelihood"
    )


def test_unrecorded_firmographics_read_as_similar_accounts():
    assert driver_sentence("tickets_90d", 7, 0.3, peer_median=3, peer_group="unknown") == (
        "Tickets in the last 90 days: 7, above the median of 3 for similar accounts — raises churn risk"
    )
    assert driver_sentence("employee_count", np.nan, 0.2) == "Employee count: not recorded — raises churn risk"
    assert driver_sentence("size_band", "unknown", 0.2) == "Size band: not recorded — raises churn risk"
    assert driver_sentence("industry", None, -0.1) == "Industry: not recorded — lowers churn risk"
    # A measure with nothing to measure is no data, not unknown.
    assert driver_sentence("core_actions_per_active_user_30d", np.nan, 0.2) == (
        "Core actions per active user in the last 30 days: no data — raises churn risk"
    )


def test_accounts_of_unrecorded_size_are_compared_with_every_account_of_the_date():
    frame = pd.DataFrame(
        {
            "as_of_date": ["d1", "d1", "d1", "d1", "d2"],
            "size_band": ["s", "s", "unknown", None, "unknown"],
            "tickets_90d": [1, 3, 10, 20, 9],
        }
    )
    assert peer_medians(frame, ["tickets_90d"])["tickets_90d"].tolist() == [2, 2, 6.5, 6.5, 9]


def test_top_drivers_give_the_learned_level_as_the_reason():
    utilization = np.linspace(0.05, 1.0, 20)
    contrib = pd.DataFrame({"seat_utilization_30d": np.where(utilization < 0.3, 0.5, -0.2)})
    values = pd.DataFrame(
        {"as_of_date": "d1", "size_band": ["1-49"] * 19 + ["unknown"], "seat_utilization_30d": utilization}
    )
    drivers = top_drivers(contrib, values, k=1)
    # 35 %, below the peers' median (50 %) yet above the ~30 % where the model's effect turns.
    assert drivers[6][0]["sentence"] == (
        "Seat utilization in the last 30 days: 35 %, below the median of 50 % for accounts of 1-49 employees,"
        " but above 28 %, the level below which it raises churn risk — lowers churn risk"
    )
    assert "for similar accounts" in drivers[19][0]["sentence"]


@pytest.mark.parametrize(
    ("feature", "direction"),
    [
        ("logins_30d", -1),
        ("core_actions_30d_vs_prior_30d", -1),
        ("seat_utilization_30d", -1),
        ("nps_latest_score", -1),
        ("mrr_usd", -1),
        ("tickets_90d", 1),
        ("users_deactivated_90d", 1),
        ("days_since_last_login", 1),
        ("invoices_late_90d", 1),
        ("error_rate_30d", 1),
        ("days_to_renewal", 0),
        ("employee_count", 0),
    ],
)
def test_how_a_reader_expects_a_higher_value_to_move_risk(feature, direction):
    assert expected_direction(feature) == direction


def test_a_sentence_is_the_same_whether_its_date_is_scored_alone_or_with_the_history():
    rng = np.random.default_rng(0)
    utilization = rng.random(60)
    other = np.r_[utilization[:30], utilization[30:] / 3]  # a second date where the effect turns lower
    values = pd.DataFrame({"as_of_date": ["d1"] * 30 + ["d2"] * 30, "size_band": "1-49", "seat_utilization_30d": other})
    contrib = pd.DataFrame({"seat_utilization_30d": np.where(other < np.r_[[0.3] * 30, [0.1] * 30], 0.4, -0.2)})
    together = top_drivers(contrib, values, k=1)
    alone = top_drivers(contrib.iloc[30:], values.iloc[30:].reset_index(drop=True), k=1)
    assert together[30:] == alone
    assert any("the level" in d[0]["sentence"] for d in together[:30] + together[30:])

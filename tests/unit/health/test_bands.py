"""Band edges and hysteresis on hand-built score sequences."""

import pandas as pd
import pytest

from dagster_project.health.bands import BandEdges, apply_hysteresis, band_of, next_band


@pytest.mark.parametrize(
    "score, band", [(0, "red"), (30, "red"), (31, "yellow"), (70, "yellow"), (71, "green"), (100, "green")]
)
def test_default_band_edges(score, band):
    assert band_of(score) == band


def test_configured_band_edges():
    assert band_of([40, 41, 80, 81], red_max=40, yellow_max=80).tolist() == ["red", "yellow", "yellow", "green"]
    with pytest.raises(ValueError, match="AHW_HEALTH_RED_MAX"):
        BandEdges(red_max=70, yellow_max=30)
    with pytest.raises(ValueError, match="margin"):
        BandEdges(margin=-1)


DEFAULT_EDGES = BandEdges()


def _bands(scores, edges=DEFAULT_EDGES):
    history = pd.DataFrame(
        {
            "account_id": "a",
            "as_of_date": pd.date_range("2026-01-04", periods=len(scores), freq="7D"),
            "health_score": scores,
        }
    )
    return apply_hysteresis(history, edges).tolist()


def test_hysteresis_keeps_the_band_until_the_edge_is_crossed_by_the_margin():
    # Default margin 3: yellow -> red at <= 27, red -> yellow at >= 34.
    assert _bands([32, 29, 28, 27, 31, 33, 34]) == ["yellow", "yellow", "yellow", "red", "red", "red", "yellow"]
    # green -> yellow at <= 67, yellow -> green at >= 74.
    assert _bands([75, 69, 68, 67, 72, 73, 74]) == ["green", "green", "green", "yellow", "yellow", "yellow", "green"]


def test_a_flapping_score_does_not_flap_the_band():
    scores = [31, 29, 31, 29, 31, 30]
    assert [band_of(s) for s in scores] == ["yellow", "red", "yellow", "red", "yellow", "red"]
    assert _bands(scores) == ["yellow"] * 6


def test_jumps_over_both_edges_and_first_rows():
    assert _bands([80, 10]) == ["green", "red"]
    assert _bands([10, 90]) == ["red", "green"]
    # Clears the red edge but not by the margin: stops in yellow.
    assert _bands([80, 29]) == ["green", "yellow"]
    # First row of each account: the plain band, whatever the other account did.
    history = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "as_of_date": pd.to_datetime(["2026-01-04", "2026-01-11", "2026-01-11"]),
            "health_score": [50, 29, 29],
        }
    )
    assert apply_hysteresis(history, BandEdges()).tolist() == ["yellow", "yellow", "red"]


def test_zero_margin_is_plain_banding():
    assert _bands([31, 30, 31, 71, 70], BandEdges(margin=0)) == ["yellow", "red", "yellow", "green", "yellow"]
    assert next_band(None, 55, BandEdges()) == "yellow"

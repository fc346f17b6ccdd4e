"""Health score and bands."""

from __future__ import annotations

import numpy as np
import pytest

from dagster_project.health.score import health_band, health_score


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

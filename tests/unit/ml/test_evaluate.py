"""Metrics against values computed by hand on tiny examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dagster_project.ml.evaluate import binary_metrics, expected_calibration_error, reliability_curve


def test_perfect_ranking():
    y = [0, 0, 0, 1, 1]
    m = binary_metrics(y, [0.1, 0.2, 0.3, 0.8, 0.9])
    assert m["auc"] == 1.0 and m["pr_auc"] == 1.0
    assert m["n"] == 5 and m["positives"] == 2


def test_reversed_ranking_and_brier():
    m = binary_metrics([1, 0], [0.0, 1.0])
    assert m["auc"] == 0.0 and m["brier"] == 1.0


def test_lift_and_precision_at_k_by_hand():
    # 20 rows, 4 positives (base rate 0.2). Top decile = the 2 highest scores: 1 positive -> 0.5.
    y = np.zeros(20, dtype=int)
    scores = np.linspace(0.05, 0.5, 20)
    y[[19, 10, 5, 0]] = 1  # the highest score is a positive, the second highest is not
    m = binary_metrics(y, scores)
    assert m["k"] == 2
    assert m["precision_at_k"] == 0.5
    assert m["lift_top_decile"] == pytest.approx(0.5 / 0.2)
    assert binary_metrics(y, scores, k=1)["precision_at_k"] == 1.0
    assert binary_metrics(y, scores, k=11)["precision_at_k"] == pytest.approx(2 / 11)


def test_ece_by_hand():
    # Bin [0.2, 0.3): predicted 0.2 for two rows, one positive -> |0.5 - 0.2| = 0.3, weight 2/4.
    # Bin [0.9, 1.0]: predicted 1.0 and 0.9 for two positives -> |1 - 0.95| = 0.05, weight 2/4.
    y = [0, 1, 1, 1]
    s = [0.2, 0.2, 1.0, 0.9]
    assert expected_calibration_error(y, s) == pytest.approx(0.5 * 0.3 + 0.5 * 0.05)
    curve = reliability_curve(y, s)
    assert curve["bin"].tolist() == [2, 9] and curve["n"].tolist() == [2, 2]
    assert binary_metrics(y, s)["ece"] == pytest.approx(0.175)


def test_perfectly_calibrated_bins_have_zero_ece():
    assert expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0


def test_single_class_gives_nan_not_an_error():
    no_positives = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(no_positives["auc"]) and math.isnan(no_positives["pr_auc"])
    assert math.isnan(no_positives["lift_top_decile"])
    assert no_positives["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)
    all_positives = binary_metrics([1, 1], [0.4, 0.6])
    assert math.isnan(all_positives["auc"]) and all_positives["pr_auc"] == 1.0


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([0, 1], [0.5], "must match"),
        ([], [], "zero rows"),
        ([0, 2], [0.1, 0.2], "only 0 and 1"),
        ([0, float("nan")], [0.1, 0.2], "only 0 and 1"),
        ([0, 1], [0.1, 1.2], r"\[0, 1\]"),
    ],
)
def test_bad_input_raises(y, s, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics(y, s)


def test_k_out_of_range_raises():
    with pytest.raises(ValueError, match="k must be"):
        binary_metrics([0, 1], [0.1, 0.9], k=3)

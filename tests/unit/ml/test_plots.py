"""Charts are valid, small PNGs and embed as markdown images."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from dagster_project.ml.plots import (
    feature_importance_png,
    lift_by_decile,
    lift_png,
    markdown_image,
    reliability_png,
    roc_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    risk = rng.random(2000)
    y = rng.binomial(1, 0.3 * risk)
    oracle = 0.3 * risk
    oracle[:10] = np.nan  # the ground truth may miss rows
    return y, {
        "lightgbm": np.clip(0.3 * risk + rng.normal(0, 0.05, 2000), 0, 1),
        "historical_churn_rate": np.full(2000, y.mean()),
        "oracle": oracle,
    }


def _assert_small_png(png: bytes) -> None:
    assert png.startswith(PNG_MAGIC)
    assert 2_000 < len(png) < 80_000


def test_every_chart_is_a_small_png(data):
    y, scores = data
    _assert_small_png(roc_png(y, scores, "lightgbm"))
    _assert_small_png(reliability_png(y, scores))
    _assert_small_png(lift_png(y, scores, "lightgbm"))
    _assert_small_png(feature_importance_png({f"feature_{i}": float(i) for i in range(30)}))


def test_markdown_image_round_trips(data):
    y, scores = data
    png = roc_png(y, scores)
    md = markdown_image(png, "roc")
    assert md.startswith("![roc](data:image/png;base64,") and md.endswith(")")
    assert base64.b64decode(md[len("![roc](data:image/png;base64,") : -1]) == png


def test_lift_by_decile_is_high_at_the_top_for_a_good_score(data):
    y, scores = data
    lift = lift_by_decile(y, scores["lightgbm"])
    assert lift.shape == (10,) and lift[0] > 1.5 > lift[-1]
    assert np.average(lift, weights=[len(p) for p in np.array_split(np.arange(len(y)), 10)]) == pytest.approx(1.0)


def test_bad_input_raises(data):
    y, _ = data
    with pytest.raises(ValueError, match="have 3 values"):
        roc_png(y, {"m": np.array([0.1, 0.2, 0.3])})
    with pytest.raises(ValueError, match="No feature importance"):
        feature_importance_png({})

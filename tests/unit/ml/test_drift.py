"""PSI between training data and the scoring snapshot."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.drift import drifted_important_features, feature_psi, psi, psi_table


def sample(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "mrr_usd": rng.lognormal(6 + shift, 1, n),
            "logins_30d": rng.poisson(20 * math.exp(shift), n),
            "plan": rng.choice(["starter", "growth", "enterprise"], n, p=[0.5, 0.3, 0.2]),
            "nps_latest_score": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 11, n)),
        }
    )


def test_identical_distributions_give_psi_near_zero():
    train = sample(5000, 0)
    assert psi_table(train, train, list(train.columns))["psi"].abs().max() == pytest.approx(0.0, abs=1e-12)
    table = psi_table(train, sample(5000, 1), list(train.columns))
    assert (table["psi"] < 0.02).all() and not table["flag"].any()


def test_shifted_distribution_is_flagged():
    train, shifted = sample(5000, 0), sample(5000, 1, shift=0.8)
    table = psi_table(train, shifted, ["mrr_usd", "logins_30d"]).set_index("feature")
    assert (table["psi"] > 0.2).all() and table["flag"].all()


def test_categorical_new_levels_and_missing_values_count_as_drift():
    train = pd.DataFrame({"plan": ["a"] * 50 + ["b"] * 50})
    assert feature_psi(train["plan"], pd.Series(["a"] * 50 + ["b"] * 50)) == pytest.approx(0.0)
    assert feature_psi(train["plan"], pd.Series(["a"] * 50 + ["c"] * 50)) > 0.2  # "c" unseen in training
    numeric = pd.Series(np.arange(100, dtype=float))
    half_missing = numeric.where(numeric % 2 == 0)
    assert feature_psi(numeric, half_missing) > 0.2  # a source that starts arriving NULL


def test_out_of_range_values_land_in_the_edge_bins():
    train = pd.Series(np.linspace(0, 1, 1000))
    assert np.isfinite(feature_psi(train, pd.Series(np.full(100, 5.0))))
    assert feature_psi(train, pd.Series(np.full(100, 5.0))) > 0.2


def test_psi_formula_with_epsilon_for_empty_bins():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected)
    assert np.isfinite(psi([1.0, 0.0], [0.0, 1.0]))


def test_table_carries_importance_and_drifted_important_features():
    train = sample(3000, 0)
    score = sample(3000, 1).assign(
        mrr_usd=sample(3000, 2, shift=1.0)["mrr_usd"], logins_30d=sample(3000, 3, shift=1.0)["logins_30d"]
    )
    importance = {"mrr_usd": 1.0, "logins_30d": 50.0, "plan": 30.0, "nps_latest_score": 20.0}
    table = psi_table(train, score, list(train.columns), importance=importance)
    assert list(table.columns[:5]) == ["feature", "psi", "flag", "importance", "importance_rank"]
    assert table["psi"].is_monotonic_decreasing
    assert set(table.loc[table["flag"], "feature"]) == {"mrr_usd", "logins_30d"}
    assert drifted_important_features(table, top_n=2) == ["logins_30d"]  # mrr drifted but matters least
    assert set(drifted_important_features(psi_table(train, score, list(train.columns)))) == {"mrr_usd", "logins_30d"}


def test_missing_feature_and_empty_frame_raise():
    train = sample(100, 0)
    with pytest.raises(ValueError, match="scoring snapshot has no column 'mrr_usd'"):
        psi_table(train, train.drop(columns="mrr_usd"), ["mrr_usd"])
    with pytest.raises(ValueError, match="rows on both sides"):
        psi_table(train, train.head(0), ["mrr_usd"])

"""The numbers behind drivers and sub-scores: the largest contributions per row, the level a
feature's contribution turns at, and the family sub-scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.explain import BIAS_COLUMN, family_subscores, neutral_levels, top_contributions


def test_top_contributions_by_absolute_size_without_the_unmoved():
    contrib = pd.DataFrame({"a": [0.5, 0.0], "b": [-0.9, 0.0], "c": [0.1, np.nan], BIAS_COLUMN: [3.0, 3.0]})
    assert top_contributions(contrib, k=2) == [[("b", -0.9), ("a", 0.5)], []]
    assert top_contributions(contrib, k=5)[0] == [("b", -0.9), ("a", 0.5), ("c", 0.1)]
    with pytest.raises(ValueError, match="k must be at least 1"):
        top_contributions(contrib, k=0)


def test_neutral_level_separates_raising_from_lowering_values():
    utilization = np.linspace(0.0, 1.0, 21)
    # Below 0.3 the feature raises the prediction, above it lowers it; one noisy row at 0.5.
    contrib = np.where(utilization < 0.3, 0.4, -0.2)
    contrib[10] = 0.01
    frame = pd.DataFrame({"seat_utilization_30d": utilization, "plan": ["a"] * 21})
    levels = neutral_levels(pd.DataFrame({"seat_utilization_30d": contrib, "plan": 0.1}), frame)
    row = levels.loc["seat_utilization_30d"]
    assert row["direction"] == -1
    assert row["level"] == pytest.approx(0.275)
    assert 0.99 < row["agreement"] < 1.0
    # Not numeric: nothing learned.
    assert levels.loc["plan", "direction"] == 0 and np.isnan(levels.loc["plan", "level"])


def test_neutral_level_needs_rows_of_both_signs():
    values = pd.DataFrame({"tickets_90d": np.arange(30), "logins_30d": np.arange(30)})
    contrib = pd.DataFrame({"tickets_90d": np.where(np.arange(30) > 4, 0.3, -0.1), "logins_30d": 0.2})
    levels = neutral_levels(contrib, values)
    assert levels.loc["tickets_90d", "direction"] == 1 and levels.loc["tickets_90d", "level"] == 4.5
    assert levels.loc["logins_30d", "direction"] == 0  # every row raises: no level to learn
    few = neutral_levels(contrib.head(MIN := 5), values.head(MIN))
    assert few.loc["tickets_90d", "direction"] == 0
    with pytest.raises(ValueError, match="rows"):
        neutral_levels(contrib, values.head(3))


def test_family_subscores_by_hand():
    contrib = pd.DataFrame({"logins_30d": [0.0, 2.0], "trend": [0.0, 1.0], "mrr": [-1.0, 0.0], "region": [5.0, 5.0]})
    families = {"logins_30d": "usage", "trend": "trend", "mrr": "billing", "region": "firmographic"}
    subs = family_subscores(contrib, families)
    assert subs["usage_score"].tolist() == [50, round(100 / (1 + np.exp(3)))]
    assert subs["billing_score"].tolist() == [round(100 / (1 + np.exp(-1))), 50]
    assert subs["support_score"].isna().all() and subs["sentiment_score"].isna().all()
    with pytest.raises(ValueError, match="Unknown feature families"):
        family_subscores(contrib, {"mrr": "money"})

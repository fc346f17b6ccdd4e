"""Champion / challenger: promote only when the backtest is not worse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.artifacts import champion_version
from dagster_project.ml.champion import champion_summary, save_and_maybe_promote, should_promote
from dagster_project.ml.train import train_churn_model

CHAMPION = {"auc": 0.85, "brier": 0.060}
LABEL = "churned_within_28d"


def tiny_snapshots(n_accounts: int = 150, n_weeks: int = 40) -> pd.DataFrame:
    """Weekly snapshots whose churn follows one feature, censored for the last 28 days."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-01", periods=n_weeks, freq="7D")
    health = rng.normal(size=n_accounts * n_weeks)
    df = pd.DataFrame({
        "account_id": np.repeat(np.arange(n_accounts).astype(str), n_weeks),
        "as_of_date": np.tile(dates, n_accounts),
        "usage": health + rng.normal(0, 0.5, health.size),
        "plan": rng.choice(["a", "b"], health.size),
        LABEL: pd.array(rng.binomial(1, 1 / (1 + np.exp(3 + 1.5 * health))), dtype="Int64"),
    })
    df.loc[df["as_of_date"] > dates[-1] - pd.Timedelta(days=28), LABEL] = pd.NA
    return df


@pytest.mark.parametrize(
    ("challenger", "promoted", "reason"),
    [
        ({"auc": 0.86, "brier": 0.059}, True, "not worse"),
        ({"auc": 0.847, "brier": 0.0605}, True, "not worse"),     # within both tolerances
        ({"auc": 0.84, "brier": 0.055}, False, "ranks worse"),     # better Brier does not buy AUC
        ({"auc": 0.90, "brier": 0.070}, False, "probabilities are worse"),
        ({"auc": math.nan, "brier": 0.05}, False, "incomplete"),
    ],
)
def test_not_worse_rule(challenger, promoted, reason):
    decision, why = should_promote(challenger, CHAMPION)
    assert decision is promoted
    assert reason in why


def test_no_champion_promotes():
    assert should_promote({"auc": 0.6, "brier": 0.2}, None)[0] is True
    assert should_promote({"auc": 0.6, "brier": 0.2}, {"auc": None, "brier": None})[0] is True


def test_tolerance_is_a_parameter():
    assert should_promote({"auc": 0.84, "brier": 0.06}, CHAMPION, tolerance=0.02)[0] is True


def test_accepts_a_summary_row_and_names_missing_metrics():
    row = pd.Series({"auc": 0.9, "brier": 0.05, "pr_auc": 0.4})
    assert should_promote(row, CHAMPION)[0] is True
    with pytest.raises(ValueError, match="no 'brier'"):
        should_promote({"auc": 0.9}, CHAMPION)


def test_save_and_maybe_promote_keeps_the_better_champion(tmp_path: Path):
    df = tiny_snapshots()
    small = {"calibration_weeks": 6, "min_train_weeks": 6, "test_weeks": 4, "num_boost_round": 30,
             "params": {"num_threads": 1}}
    first = train_churn_model(df, ["usage", "plan"], LABEL, 28, model_name="churn_a", **small)
    second = train_churn_model(df, ["usage", "plan"], LABEL, 28, model_name="churn_b", **small)

    promoted, reason, _ = save_and_maybe_promote(first, {"auc": 0.80, "brier": 0.07}, tmp_path)
    assert promoted and "No champion" in reason
    assert champion_summary(tmp_path) == {"auc": 0.80, "brier": 0.07}

    promoted, reason, path = save_and_maybe_promote(second, {"auc": 0.70, "brier": 0.07}, tmp_path)
    assert not promoted and path.is_dir()  # saved for the audit trail, not promoted
    assert champion_version(tmp_path) == first.version

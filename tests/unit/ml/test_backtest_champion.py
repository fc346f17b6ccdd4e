"""Champion / challenger: promote only when the backtest is not worse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.artifacts import champion_version, load_model
from dagster_project.ml.champion import should_promote
from dagster_project.ml.recipe import Recipe, retrain
from dagster_project.ml.split import SplitSpec
from dagster_project.ml.train import TrainSpec

CHAMPION = {"auc": 0.85, "brier": 0.060}
LABEL = "churned_within_28d"


def tiny_snapshots(n_accounts: int = 150, n_weeks: int = 40) -> pd.DataFrame:
    """Weekly snapshots whose churn follows one feature, censored for the last 28 days."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-01", periods=n_weeks, freq="7D")
    health = rng.normal(size=n_accounts * n_weeks)
    df = pd.DataFrame(
        {
            "account_id": np.repeat(np.arange(n_accounts).astype(str), n_weeks),
            "as_of_date": np.tile(dates, n_accounts),
            "usage": health + rng.normal(0, 0.5, health.size),
            "plan": rng.choice(["a", "b"], health.size),
            # what the "logins dropped 20 %" baseline reads
            "logins_30d_vs_prior_30d": np.clip(1 + 0.2 * health + rng.normal(0, 0.2, health.size), 0, None),
            LABEL: pd.array(rng.binomial(1, 1 / (1 + np.exp(3 + 1.5 * health))), dtype="Int64"),
        }
    )
    df.loc[df["as_of_date"] > dates[-1] - pd.Timedelta(days=28), LABEL] = pd.NA
    return df


@pytest.mark.parametrize(
    ("challenger", "promoted", "reason"),
    [
        ({"auc": 0.86, "brier": 0.059}, True, "not worse"),
        ({"auc": 0.847, "brier": 0.0605}, True, "not worse"),  # within both tolerances
        ({"auc": 0.84, "brier": 0.055}, False, "ranks worse"),  # better Brier does not buy AUC
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


def _recipe(**overrides) -> Recipe:
    small = dict(
        label=LABEL,
        horizon_days=28,
        split=SplitSpec(calibration_weeks=6, min_train_weeks=6, test_weeks=4),
        training=TrainSpec(params={"num_threads": 1}, num_boost_round=30),
    )
    return Recipe(**{**small, **overrides})


FAMILIES = {"usage": "usage", "plan": "firmographic"}


def test_first_retrain_promotes_and_stores_its_recipe_and_backtest(tmp_path: Path):
    outcome = retrain(_recipe(), tiny_snapshots(), list(FAMILIES), FAMILIES, tmp_path)
    assert outcome.promoted and "No champion" in outcome.reason
    assert champion_version(tmp_path) == outcome.challenger.version
    stored = load_model(tmp_path).metadata
    assert Recipe.from_dict(stored["recipe"]) == _recipe()
    assert stored["backtest"]["folds"] == 5 and stored["backtest"]["auc"] > 0.6
    assert len(outcome.backtest.folds) == 5


def test_same_recipe_on_newer_data_reuses_the_backtest_and_promotes(tmp_path: Path):
    df = tiny_snapshots()
    first = retrain(_recipe(), df, list(FAMILIES), FAMILIES, tmp_path)
    # A week later: other labelled rows, so another version even within the same second (dropping
    # only the newest, unlabelled week would train on the very same rows)
    newer = df.assign(as_of_date=df["as_of_date"] + pd.Timedelta(days=7))
    second = retrain(_recipe(), newer, list(FAMILIES), FAMILIES, tmp_path)
    assert second.challenger.version != first.challenger.version
    assert second.champion_version == first.challenger.version
    assert second.champion_backtest is None  # same recipe and features: not run twice
    assert second.promoted and "Same recipe" in second.reason
    assert champion_version(tmp_path) == second.challenger.version


def test_worse_recipe_is_saved_but_not_promoted(tmp_path: Path):
    df = tiny_snapshots()
    champion = retrain(_recipe(), df, list(FAMILIES), FAMILIES, tmp_path)
    # Leaves of 100,000 rows: the trees cannot split, every account gets the same score.
    crippled = _recipe(training=TrainSpec(params={"num_threads": 1, "min_data_in_leaf": 100_000}, num_boost_round=30))
    challenger = retrain(crippled, df, list(FAMILIES), FAMILIES, tmp_path)
    assert challenger.champion_backtest is not None  # the champion's recipe was backtested again
    assert challenger.champion_backtest.summary().loc["lightgbm", "auc"] == pytest.approx(
        champion.backtest.summary().loc["lightgbm", "auc"]
    )
    assert not challenger.promoted and "ranks worse" in challenger.reason
    assert challenger.path.is_dir()  # saved for the audit trail
    assert champion_version(tmp_path) == champion.challenger.version


def test_too_short_for_a_backtest_promotes_only_a_first_model(tmp_path: Path):
    # 19 labelled weeks: exactly enough to train and hold out (6 + 6 + 3 + 4), one short of 5 folds
    young = tiny_snapshots(n_weeks=23)
    first = retrain(_recipe(), young, list(FAMILIES), FAMILIES, tmp_path)
    assert first.backtest is None and first.promoted
    assert "No backtest: Not enough labelled history" in first.reason
    older = young.assign(as_of_date=young["as_of_date"] + pd.Timedelta(days=7))  # a week later
    second = retrain(_recipe(), older, list(FAMILIES), FAMILIES, tmp_path)
    assert second.backtest is None and not second.promoted
    assert "Kept the champion" in second.reason
    assert champion_version(tmp_path) == first.challenger.version

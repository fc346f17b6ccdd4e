"""Champion / challenger: promote only when the backtest is not worse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.artifacts import champion_version, load_model
from dagster_project.ml.backtest import TIE_AUC
from dagster_project.ml.champion import should_promote
from dagster_project.ml.dataset import NothingToLearn
from dagster_project.ml.recipe import BACKTESTED, MIN_ORIGINS, MIN_SPLIT, PROVISIONAL, Recipe, retrain
from dagster_project.ml.split import SplitSpec
from dagster_project.ml.train import CANDIDATE_KINDS, TrainSpec

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
        candidates=("lightgbm",),
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


def test_too_short_for_a_backtest_promotes_only_a_first_provisional_model(tmp_path: Path):
    # 13 labelled weeks: the smallest split (4 train + 4 calibration + 3 gap + 4 test) needs 15
    young = tiny_snapshots(n_weeks=17)
    first = retrain(_recipe(), young, list(FAMILIES), FAMILIES, tmp_path)
    assert first.backtest is None and first.promoted
    assert first.model_kind == PROVISIONAL and first.challenger.kind == "logistic"
    assert first.challenger.metadata["model_kind"] == PROVISIONAL and first.weeks_short > 0
    labelled = young.loc[young[LABEL].notna(), "as_of_date"]
    assert first.challenger.last_fitted_as_of_date == labelled.max()
    assert f"No backtest: 13 labelled weekly as_of_dates, {first.weeks_short} short" in first.reason
    older = young.assign(as_of_date=young["as_of_date"] + pd.Timedelta(days=7))  # a week later
    second = retrain(_recipe(), older, list(FAMILIES), FAMILIES, tmp_path)
    assert second.backtest is None and not second.promoted
    assert "Kept the champion" in second.reason
    assert champion_version(tmp_path) == first.challenger.version


def test_a_young_company_gets_fewer_and_shorter_folds(tmp_path: Path):
    # 19 labelled weeks: one short of 5 folds with the recipe's periods, enough for 3 smaller ones
    young = tiny_snapshots(n_weeks=23)
    outcome = retrain(_recipe(), young, list(FAMILIES), FAMILIES, tmp_path)
    assert outcome.model_kind == BACKTESTED and outcome.backtest is not None
    assert MIN_ORIGINS <= len(outcome.backtest.folds) < 5
    for fold in outcome.backtest.folds:
        assert fold.label_window_end_date <= fold.origin_date  # the leak-free gap survives the shrinking


def test_the_champion_is_the_best_candidate_of_the_backtest(tmp_path: Path):
    recipe = _recipe(candidates=CANDIDATE_KINDS)
    outcome = retrain(recipe, tiny_snapshots(), list(FAMILIES), FAMILIES, tmp_path)
    summary = outcome.backtest.summary()
    assert set(CANDIDATE_KINDS) <= set(summary.index)
    best = summary.loc[list(CANDIDATE_KINDS), "auc"].max()
    assert summary.loc[outcome.backtest.chosen, "auc"] >= best - TIE_AUC
    assert outcome.challenger.kind == outcome.backtest.chosen == outcome.recipe.training.kind
    assert summary.loc[outcome.backtest.chosen, "model_kind"] == "model"
    assert outcome.backtest.choice in outcome.reason
    stored = load_model(tmp_path)
    assert stored.kind == outcome.backtest.chosen
    assert Recipe.from_dict(stored.metadata["recipe"]) == recipe.with_kind(outcome.backtest.chosen)


def test_the_recipe_shrinks_until_the_history_fits_and_no_further():
    recipe = Recipe(label="churned_within_90d", horizon_days=90)
    needed = recipe.weeks_for_a_backtest()
    assert recipe.fitted_to(needed - 1)[1] == PROVISIONAL
    small, kind = recipe.fitted_to(needed)
    assert kind == BACKTESTED and small.n_origins >= MIN_ORIGINS and small.split == MIN_SPLIT
    assert small.backtest_spec.largest_step(needed, 90) is not None and small.split.weeks_needed(90) <= needed
    assert recipe.fitted_to(200) == (recipe, BACKTESTED)  # a long history keeps the full recipe
    # 12 months of weekly snapshots leave ~39 labelled weeks for a 90-day horizon: a backtest
    assert recipe.fitted_to(39)[1] == BACKTESTED


def test_a_label_without_positives_is_nothing_to_learn(tmp_path: Path):
    df = tiny_snapshots().assign(**{LABEL: lambda d: d[LABEL] * 0})
    with pytest.raises(NothingToLearn, match="no positive"):
        retrain(_recipe(), df, list(FAMILIES), FAMILIES, tmp_path)

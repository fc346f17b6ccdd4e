"""The production training recipe, one object, so that what is deployed is what is backtested.

A `Recipe` is everything that decides how a model is made apart from the data: the label, its
horizon, the LightGBM parameters and number of trees, and how the labelled history is split
(calibration period length and gap). `train` makes the model that gets scored; `backtest` runs
the same recipe walk-forward; `retrain` is the champion/challenger step of the retrain job:

1. train the challenger on the newest labels and backtest its recipe;
2. backtest the champion on the same data: when the champion was made by the same recipe on the
   same feature list, its backtest on today's data *is* the challenger's (training is
   deterministic), so it is not run twice; otherwise the champion's recipe and features are
   backtested again, so both numbers come from the same snapshots and origins;
3. promote the challenger only if its backtest is not worse (`champion.should_promote`).

Every challenger is saved (versions are immutable and auditable); only the champion pointer moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from dagster_project.ml import artifacts, champion
from dagster_project.ml.backtest import (
    DEFAULT_BACKTEST,
    MODEL_NAME,
    BacktestResult,
    BacktestSpec,
    walk_forward_backtest,
)
from dagster_project.ml.split import DEFAULT_SPLIT, SplitSpec
from dagster_project.ml.train import DEFAULT_TRAINING, TrainedModel, TrainSpec, json_safe, train_churn_model

RECIPE_METADATA_KEY = "recipe"
# Recipes stored before the split and training settings were grouped kept them at the top level.
_FLAT_SPLIT_KEYS = ("calibration_gap_days", "calibration_weeks", "test_weeks", "min_train_weeks")
_FLAT_TRAIN_KEYS = ("params", "num_boost_round")


@dataclass(frozen=True)
class Recipe:
    """How a model is made (not from what data). Stored with every model it makes.

    `split` is the deployed model's own split (its `test_weeks` is its holdout); the backtest
    places `n_origins` folds and makes the same split in each.
    """

    label: str
    horizon_days: int
    training: TrainSpec = DEFAULT_TRAINING
    split: SplitSpec = DEFAULT_SPLIT
    n_origins: int = DEFAULT_BACKTEST.n_origins

    @property
    def backtest_spec(self) -> BacktestSpec:
        return BacktestSpec(n_origins=self.n_origins, split=self.split)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        data = dict(data)
        split = data.pop("split", None) or {k: data.pop(k) for k in _FLAT_SPLIT_KEYS if k in data}
        training = data.pop("training", None) or {k: data.pop(k) for k in _FLAT_TRAIN_KEYS if k in data}
        training = {**training, "params": dict(training.get("params") or {})}
        return cls(**data, split=SplitSpec(**split), training=TrainSpec(**training))

    def train(self, df: pd.DataFrame, features: Sequence[str], families: Mapping[str, str]) -> TrainedModel:
        """The model to deploy: trained, calibrated and tested on the newest labelled history."""
        model = train_churn_model(
            df,
            list(features),
            self.label,
            self.horizon_days,
            feature_families=families,
            training=self.training,
            split=self.split,
        )
        model.metadata[RECIPE_METADATA_KEY] = self.to_dict()
        return model

    def backtest(
        self,
        df: pd.DataFrame,
        features: Sequence[str],
        families: Mapping[str, str],
        oracle_column: str | None = None,
    ) -> BacktestResult:
        """Walk-forward backtest of this recipe (model, baselines and, when given, the oracle)."""
        return walk_forward_backtest(
            df,
            list(features),
            self.label,
            self.horizon_days,
            self.backtest_spec,
            training=self.training,
            feature_families={f: families[f] for f in features},
            oracle_column=oracle_column,
        )


@dataclass
class RetrainOutcome:
    """What `retrain` did: the challenger, both backtests, the decision and where it was saved."""

    challenger: TrainedModel
    backtest: BacktestResult | None  # None: too little history to backtest
    champion_version: str | None
    champion_backtest: BacktestResult | None  # None: no champion, or the same recipe and features
    promoted: bool
    reason: str
    path: Path


def _comparable(summary: pd.Series) -> dict[str, Any]:
    return json_safe({k: summary[k] for k in ("auc", "pr_auc", "brier", "ece", "lift_top_decile", "folds")})


def retrain(
    recipe: Recipe,
    df: pd.DataFrame,
    features: Sequence[str],
    families: Mapping[str, str],
    root_dir: str | Path,
    oracle_column: str | None = None,
) -> RetrainOutcome:
    """Champion/challenger retrain (see the module docstring). Raises ValueError, naming what is
    missing, when the history is too short to train or to backtest with `recipe.n_origins` folds."""
    features = list(features)
    challenger = recipe.train(df, features, families)
    root = Path(root_dir)
    current = artifacts.champion_version(root)
    try:
        result = recipe.backtest(df, features, families, oracle_column)
    except ValueError as too_short:
        # A young or small company: too little labelled history (or a fold period without a single
        # churner) for the backtest. The first model is still worth having; replacing a champion
        # without a backtest is not.
        promote = current is None
        reason = f"No backtest: {too_short} " + (
            "No champion yet: challenger promoted on its holdout alone."
            if promote
            else f"Kept the champion {current}: a challenger needs a backtest to replace it."
        )
        challenger.metadata[champion.BACKTEST_METADATA_KEY] = None
        path = artifacts.save_model(challenger, root, promote=promote)
        return RetrainOutcome(challenger, None, current, None, promote, reason, path)
    challenger_row = result.summary().loc[MODEL_NAME]

    champion_result = None
    if current is None:
        champion_row = None
    else:
        incumbent = artifacts.load_model(root)
        stored = incumbent.metadata.get(RECIPE_METADATA_KEY)
        champion_recipe = Recipe.from_dict(stored) if stored else None
        if champion_recipe == recipe and list(incumbent.features) == features:
            champion_row = challenger_row  # identical recipe and features: the same backtest
        elif champion_recipe is None or not set(incumbent.features) <= set(df.columns):
            champion_row = None  # cannot be re-run on today's data: it cannot defend its title
        else:
            champion_recipe = replace(champion_recipe, n_origins=recipe.n_origins)
            champion_result = champion_recipe.backtest(
                df, incumbent.features, incumbent.feature_families, oracle_column
            )
            champion_row = champion_result.summary().loc[MODEL_NAME]
    promote, reason = champion.should_promote(challenger_row, champion_row)
    if current is not None and champion_row is None and promote:
        reason = (
            f"The champion {current} cannot be backtested on today's data (no stored recipe, or "
            f"features that no longer exist): challenger promoted (backtest AUC "
            f"{challenger_row['auc']:.4f}, Brier {challenger_row['brier']:.4f})."
        )
    elif champion_row is challenger_row:
        reason = (
            f"Same recipe and features as the champion {current}, so the same backtest "
            f"(AUC {challenger_row['auc']:.4f}); retrained on the newest labels: promoted."
        )
    challenger.metadata[champion.BACKTEST_METADATA_KEY] = _comparable(challenger_row)
    path = root / challenger.version
    if path.exists():
        # Versions are immutable: the same data and recipe in the same second made this very model.
        return RetrainOutcome(
            challenger,
            result,
            current,
            champion_result,
            False,
            f"{challenger.version} is already saved (same data, same recipe): nothing to do.",
            path,
        )
    path = artifacts.save_model(challenger, root, promote=promote)
    return RetrainOutcome(challenger, result, current, champion_result, promote, reason, path)

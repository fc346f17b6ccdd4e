"""The production training recipe, one object, so that what is deployed is what is backtested.

A `Recipe` is everything that decides how a model is made apart from the data: the label, its
horizon, the candidate model kinds, the LightGBM settings, and how the labelled history is split.
`train` makes the model that gets scored; `backtest` runs the same recipe walk-forward; `retrain`
is the champion/challenger step of the retrain job:

1. fit the recipe to the history there is (`fitted_to`): a young company gets fewer and shorter
   folds; below what any backtest needs, the model has a holdout only, and below that it is
   provisional (`train.train_provisional`);
2. backtest every candidate kind (logistic regression, LightGBM, their blend) on the same folds
   and choose the best mean AUC (a tie goes to the simpler kind);
3. train the challenger of the chosen kind on the newest labels;
4. backtest the champion on the same data: when the champion was made by the same recipe (up to
   its kind) on the same feature list, its backtest on today's data is already in the table
   (training is deterministic); otherwise the champion's recipe is backtested again, so both
   numbers come from the same snapshots and origins;
5. promote the challenger only if its backtest is not worse (`champion.should_promote`).

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
    BacktestResult,
    BacktestSpec,
    walk_forward_backtest,
)
from dagster_project.ml.baselines import default_baselines, purchase_baselines
from dagster_project.ml.dataset import NothingToLearn, labelled_rows
from dagster_project.ml.split import DEFAULT_SPLIT, SplitSpec
from dagster_project.ml.train import (
    CANDIDATE_KINDS,
    DEFAULT_GRID,
    TrainedModel,
    TrainSpec,
    json_safe,
    train_churn_model,
    train_provisional,
)

RECIPE_METADATA_KEY = "recipe"
# The deployed models tune LightGBM over the small default grid.
PRODUCTION_TRAINING = TrainSpec(grid=DEFAULT_GRID)
# Recipes stored before the split and training settings were grouped kept them at the top level.
_FLAT_SPLIT_KEYS = ("calibration_gap_days", "calibration_weeks", "test_weeks", "min_train_weeks")
_FLAT_TRAIN_KEYS = ("params", "num_boost_round")
# The smallest folds a young company's backtest may shrink to, and the fewest origins.
MIN_SPLIT = SplitSpec(test_weeks=4, calibration_weeks=4, min_train_weeks=4)
MIN_ORIGINS = 3
# What `retrain` and the scores call the model behind them (mart_account_health.model_kind).
BACKTESTED, PROVISIONAL = "backtested", "provisional"


@dataclass(frozen=True)
class Recipe:
    """How a model is made (not from what data). Stored with every model it makes.

    `split` is the deployed model's own split (its `test_weeks` is its holdout); the backtest
    places `n_origins` folds and makes the same split in each.
    """

    label: str
    horizon_days: int
    training: TrainSpec = PRODUCTION_TRAINING
    split: SplitSpec = DEFAULT_SPLIT
    n_origins: int = DEFAULT_BACKTEST.n_origins
    candidates: tuple[str, ...] = CANDIDATE_KINDS
    # Also backtest recency and BG/NBD (activity and dormancy definitions: "no activity ahead").
    with_purchase_baselines: bool = False

    @property
    def backtest_spec(self) -> BacktestSpec:
        return BacktestSpec(n_origins=self.n_origins, split=self.split)

    def with_kind(self, kind: str) -> Recipe:
        """The same recipe training `kind`."""
        return replace(self, training=replace(self.training, kind=kind))

    def weeks_for_a_backtest(self) -> int:
        """The fewest labelled weekly dates with which `fitted_to` finds a backtested recipe."""
        smallest = replace(self, split=MIN_SPLIT, n_origins=MIN_ORIGINS)
        return max(
            smallest.split.weeks_needed(self.horizon_days), smallest.backtest_spec.weeks_needed(self.horizon_days, 1)
        )

    def fitted_to(self, n_dates: int) -> tuple[Recipe, str]:
        """(the recipe sized to `n_dates` labelled weekly dates, its model kind: BACKTESTED or
        PROVISIONAL).

        Shrinks step by step, keeping every leak-free gap: fewer origins (down to `MIN_ORIGINS`),
        then the periods towards `MIN_SPLIT` (test, then calibration, then training weeks), until
        both the backtest and the deployed model's own split fit. When nothing fits, the model is
        provisional (`train.train_provisional`).
        """

        def fits(recipe: Recipe) -> bool:
            return (
                recipe.split.weeks_needed(self.horizon_days) <= n_dates
                and recipe.backtest_spec.largest_step(n_dates, self.horizon_days) is not None
            )

        def splits() -> list[SplitSpec]:
            out, split = [self.split], self.split
            for name in ("test_weeks", "calibration_weeks", "min_train_weeks"):
                while getattr(split, name) > getattr(MIN_SPLIT, name):
                    split = replace(split, **{name: max(getattr(split, name) // 2, getattr(MIN_SPLIT, name))})
                    out.append(split)
            return out

        for split in splits():
            for n_origins in range(self.n_origins, min(MIN_ORIGINS, self.n_origins) - 1, -1):
                recipe = replace(self, split=split, n_origins=n_origins)
                if fits(recipe):
                    return recipe, BACKTESTED
        return replace(self, split=MIN_SPLIT), PROVISIONAL

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        data = dict(data)
        split = data.pop("split", None) or {k: data.pop(k) for k in _FLAT_SPLIT_KEYS if k in data}
        training = data.pop("training", None) or {k: data.pop(k) for k in _FLAT_TRAIN_KEYS if k in data}
        training = {
            **training,
            "params": dict(training.get("params") or {}),
            "grid": tuple(dict(point) for point in training.get("grid") or ()),
        }
        # A recipe stored before candidates existed trained LightGBM only.
        candidates = tuple(data.pop("candidates", None) or (training.get("kind", "lightgbm"),))
        return cls(**data, split=SplitSpec(**split), training=TrainSpec(**training), candidates=candidates)

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
            candidates=self.candidates,
            baselines=[
                *default_baselines(features),
                *(purchase_baselines(features, self.horizon_days) if self.with_purchase_baselines else []),
            ],
            feature_families={f: families[f] for f in features},
            oracle_column=oracle_column,
        )


@dataclass
class RetrainOutcome:
    """What `retrain` did: the challenger, both backtests, the decision and where it was saved."""

    challenger: TrainedModel
    backtest: BacktestResult | None  # None: too little history to backtest
    champion_version: str | None
    champion_backtest: BacktestResult | None  # None: no champion, or its backtest is in `backtest`
    promoted: bool
    reason: str
    path: Path
    model_kind: str = BACKTESTED  # BACKTESTED or PROVISIONAL
    recipe: Recipe | None = None  # the recipe as fitted to the history (and the chosen kind)
    weeks_short: int = 0  # more labelled weeks a backtested model needs (0 when it has one)


def _comparable(summary: pd.Series) -> dict[str, Any]:
    return json_safe({k: summary[k] for k in ("auc", "pr_auc", "brier", "ece", "lift_top_decile", "folds")})


def _save(challenger: TrainedModel, root: Path, promote: bool) -> tuple[Path, bool]:
    """Save the challenger; (its folder, promoted). A version that exists is this very model (same
    data, same recipe, same second): nothing is written and nothing is promoted."""
    path = root / challenger.version
    if path.exists():
        return path, False
    return artifacts.save_model(challenger, root, promote=promote), promote


def retrain(
    recipe: Recipe,
    df: pd.DataFrame,
    features: Sequence[str],
    families: Mapping[str, str],
    root_dir: str | Path,
    oracle_column: str | None = None,
) -> RetrainOutcome:
    """Champion/challenger retrain (see the module docstring). A short history never fails: the
    recipe shrinks, and below any backtest (or when a fold period has no positive label) the model
    is provisional. Raises `NothingToLearn` when every label is censored or none is positive."""
    features = list(features)
    root = Path(root_dir)
    current = artifacts.champion_version(root)
    rows = labelled_rows(df, recipe.label, recipe.horizon_days)
    if rows[recipe.label].sum() == 0:
        raise NothingToLearn(
            f"{recipe.label!r} has no positive (1) value among the {len(rows)} labelled rows: there is nothing "
            f"to learn (e.g. no subscriptions, so no expansion), so the model is skipped."
        )
    n_dates = int(pd.to_datetime(rows["as_of_date"]).nunique())
    fitted, model_kind = recipe.fitted_to(n_dates)
    result, too_few = None, ""
    if model_kind == BACKTESTED:
        try:
            result = fitted.backtest(df, features, families, oracle_column)
        except ValueError as error:  # a fold period without a positive (or a negative) label
            model_kind, too_few = PROVISIONAL, f" The backtest could not run: {error}"
    weeks_short = 0 if model_kind == BACKTESTED else max(recipe.weeks_for_a_backtest() - n_dates, 0)

    if model_kind == PROVISIONAL:
        # A young or small company: the first model is still worth having; replacing a champion
        # without a backtest is not.
        challenger = train_provisional(df, features, recipe.label, recipe.horizon_days, feature_families=families)
        fitted = fitted.with_kind("logistic")
        challenger.metadata[RECIPE_METADATA_KEY] = fitted.to_dict()
        challenger.metadata["model_kind"] = model_kind
        challenger.metadata[champion.BACKTEST_METADATA_KEY] = None
        promote = current is None
        history = (
            f"{n_dates} labelled weekly as_of_dates, {weeks_short} short of the smallest walk-forward backtest."
            if weeks_short
            else f"{n_dates} labelled weekly as_of_dates.{too_few}"
        )
        reason = (
            f"No backtest: {history} Trained a provisional model (a logistic regression on every labelled row). "
            + (
                "No champion yet: challenger promoted."
                if promote
                else f"Kept the champion {current}: a challenger needs a backtest to replace it."
            )
        )
        path, promoted = _save(challenger, root, promote)
        return RetrainOutcome(challenger, None, current, None, promoted, reason, path, model_kind, fitted, weeks_short)

    deployed = fitted.with_kind(result.chosen)
    challenger = deployed.train(df, features, families)
    challenger.metadata["model_kind"] = BACKTESTED
    summary = result.summary()
    challenger_row = summary.loc[result.chosen]

    champion_result = None
    champion_row = None
    if current is not None:
        incumbent = artifacts.load_model(root)
        stored = incumbent.metadata.get(RECIPE_METADATA_KEY)
        champion_recipe = Recipe.from_dict(stored) if stored else None
        same_features = list(incumbent.features) == features
        if champion_recipe is None or not set(incumbent.features) <= set(df.columns):
            champion_row = None  # cannot be re-run on today's data: it cannot defend its title
        elif (
            same_features
            and champion_recipe.training.kind in result.candidates
            and champion_recipe.with_kind(deployed.training.kind)
            == replace(deployed, candidates=champion_recipe.candidates)
        ):
            champion_row = summary.loc[champion_recipe.training.kind]  # already backtested today
        else:
            champion_recipe = replace(
                champion_recipe, n_origins=fitted.n_origins, candidates=(champion_recipe.training.kind,)
            )
            champion_result = champion_recipe.backtest(
                df, incumbent.features, incumbent.feature_families, oracle_column
            )
            champion_row = champion_result.summary().loc[champion_result.chosen]
    promote, reason = champion.should_promote(challenger_row, champion_row)
    if current is not None and champion_row is None and promote:
        reason = (
            f"The champion {current} cannot be backtested on today's data (no stored recipe, or "
            f"features that no longer exist): challenger promoted (backtest AUC "
            f"{challenger_row['auc']:.4f}, Brier {challenger_row['brier']:.4f})."
        )
    elif champion_row is challenger_row or (
        champion_row is not None and champion_row.name == result.chosen and champion_result is None
    ):
        reason = (
            f"Same recipe and features as the champion {current}, so the same backtest "
            f"(AUC {challenger_row['auc']:.4f}); retrained on the newest labels: promoted."
        )
    reason = f"{result.choice} {reason}"
    beaten_by = result.baselines_beating_the_model()
    if beaten_by:
        reason += (
            f" WARNING: the baseline(s) {', '.join(beaten_by)} rank better than every candidate "
            f"(mean backtest AUC {summary.loc[beaten_by, 'auc'].max():.4f} vs {challenger_row['auc']:.4f})."
        )
    challenger.metadata[champion.BACKTEST_METADATA_KEY] = _comparable(challenger_row)
    if (root / challenger.version).exists():
        reason = f"{challenger.version} is already saved (same data, same recipe): nothing to do."
    path, promoted = _save(challenger, root, promote)
    return RetrainOutcome(challenger, result, current, champion_result, promoted, reason, path, BACKTESTED, deployed, 0)

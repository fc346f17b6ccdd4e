"""Walk-forward (rolling-origin) backtest of the churn model against its baselines and the oracle.

For each origin date T (oldest first), the production recipe `train.train_churn_model` is run on
the labelled rows up to the end of the fold's test window. Its own time split then carves:

    train ... | >= calibration gap | calibration ... last_cal | >= horizon | T = origin ... test end
                                                        ^ label window of last_cal ends <= T

(the calibration gap is `SplitSpec.calibration_gap_days`, 0 by default; see `split.SplitSpec`)

so every label the fold learns from (training *and* calibration) is fully observed by T: the gap
of one label horizon between the last training/calibration label date and the origin that SPEC
section 5 requires. The test rows are the labelled rows with as_of_date in the fold's test window
(`test_weeks` weekly dates starting at T; by default `test_weeks = step_weeks`, so test windows
tile the end of the history without overlap and every test row is judged exactly once). Training
windows expand: each fold trains on everything older than its own cut.

Reusing the production function (rather than a copy of its recipe) means the backtest measures the
model that will actually be deployed: same params, same number of trees, same centred isotonic
calibration. The baselines (`baselines.py`) are fitted on the fold's training rows (the logistic
regression tunes its penalty on the calibration rows, which the model uses to calibrate), and the
optional oracle (the simulator's true probability) is scored on the same test rows.

Also here: SPEC section 5 targets and `check_targets`. The lead time from the first red band to
churn needs health bands, so it lives in `health/lead_time.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from dagster_project.ml.baselines import DEFAULT_LOGIN_RATIO_COLUMN, default_baselines
from dagster_project.ml.dataset import SNAPSHOT_TABLE, labelled_rows, require_columns
from dagster_project.ml.evaluate import binary_metrics
from dagster_project.ml.split import DEFAULT_SPLIT, SplitSpec, time_split
from dagster_project.ml.train import (
    CANDIDATE_KINDS,
    DEFAULT_TRAINING,
    TrainedModel,
    TrainSpec,
    predict_proba,
    train_candidates,
)

DEFAULT_N_ORIGINS = 5
DEFAULT_STEP_WEEKS = 4
MODEL_NAME = "lightgbm"
ORACLE_NAME = "oracle"
# Candidates whose mean backtest AUCs differ by less than this tie: the simpler one is chosen.
TIE_AUC = 0.001
# The metrics of `evaluate.binary_metrics` that are averaged over folds (n and positives too).
METRICS = ("auc", "pr_auc", "precision_at_k", "lift_top_decile", "brier", "ece", "n", "positives", "base_rate")
# Metrics the "beats baseline X" booleans compare (higher is better for both).
RANKING_METRICS = ("auc", "pr_auc")

# SPEC section 5 targets (simulator default scale): declared once, used by check_targets and the CLI.
SPEC_TARGETS: dict[str, float] = {
    "auc_min": 0.80,
    "auc_share_of_oracle_min": 0.90,
    "brier_max": 0.10,
    "ece_max": 0.05,
    "lift_top_decile_min": 3.0,
    "lead_time_days_min": 28.0,
}


@dataclass(frozen=True)
class BacktestSpec:
    """Where the folds go: how many origins, how far apart, how long each test window, and the
    time split every fold makes of its history (its `test_weeks` is replaced by the fold's window).

    `step_weeks=None` picks the largest step up to `DEFAULT_STEP_WEEKS` that fits the history;
    `test_weeks=None` makes each test window one step long (windows tile without overlap).
    """

    n_origins: int = DEFAULT_N_ORIGINS
    step_weeks: int | None = None
    test_weeks: int | None = None
    split: SplitSpec = DEFAULT_SPLIT

    def __post_init__(self) -> None:
        if self.n_origins < 1:
            raise ValueError(f"n_origins must be at least 1, got {self.n_origins}.")
        if self.step_weeks is not None and self.step_weeks < 1:
            raise ValueError(f"step_weeks must be at least 1 (or None to fit it), got {self.step_weeks}.")
        if self.test_weeks is not None and self.test_weeks < 1:
            raise ValueError(f"test_weeks must be at least 1, got {self.test_weeks}.")

    def fold_split(self, step_weeks: int) -> SplitSpec:
        """The time split of one fold: its test window is `test_weeks`, or one step."""
        return replace(self.split, test_weeks=step_weeks if self.test_weeks is None else self.test_weeks)

    def weeks_needed(self, horizon_days: int, step_weeks: int) -> int:
        """Labelled weekly as_of_dates the backtest needs with this step: the first fold's full time
        split plus (n_origins - 1) steps for the later origins."""
        return self.fold_split(step_weeks).weeks_needed(horizon_days) + (self.n_origins - 1) * step_weeks

    def largest_step(self, n_dates: int, horizon_days: int, max_step_weeks: int = DEFAULT_STEP_WEEKS) -> int | None:
        """The largest step (<= `max_step_weeks`) for which the folds fit in `n_dates` labelled
        weekly dates, or None when even a one-week step does not fit."""
        for step in range(max_step_weeks, 0, -1):
            if self.weeks_needed(horizon_days, step) <= n_dates:
                return step
        return None


DEFAULT_BACKTEST = BacktestSpec()


@dataclass(frozen=True)
class Fold:
    """One backtest fold: its dates, the model trained for it and its test-row predictions."""

    fold: int
    origin_date: pd.Timestamp
    test_end_date: pd.Timestamp
    train_start_date: pd.Timestamp
    train_end_date: pd.Timestamp
    calibration_start_date: pd.Timestamp
    calibration_end_date: pd.Timestamp
    label_window_end_date: pd.Timestamp
    # candidate kind -> the model trained for this fold
    models: dict[str, TrainedModel]
    # account_id, as_of_date, the 0/1 label as `y`, then one probability column per model name
    # (the oracle column is NaN where the ground truth has no value).
    predictions: pd.DataFrame
    # model_name -> binary_metrics dict
    metrics: dict[str, dict[str, float | int]]
    # baseline name -> what its fit chose (e.g. the logistic regression's C)
    baseline_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    chosen: str = MODEL_NAME  # the candidate the whole backtest chose

    @property
    def model(self) -> TrainedModel:
        """The fold's model of the chosen candidate."""
        return self.models[self.chosen]


@dataclass
class BacktestResult:
    """All folds of a walk-forward backtest; `to_frame` is the shape of `mart_model_performance`."""

    label: str
    horizon_days: int
    folds: list[Fold]
    baseline_names: list[str]
    has_oracle: bool
    settings: dict[str, Any] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=lambda: [MODEL_NAME])
    chosen: str = MODEL_NAME
    choice: str = ""  # why `chosen` was chosen, in one sentence

    @property
    def model_names(self) -> list[str]:
        """Reporting order: the candidates, each baseline, the oracle (when given)."""
        return [*self.candidates, *self.baseline_names, *([ORACLE_NAME] if self.has_oracle else [])]

    def kind(self, name: str) -> str:
        """'model' (the chosen candidate), 'candidate', 'baseline' or 'oracle'."""
        if name == self.chosen:
            return "model"
        if name in self.candidates:
            return "candidate"
        return "oracle" if name == ORACLE_NAME else "baseline"

    def baselines_beating_the_model(self) -> list[str]:
        """Baselines whose mean backtest AUC is higher than the chosen candidate's."""
        summary = self.summary()
        return [b for b in self.baseline_names if summary.loc[b, "auc"] > summary.loc[self.chosen, "auc"]]

    def to_frame(self) -> pd.DataFrame:
        """One row per (model_name, fold): dates of the fold and every metric of `binary_metrics`."""
        rows = []
        for fold in self.folds:
            for name in self.model_names:
                if name not in fold.metrics:
                    continue  # the oracle has no value on any test row of this fold
                rows.append(
                    {
                        "model_name": name,
                        "model_kind": self.kind(name),
                        "fold": fold.fold,
                        "origin_date": fold.origin_date,
                        "test_end_date": fold.test_end_date,
                        "train_start_date": fold.train_start_date,
                        "train_end_date": fold.train_end_date,
                        "calibration_end_date": fold.calibration_end_date,
                        "label": self.label,
                        "horizon_days": self.horizon_days,
                        "model_version": fold.models[name].version if name in fold.models else None,
                        **fold.metrics[name],
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Metrics averaged over folds, one row per model name (NaN folds are skipped).

        Adds `folds`, `auc_std` (spread over folds), `auc_share_of_oracle` (when an oracle was
        given) and, for every baseline X, booleans `beats_X_auc` / `beats_X_pr_auc`: the row's
        fold-averaged metric is strictly higher than X's. `model_kind` marks the chosen candidate
        as 'model'.
        """
        frame = self.to_frame()
        grouped = frame.groupby("model_name", sort=False)
        summary = grouped[list(METRICS)].mean()
        summary.insert(0, "model_kind", [self.kind(n) for n in summary.index])
        summary.insert(1, "folds", grouped.size())
        summary["auc_std"] = grouped["auc"].std(ddof=0)
        if self.has_oracle and ORACLE_NAME in summary.index:
            summary["auc_share_of_oracle"] = summary["auc"] / summary.loc[ORACLE_NAME, "auc"]
        for baseline in self.baseline_names:
            for metric in RANKING_METRICS:
                summary[f"beats_{baseline}_{metric}"] = summary[metric] > summary.loc[baseline, metric]
        return summary.reindex([n for n in self.model_names if n in summary.index])

    def predictions(self) -> pd.DataFrame:
        """Test-row predictions of every fold, stacked (with a `fold` column)."""
        return pd.concat([f.predictions.assign(fold=f.fold) for f in self.folds], ignore_index=True)

    def feature_importance(self) -> pd.Series:
        """Gain importance of each feature averaged over the fold models, largest first."""
        gains = pd.DataFrame([f.model.feature_importance for f in self.folds])
        return gains.mean().sort_values(ascending=False)


def walk_forward_backtest(
    df: pd.DataFrame,
    features: Sequence[str],
    label: str,
    horizon_days: int,
    spec: BacktestSpec = DEFAULT_BACKTEST,
    *,
    training: TrainSpec = DEFAULT_TRAINING,
    candidates: Sequence[str] | None = None,
    feature_families: Mapping[str, str] | None = None,
    baselines: Sequence[Any] | None = None,
    login_ratio_column: str = DEFAULT_LOGIN_RATIO_COLUMN,
    segment_column: str | None = None,
    oracle_column: str | None = None,
) -> BacktestResult:
    """Run the walk-forward backtest; see the module docstring for the fold layout.

    `df` is `marts.ml_account_snapshots` (censored rows are dropped here). `spec` places the folds
    (a longer test window than the step, e.g. 13 weeks, gives steadier per-fold numbers at the
    price of overlapping folds); `training` goes to `train_churn_model` as it is (fewer rounds make
    a quick backtest). Whatever they are, every training and calibration label window still ends on
    or before its fold's origin. `baselines` defaults to
    `baselines.default_baselines(features, login_ratio_column, segment_column)`. `oracle_column`
    names a column of true probabilities (the simulator's ground truth) scored like a model.
    `candidates` (model kinds, default: `training.kind` alone) are all trained in every fold; the
    one with the best mean AUC is `chosen` (on a tie within `TIE_AUC`, the simpler one: the order
    of `train.CANDIDATE_KINDS`).

    Raises ValueError when the labelled history is too short for `spec.n_origins` folds, saying how
    many weekly dates are needed and how many there are.
    """
    features = list(features)
    require_columns(df, [label, *features] + ([oracle_column] if oracle_column else []))

    rows = labelled_rows(df, label, horizon_days)
    rows = rows.assign(as_of_date=pd.to_datetime(rows["as_of_date"]))
    dates = pd.DatetimeIndex(sorted(rows["as_of_date"].unique()))

    # None: the largest step that fits; nothing fits: the error below, stated for a one-week step.
    step_weeks = spec.step_weeks or spec.largest_step(len(dates), horizon_days) or 1
    fold_split = spec.fold_split(step_weeks)
    n_origins, test_weeks = spec.n_origins, fold_split.test_weeks
    needed = spec.weeks_needed(horizon_days, step_weeks)
    if len(dates) < needed:
        span = f" ({dates.min().date()} to {dates.max().date()})" if len(dates) else ""
        fits = spec.largest_step(len(dates), horizon_days, step_weeks)
        hint = f" A step of {fits} week(s) would fit." if fits else ""
        raise ValueError(
            f"Not enough labelled history in {SNAPSHOT_TABLE} for a {n_origins}-origin walk-forward "
            f"backtest: need {needed} weekly as_of_dates with a non-NULL {label!r}, found {len(dates)}{span}. "
            f"Needed = {fold_split.min_train_weeks} train + {fold_split.calibration_weeks} calibration + "
            f"{test_weeks} test weeks, the calibration and {horizon_days}-day gaps, and {n_origins - 1} steps of "
            f"{step_weeks} week(s) between origins.{hint} Load more history, or lower n_origins / step_weeks / "
            f"calibration_weeks / min_train_weeks."
        )

    specs = (
        list(baselines) if baselines is not None else default_baselines(features, login_ratio_column, segment_column)
    )
    names = [spec.name for spec in specs]
    kinds = [k for k in CANDIDATE_KINDS if k in (candidates or (training.kind,))]
    if len(set(names)) != len(names) or {*kinds, ORACLE_NAME} & set(names):
        raise ValueError(f"Baseline names must be unique and not {[*kinds, ORACLE_NAME]}; got {names}.")

    folds = []
    for fold in range(n_origins):
        # The newest fold's test window ends at the newest labelled date; each older one a step earlier.
        start = len(dates) - test_weeks - (n_origins - 1 - fold) * step_weeks
        test_dates = dates[start : start + test_weeks]
        cut = rows[rows["as_of_date"] <= test_dates[-1]]
        folds.append(
            _run_fold(
                fold,
                cut,
                test_dates,
                features,
                label,
                horizon_days,
                specs,
                oracle_column,
                feature_families,
                fold_split,
                training,
                kinds,
            )
        )

    result = BacktestResult(
        label=label,
        horizon_days=int(horizon_days),
        folds=folds,
        baseline_names=names,
        has_oracle=oracle_column is not None,
        candidates=kinds,
        settings={
            "n_origins": n_origins,
            "step_weeks": step_weeks,
            "test_weeks": test_weeks,
            "calibration_weeks": fold_split.calibration_weeks,
            "min_train_weeks": fold_split.min_train_weeks,
            "calibration_gap_days": fold_split.calibration_gap_days,
            "num_boost_round": training.num_boost_round,
            "early_stopping_rounds": training.early_stopping_rounds,
            "n_labelled_dates": len(dates),
        },
    )
    result.chosen, result.choice = choose_candidate(result.summary(), kinds)
    result.folds = [replace(f, chosen=result.chosen) for f in folds]
    return result


def choose_candidate(summary: pd.DataFrame, candidates: Sequence[str]) -> tuple[str, str]:
    """(the chosen candidate, why): the best mean backtest AUC; within `TIE_AUC` of it, the simplest
    (first in `candidates`)."""
    aucs = summary.loc[list(candidates), "auc"].astype("float64")
    best = float(aucs.max())
    chosen = next(c for c in candidates if aucs[c] >= best - TIE_AUC)
    listed = ", ".join(f"{c} {aucs[c]:.4f}" for c in candidates)
    if len(candidates) == 1:
        return chosen, f"{chosen} is the only candidate (mean backtest AUC {best:.4f})."
    if aucs[chosen] < best:
        return chosen, (f"{chosen} chosen: within {TIE_AUC} of the best mean backtest AUC and simpler ({listed}).")
    return chosen, f"{chosen} chosen: the best mean backtest AUC ({listed})."


def _run_fold(
    fold: int,
    cut: pd.DataFrame,
    test_dates: pd.DatetimeIndex,
    features: list[str],
    label: str,
    horizon_days: int,
    specs: Sequence[Any],
    oracle_column: str | None,
    feature_families: Mapping[str, str] | None,
    fold_split: SplitSpec,
    training: TrainSpec,
    kinds: Sequence[str],
) -> Fold:
    # The same deterministic split train_churn_model makes inside, to fit the baselines on the
    # very rows the model trained on.
    split = time_split(cut, label, horizon_days, fold_split)
    origin = test_dates[0]
    used_dates = pd.concat([split.train["as_of_date"], split.calibration["as_of_date"]])
    label_window_end = used_dates.max() + pd.Timedelta(days=horizon_days)
    if label_window_end > origin or split.test["as_of_date"].min() != origin:
        # time_split guarantees this; checked because the backtest is worthless if it ever breaks.
        raise RuntimeError(
            f"Fold {fold}: a training or calibration label window ends {label_window_end.date()}, after "
            f"the origin {origin.date()}; the backtest would leak."
        )
    models = train_candidates(
        cut,
        features,
        label,
        horizon_days,
        kinds,
        feature_families=feature_families,
        training=training,
        split=fold_split,
        # Stamped with the origin: the fold model is "the model we would have trained on day T",
        # and its version stays the same when the backtest is rerun on the same data.
        trained_at=pd.Timestamp(origin).tz_localize("UTC").to_pydatetime(),
    )

    test = split.test
    y = test[label].to_numpy(dtype="int64")
    predictions = pd.DataFrame(
        {
            "account_id": test["account_id"].to_numpy(),
            "as_of_date": test["as_of_date"].to_numpy(),
            "y": y,
            **{kind: predict_proba(model, test) for kind, model in models.items()},
        }
    )
    baseline_params = {}
    for spec in specs:
        # Fitted on the model's training rows; the calibration period (which the model calibrates
        # on) is offered for tuning, so no baseline sees data the model did not.
        scorer = spec.fit(split.train, label, split.calibration)
        predictions[spec.name] = scorer(test)
        baseline_params[spec.name] = dict(getattr(scorer, "params", {}))
    if oracle_column is not None:
        predictions[ORACLE_NAME] = pd.to_numeric(test[oracle_column], errors="coerce").to_numpy(dtype="float64")

    metrics = {}
    for name in [*models, *(s.name for s in specs)]:
        metrics[name] = binary_metrics(y, predictions[name].to_numpy())
    if oracle_column is not None:
        # The ground truth may miss a few rows (e.g. an as_of_date outside the simulated weeks):
        # the oracle is judged on the rows where it is known, and says so through its n.
        known = predictions[ORACLE_NAME].notna().to_numpy()
        if known.any():
            metrics[ORACLE_NAME] = binary_metrics(y[known], predictions.loc[known, ORACLE_NAME].to_numpy())

    return Fold(
        fold=fold,
        origin_date=origin,
        test_end_date=test_dates[-1],
        train_start_date=split.train["as_of_date"].min(),
        train_end_date=split.train["as_of_date"].max(),
        calibration_start_date=split.calibration["as_of_date"].min(),
        calibration_end_date=split.calibration["as_of_date"].max(),
        label_window_end_date=label_window_end,
        models=models,
        predictions=predictions,
        metrics=metrics,
        baseline_params=baseline_params,
    )


# --- SPEC targets -----------------------------------------------------------------------------


def check_targets(
    summary: pd.DataFrame,
    lead_time: float | None = None,
    targets: Mapping[str, float] = SPEC_TARGETS,
) -> pd.DataFrame:
    """SPEC section 5 targets checked against a backtest `summary()` (and the median lead time).

    One row per target: target, threshold, observed, passed. Targets whose input is missing (no
    oracle, no lead time) are listed with observed NaN and passed None, not silently dropped.
    Also one row per baseline: the model must beat it on AUC and on PR-AUC.
    """
    model = summary[summary["model_kind"] == "model"].iloc[0]
    rows: list[dict[str, Any]] = []

    def add(target: str, op: str, threshold: float, observed: float | None) -> None:
        value = math.nan if observed is None else float(observed)
        passed = None if math.isnan(value) else bool(value >= threshold if op == ">=" else value <= threshold)
        rows.append({"target": target, "threshold": f"{op} {threshold:g}", "observed": value, "passed": passed})

    add("AUC", ">=", targets["auc_min"], model["auc"])
    share = model.get("auc_share_of_oracle") if "auc_share_of_oracle" in summary.columns else None
    add("AUC / oracle AUC", ">=", targets["auc_share_of_oracle_min"], share)
    add("Brier score", "<=", targets["brier_max"], model["brier"])
    add("expected calibration error", "<=", targets["ece_max"], model["ece"])
    add("lift in the top decile", ">=", targets["lift_top_decile_min"], model["lift_top_decile"])
    add("median lead time, first red to churn (days)", ">=", targets["lead_time_days_min"], lead_time)
    for name, kind in summary["model_kind"].items():
        if kind != "baseline":
            continue
        for metric in RANKING_METRICS:
            beats = bool(model[f"beats_{name}_{metric}"])
            rows.append(
                {
                    "target": f"beats {name} on {metric.upper().replace('_', '-')}",
                    "threshold": f"> {summary.loc[name, metric]:.4f}",
                    "observed": float(model[metric]),
                    "passed": beats,
                }
            )
    return pd.DataFrame(rows)

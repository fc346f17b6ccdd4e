"""Train a calibrated LightGBM classifier on account snapshots.

Recipe (one function, `train_churn_model`):
1. keep labelled rows (NULL = censored, never trained on) and split them by time into
   train / calibration / test with a one-horizon gap between periods (`split.time_split`);
2. fit LightGBM on train, early-stopping on the calibration period;
3. fit (centred) isotonic calibration of the raw probabilities on the calibration period (a later
   period than training, so the calibration also absorbs drift between the two);
4. report metrics on the untouched test period, raw and calibrated.

No refit. The model that scores the current snapshot is the one trained on the train period,
i.e. exactly the model whose test metrics are reported. Refitting on all labelled rows would use
about six more months of data, but its calibration and metrics could no longer be checked on
data it has not seen; the honest, reproducible choice wins until backtests show the refit is
worth it. (The newest labelled rows are still at most ~6 months + horizon old at scoring time.)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from dagster_project.core import clock
from dagster_project.ml.dataset import (
    ID_COLUMNS,
    SNAPSHOT_TABLE,
    NothingToLearn,
    labelled_rows,
    learn_categories,
    prepare_matrix,
    require_columns,
    validate_feature_families,
)
from dagster_project.ml.evaluate import ECE_BINS, binary_metrics
from dagster_project.ml.linear import LinearModel, fit_linear
from dagster_project.ml.split import DEFAULT_SPLIT, SplitSpec, time_split

# Small-tabular defaults: shallow trees, strong leaf minimum and row/feature subsampling keep a
# model on a few thousand accounts from memorising individual accounts. deterministic +
# force_row_wise + a fixed seed make a retrain on the same data produce the same model.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_logloss",  # a proper scoring rule: less noisy than AUC for early stopping
    # Churners are a few percent of a few thousand account-weeks: shallow, heavily regularized
    # trees generalize to the next quarter far better than deep ones (measured on the simulator).
    "learning_rate": 0.03,
    "num_leaves": 4,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
# Walk-forward backtests at the default simulator scale: 50-100 rounds rank best, 500 overfit.
DEFAULT_NUM_BOOST_ROUND = 100
# Off by default: on a few hundred churners, log loss on the calibration period stops the shallow
# trees after a few dozen rounds, well before their ranking stops improving (measured).
DEFAULT_EARLY_STOPPING_ROUNDS: int | None = None


# The model kinds a recipe can train, simplest first (a tie in the backtest goes to the simpler):
# the L2 logistic regression, LightGBM, and the average of their raw probabilities.
CANDIDATE_KINDS = ("logistic", "lightgbm", "blend")


@dataclass(frozen=True)
class TrainSpec:
    """How the model is fitted: its kind (`CANDIDATE_KINDS`), and for LightGBM the overrides of
    `DEFAULT_PARAMS`, rounds, early stopping and seed."""

    kind: str = "lightgbm"
    params: Mapping[str, Any] = field(default_factory=dict)
    # Alternatives to `params` LightGBM may pick from, by an inner time-aware validation on the
    # training weeks only (`_tune_params`); empty: `params` as they are.
    grid: tuple[Mapping[str, Any], ...] = ()
    num_boost_round: int = DEFAULT_NUM_BOOST_ROUND
    early_stopping_rounds: int | None = DEFAULT_EARLY_STOPPING_ROUNDS
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.kind not in CANDIDATE_KINDS:
            raise ValueError(f"Unknown model kind {self.kind!r}; expected one of {', '.join(CANDIDATE_KINDS)}.")

    def lightgbm_params(self) -> dict[str, Any]:
        """The full LightGBM parameters: defaults, the seed, then the overrides."""
        return {**DEFAULT_PARAMS, "seed": int(self.random_state), **dict(self.params)}


# The production grid: today's shallow trees, and two looser variants for richer data.
DEFAULT_GRID: tuple[dict[str, Any], ...] = (
    {},
    {"num_leaves": 8, "min_data_in_leaf": 100},
    {"num_leaves": 16, "min_data_in_leaf": 50, "lambda_l2": 1.0},
)
# The inner validation: the last weeks of the training period, one label horizon after the rest.
INNER_VALIDATION_WEEKS = 4
DEFAULT_TRAINING = TrainSpec()
# The column of a contributions frame that holds the model's average log-odds.
BIAS_COLUMN = "_bias"


# Share of the Platt map in the calibrated probability (see IsotonicCalibrator).
PLATT_WEIGHT = 0.1
_LOGIT_EPS = 1e-12
# Calibrated probabilities are shrunk into [1e-6, 1 - 1e-6]: a float Platt map saturates at exactly
# 1.0 for raw scores within ~1e-16 of 1.
_EDGE = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), _LOGIT_EPS, 1 - _LOGIT_EPS)
    return np.log(p) - np.log1p(-p)


def _fit_platt(raw: np.ndarray, y_true: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of a logistic regression of the outcome on logit(raw) (lightly penalized,
    so it stays finite on separable data).

    The slope is kept positive (at least 1e-3): the map must stay strictly increasing even when
    the calibration period is too small or too noisy to show the ranking.
    """
    z = _logit(raw)[:, None]
    y = np.asarray(y_true, dtype="int64")
    if y.min() == y.max():
        rate = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        return math.log(rate / (1 - rate)), 1e-3
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = LogisticRegression(C=100.0, max_iter=1000).fit(z, y)
    return float(fitted.intercept_[0]), max(float(fitted.coef_[0][0]), 1e-3)


@dataclass(frozen=True)
class IsotonicCalibrator:
    """Monotone map from raw model probability to calibrated probability.

    Centred isotonic regression (Oron & Flournoy, 2017): the pool-adjacent-violators fit of plain
    isotonic regression, then linear interpolation between the centroids of its constant blocks.
    Plain isotonic is a step function that ties dozens of accounts at the same probability, which
    scrambles the risk ranking inside each step; the centred version keeps the raw ranking between
    the first and last centroid, but is flat (often exactly 0 or 1) beyond them.

    So the published probability is `(1 - w) * isotonic + w * platt`, with a Platt map (a logistic
    regression on the logit of the raw probability, slope kept positive) of small weight w
    (`PLATT_WEIGHT`): strictly increasing in the raw probability everywhere, so two accounts tie
    only where the model's raw scores tie, and strictly inside (0, 1). Stored as the x/y knots and
    the Platt coefficients (plain JSON, not a pickle).
    """

    x: np.ndarray
    y: np.ndarray
    platt: tuple[float, float] = (0.0, 1.0)
    weight: float = 0.0

    @classmethod
    def fit(cls, raw: np.ndarray, y_true: np.ndarray, weight: float = PLATT_WEIGHT) -> IsotonicCalibrator:
        """Fit the map on (raw score, 0/1 outcome) pairs."""
        raw = np.asarray(raw, dtype="float64")
        y_true = np.asarray(y_true, dtype="float64")
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        fitted = iso.fit(raw, y_true).predict(raw)
        # PAVA block values are strictly increasing, so each distinct fitted value is one block.
        levels, block = np.unique(fitted, return_inverse=True)
        centroids = np.bincount(block, weights=raw) / np.bincount(block)
        return cls(x=centroids, y=levels, platt=_fit_platt(raw, y_true), weight=float(weight))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw probabilities."""
        raw = np.asarray(raw, dtype="float64")
        isotonic = np.clip(np.interp(raw, self.x, self.y), 0.0, 1.0)
        if not self.weight:
            return isotonic
        intercept, slope = self.platt
        platt = expit(intercept + slope * _logit(raw))
        return _EDGE + (1 - 2 * _EDGE) * ((1 - self.weight) * isotonic + self.weight * platt)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {method, x, y, platt, weight}."""
        return {
            "method": "centred_isotonic_platt",
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "platt": list(self.platt),
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IsotonicCalibrator:
        """Inverse of `to_dict` (a model saved with plain centred isotonic knots loads as weight 0)."""
        method = data.get("method")
        if method not in ("centred_isotonic", "centred_isotonic_platt"):
            raise ValueError(
                f"Unknown calibrator method {method!r}; expected 'centred_isotonic_platt' or 'centred_isotonic'."
            )
        return cls(
            x=np.asarray(data["x"], dtype="float64"),
            y=np.asarray(data["y"], dtype="float64"),
            platt=tuple(data.get("platt") or (0.0, 1.0)),
            weight=float(data.get("weight") or 0.0),
        )


@dataclass
class TrainedModel:
    """A trained, calibrated model and everything needed to score and audit it.

    `kind` (in the metadata) says which parts score: `lightgbm` the booster, `logistic` the linear
    model, `blend` the average of both raw probabilities; the calibrator maps that raw probability.
    """

    booster: lgb.Booster | None
    calibrator: IsotonicCalibrator | None  # None only while it is being trained
    features: list[str]
    categories: dict[str, list[str]]
    metadata: dict[str, Any]
    linear: LinearModel | None = None

    @property
    def kind(self) -> str:
        return self.metadata.get("kind", "lightgbm")

    @property
    def last_fitted_as_of_date(self) -> pd.Timestamp:
        """The newest as_of_date whose rows the model learned from (calibration included)."""
        windows = self.metadata["windows"]
        return pd.Timestamp(windows.get("calibration", windows["train"])["last_as_of_date"])

    @property
    def feature_importance(self) -> dict[str, float]:
        """Feature -> importance (gain for LightGBM, mean absolute log-odds contribution otherwise)."""
        return dict(self.metadata.get("feature_importance") or self.metadata["feature_importance_gain"])

    @property
    def version(self) -> str:
        """E.g. churn-20240708T060000-1a2b3c4d: model name, training time (UTC), and a fingerprint of
        the training data and settings (hyperparameters, rounds)."""
        return self.metadata["version"]

    @property
    def base_rate(self) -> float:
        """Prevalence of the label in the training period: the reference for the health score."""
        return float(self.metadata["base_rate"])

    @property
    def feature_families(self) -> dict[str, str]:
        """Feature -> family mapping given at training time (empty if none was given)."""
        return dict(self.metadata.get("feature_families") or {})


def json_safe(value: Any) -> Any:
    """Recursively turn numpy scalars/arrays into Python ones and NaN/inf into None (valid JSON)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def data_fingerprint(df: pd.DataFrame, columns: Sequence[str]) -> str:
    """16-hex content hash of `df[columns]`, independent of row order and index.

    Row hashes (pandas' stable `hash_pandas_object`) are summed, so reordering rows does not change
    the fingerprint but any changed value, added or removed row or column does.
    """
    columns = list(columns)
    row_hashes = pd.util.hash_pandas_object(df[columns], index=False).to_numpy(dtype="uint64")
    total = int(row_hashes.sum(dtype="uint64"))  # wraps modulo 2**64, by design
    digest = hashlib.sha256(json.dumps(columns).encode())
    digest.update(total.to_bytes(8, "little"))
    digest.update(len(df).to_bytes(8, "little"))
    return digest.hexdigest()[:16]


def _model_name(label: str) -> str:
    if label.startswith("churn"):
        return "churn"
    if label.startswith("expan"):
        return "expansion"
    return label.split("_")[0]


def train_churn_model(
    df: pd.DataFrame,
    features: Sequence[str],
    label: str,
    horizon_days: int,
    *,
    feature_families: Mapping[str, str] | None = None,
    training: TrainSpec = DEFAULT_TRAINING,
    split: SplitSpec = DEFAULT_SPLIT,
    model_name: str | None = None,
    trained_at: datetime | None = None,
) -> TrainedModel:
    """Train a model of kind `training.kind` on the train period, calibrate it on the calibration
    period, evaluate it on test. See `train_candidates`."""
    models = train_candidates(
        df,
        features,
        label,
        horizon_days,
        kinds=(training.kind,),
        feature_families=feature_families,
        training=training,
        split=split,
        model_name=model_name,
        trained_at=trained_at,
    )
    return models[training.kind]


def train_candidates(
    df: pd.DataFrame,
    features: Sequence[str],
    label: str,
    horizon_days: int,
    kinds: Sequence[str] = CANDIDATE_KINDS,
    *,
    feature_families: Mapping[str, str] | None = None,
    training: TrainSpec = DEFAULT_TRAINING,
    split: SplitSpec = DEFAULT_SPLIT,
    model_name: str | None = None,
    trained_at: datetime | None = None,
) -> dict[str, TrainedModel]:
    """One trained, calibrated and tested model per kind of `kinds`, all from the same split.

    LightGBM is fitted on the train period (`training` settings); the logistic regression on the
    same rows, its penalty tuned by log loss on the calibration period; the blend averages their
    raw probabilities. Each kind gets its own calibrator (fitted on the calibration period) and its
    metrics on the untouched test period.

    `df` is `marts.ml_account_snapshots` (all rows; censored ones are dropped here).
    `feature_families` (feature -> family) is stored with the model so scoring can compute
    sub-scores. Works for any 0/1 label (e.g. `expanded_within_90d`); the version prefix is derived
    from the label unless `model_name` is given.
    Raises ValueError for missing columns, too little history, or a period without both classes.
    """
    features = list(features)
    unknown = [k for k in kinds if k not in CANDIDATE_KINDS]
    if unknown or not kinds:
        raise ValueError(f"Unknown model kinds {unknown or kinds}; expected some of {', '.join(CANDIDATE_KINDS)}.")
    require_columns(df, [*ID_COLUMNS, label])
    prepare_matrix(df.head(0), features)  # fails early, naming a missing or unusable feature column
    families = validate_feature_families(features, feature_families)

    labelled = labelled_rows(df, label, horizon_days)
    if labelled[label].sum() == 0:
        raise NothingToLearn(
            f"{label!r} has no positive (1) values among the {len(labelled)} labelled rows of "
            f"{SNAPSHOT_TABLE}: the model has nothing to learn. Check the label definition in dbt "
            f"(e.g. the churn definition and grace period) or load more history."
        )
    periods = time_split(labelled, label, horizon_days, split)
    for name, frame in (("train", periods.train), ("calibration", periods.calibration)):
        positives = int(frame[label].sum())
        if positives == 0 or positives == len(frame):
            cls = "positive (1)" if positives == 0 else "negative (0)"
            raise ValueError(
                f"The {name} period ({frame['as_of_date'].min()} to {frame['as_of_date'].max()}, "
                f"{len(frame)} rows) has no {cls} {label!r} labels, so the model cannot be "
                f"{'trained' if name == 'train' else 'calibrated'}. Load more history or check the label."
            )

    categories = learn_categories(periods.train, features)
    y_train = periods.train[label].to_numpy()
    y_cal = periods.calibration[label].to_numpy()
    y_test = periods.test[label].to_numpy()

    booster, best_iteration, tuning = None, None, None
    if {"lightgbm", "blend"} & set(kinds):
        training, tuning = _tune_params(periods.train, features, categories, label, horizon_days, training)
        booster, best_iteration = _fit_booster(periods, features, categories, label, training)
    full_params = training.lightgbm_params()
    linear = None
    if {"logistic", "blend"} & set(kinds):
        linear = fit_linear(periods.train, features, label, validation=periods.calibration)

    used = pd.concat([periods.train, periods.calibration, periods.test])
    fingerprint = data_fingerprint(used, [*ID_COLUMNS, label, *sorted(features)])
    trained_at = (trained_at or clock.now_utc()).astimezone(UTC)
    name = model_name or _model_name(label)
    shared = {
        "model_name": name,
        "label": label,
        "horizon_days": int(horizon_days),
        "gap_days": periods.gap_days,
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "windows": periods.summary(),
        "base_rate": float(y_train.mean()),
        "ece_binning": f"{ECE_BINS} equal-width bins",
        "calibration": f"centred isotonic regression blended with a Platt map (weight {PLATT_WEIGHT}), fitted on "
        "the calibration period",
        "refit": "none: the scoring model is the train-period model whose test metrics are reported",
        "features": features,
        "categorical_features": list(categories),
        "feature_families": families,
        "data_fingerprint": fingerprint,
    }

    models = {}
    for kind in kinds:
        parts = {
            "booster": booster if kind in ("lightgbm", "blend") else None,
            "linear": linear if kind in ("logistic", "blend") else None,
        }
        # Calibrated below, once its raw probabilities on the calibration period are known.
        model = TrainedModel(
            calibrator=None, features=features, categories=categories, metadata={"kind": kind}, **parts
        )
        model.calibrator = IsotonicCalibrator.fit(predict_raw(model, periods.calibration), y_cal)
        raw_test = predict_raw(model, periods.test)
        settings = {"kind": kind}
        if parts["booster"] is not None:
            settings.update(
                {"params": full_params, "rounds": training.num_boost_round, "early": training.early_stopping_rounds}
            )
        if parts["linear"] is not None:
            settings["C"] = linear.C
        # data and training settings: two models trained in the same second get the same version
        # only when they are the same model
        digest = hashlib.sha256(f"{fingerprint}:{json.dumps(settings, sort_keys=True, default=str)}".encode())
        model.metadata = json_safe(
            {
                "version": f"{name}-{trained_at:%Y%m%dT%H%M%S}-{digest.hexdigest()[:8]}",
                "kind": kind,
                **shared,
                "metrics": binary_metrics(y_test, model.calibrator(raw_test)),
                "metrics_raw": binary_metrics(y_test, raw_test),
                "feature_importance": _importance(model, periods.train),
                "feature_importance_kind": "gain" if kind == "lightgbm" else "mean |log-odds contribution|",
                **(
                    {
                        "lightgbm_version": lgb.__version__,
                        "params": full_params,
                        "num_boost_round": int(training.num_boost_round),
                        "early_stopping_rounds": training.early_stopping_rounds,
                        "best_iteration": best_iteration,
                        "random_state": int(training.random_state),
                        "grid_search": tuning,
                    }
                    if parts["booster"] is not None
                    else {}
                ),
                **({"linear_C": linear.C} if parts["linear"] is not None else {}),
            }
        )
        models[kind] = model
    return models


def train_provisional(
    df: pd.DataFrame,
    features: Sequence[str],
    label: str,
    horizon_days: int,
    *,
    feature_families: Mapping[str, str] | None = None,
    model_name: str | None = None,
    trained_at: datetime | None = None,
) -> TrainedModel:
    """A provisional model for a history too short to hold out a test period: an L2 logistic
    regression (strong default penalty) on every labelled row, calibrated on the same rows.

    Transparent (its coefficients are the drivers) and honest about what it is: its metadata says
    `provisional` and has no test metrics. Raises ValueError when the labels lack a class.
    """
    features = list(features)
    require_columns(df, [*ID_COLUMNS, label])
    families = validate_feature_families(features, feature_families)
    rows = labelled_rows(df, label, horizon_days)
    linear = fit_linear(rows, features, label)
    model = TrainedModel(
        booster=None,
        calibrator=None,
        features=features,
        categories=learn_categories(rows, features),
        metadata={"kind": "logistic"},
        linear=linear,
    )
    y = rows[label].to_numpy()
    model.calibrator = IsotonicCalibrator.fit(predict_raw(model, rows), y)
    trained_at = (trained_at or clock.now_utc()).astimezone(UTC)
    name = model_name or _model_name(label)
    fingerprint = data_fingerprint(rows, [*ID_COLUMNS, label, *sorted(features)])
    dates = pd.to_datetime(rows["as_of_date"])
    model.metadata = json_safe(
        {
            "version": f"{name}-{trained_at:%Y%m%dT%H%M%S}-{fingerprint[:8]}",
            "kind": "logistic",
            "provisional": True,
            "model_name": name,
            "label": label,
            "horizon_days": int(horizon_days),
            "trained_at": trained_at.isoformat(timespec="seconds"),
            "windows": {
                "train": {
                    "first_as_of_date": dates.min().date().isoformat(),
                    "last_as_of_date": dates.max().date().isoformat(),
                    "n_dates": int(dates.nunique()),
                    "n_rows": len(rows),
                    "positives": int(y.sum()),
                }
            },
            "base_rate": float(y.mean()),
            "metrics": {},
            "calibration": "centred isotonic regression blended with a Platt map, fitted on the training rows "
            "(no later period to calibrate on yet)",
            "features": features,
            "categorical_features": list(model.categories),
            "feature_families": families,
            "feature_importance": _importance(model, rows),
            "feature_importance_kind": "mean |log-odds contribution|",
            "data_fingerprint": fingerprint,
            "linear_C": linear.C,
        }
    )
    return model


def _tune_params(
    train: pd.DataFrame,
    features: list[str],
    categories: dict[str, list[str]],
    label: str,
    horizon_days: int,
    training: TrainSpec,
) -> tuple[TrainSpec, dict[str, Any] | None]:
    """(the training spec with the grid point of best inner-validation AUC merged into its params,
    what was tried). The inner validation is the last `INNER_VALIDATION_WEEKS` training weeks; the
    inner fit uses only the weeks whose label window ends before them. No grid, too few weeks or a
    validation period without both classes: `training` as it is."""
    if not training.grid:
        return training, None
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(train["as_of_date"]).unique()))
    if len(dates) <= INNER_VALIDATION_WEEKS:
        return training, {"skipped": "too few training weeks for an inner validation"}
    valid_start = dates[-INNER_VALIDATION_WEEKS]
    as_of = pd.to_datetime(train["as_of_date"])
    inner_train = train[as_of < valid_start - pd.Timedelta(days=horizon_days)]
    inner_valid = train[as_of >= valid_start]
    y_fit, y_valid = inner_train[label].to_numpy(), inner_valid[label].to_numpy()
    if inner_train["as_of_date"].nunique() < INNER_VALIDATION_WEEKS or len(set(y_fit)) < 2 or len(set(y_valid)) < 2:
        return training, {"skipped": "the inner periods are too short or lack a class"}
    fit_set = lgb.Dataset(
        prepare_matrix(inner_train, features, categories),
        y_fit,
        categorical_feature=list(categories) or "auto",
        free_raw_data=False,
        # One dataset serves every grid point, and some lower min_data_in_leaf: no pre-filtering
        # by the first point's value (LightGBM would otherwise rebuild it, logging a fatal message).
        params={"feature_pre_filter": False},
    )
    x_valid = prepare_matrix(inner_valid, features, categories)
    aucs = []
    for point in training.grid:
        spec = replace(training, params={**training.params, **point}, grid=())
        booster = lgb.train(spec.lightgbm_params(), fit_set, num_boost_round=spec.num_boost_round)
        aucs.append(float(binary_metrics(y_valid, booster.predict(x_valid))["auc"]))
    best = int(np.argmax(aucs))  # the first (simplest) point on a tie
    chosen = replace(training, params={**training.params, **training.grid[best]}, grid=())
    return chosen, {"grid": [dict(p) for p in training.grid], "inner_auc": aucs, "chosen": best}


def _fit_booster(periods, features, categories, label, training: TrainSpec) -> tuple[lgb.Booster, int]:
    """LightGBM on the train period (the calibration period watched for optional early stopping)."""
    x_train = prepare_matrix(periods.train, features, categories)
    x_cal = prepare_matrix(periods.calibration, features, categories)
    train_set = lgb.Dataset(
        x_train, periods.train[label].to_numpy(), categorical_feature=list(categories) or "auto", free_raw_data=False
    )
    cal_set = lgb.Dataset(x_cal, periods.calibration[label].to_numpy(), reference=train_set)
    early = training.early_stopping_rounds
    fitted = lgb.train(
        training.lightgbm_params(),
        train_set,
        num_boost_round=training.num_boost_round,
        valid_sets=[cal_set],
        valid_names=["calibration"],
        callbacks=[lgb.early_stopping(early, verbose=False)] if early else [],
    )
    # Keep only the trees up to the best iteration and re-read the model from its text form, so the
    # in-memory model is byte-for-byte what `artifacts.save_model` writes.
    best_iteration = int(fitted.best_iteration or fitted.current_iteration())
    return lgb.Booster(model_str=fitted.model_to_string(num_iteration=best_iteration)), best_iteration


def _importance(model: TrainedModel, train: pd.DataFrame) -> dict[str, float]:
    if model.kind == "lightgbm":
        gain = model.booster.feature_importance(importance_type="gain")
        return {f: round(float(g), 4) for f, g in zip(model.features, gain)}
    contrib = np.abs(log_odds_contributions(model, train).to_numpy()).mean(axis=0)
    return {f: round(float(c), 6) for f, c in zip(model.features, contrib)}


def predict_raw(model: TrainedModel, df: pd.DataFrame) -> np.ndarray:
    """Uncalibrated probabilities for the rows of `df` (needs the model's feature columns)."""
    if model.kind == "logistic":
        return model.linear.predict(df)
    boosted = model.booster.predict(prepare_matrix(df, model.features, model.categories))
    if model.kind == "blend":
        return 0.5 * (boosted + model.linear.predict(df))
    return boosted


def predict_proba(model: TrainedModel, df: pd.DataFrame) -> np.ndarray:
    """Calibrated probabilities for the rows of `df`: the numbers published as `churn_probability`."""
    return model.calibrator(predict_raw(model, df))


def log_odds_contributions(model: TrainedModel, df: pd.DataFrame) -> pd.DataFrame:
    """Per-feature log-odds contributions of the model's parts (the blend averages its two parts'
    log-odds decompositions), plus `BIAS_COLUMN`; they sum to the (averaged) raw log-odds."""
    parts = []
    if model.booster is not None and model.kind != "logistic":
        values = model.booster.predict(prepare_matrix(df, model.features, model.categories), pred_contrib=True)
        parts.append(pd.DataFrame(values, index=df.index, columns=[*model.features, BIAS_COLUMN]))
    if model.linear is not None and model.kind != "lightgbm":
        parts.append(model.linear.contributions(df).assign(**{BIAS_COLUMN: model.linear.intercept}))
    return sum(parts) / len(parts)

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from dagster_project.core import clock
from dagster_project.ml.dataset import (
    ID_COLUMNS,
    SNAPSHOT_TABLE,
    labelled_rows,
    learn_categories,
    prepare_matrix,
    require_columns,
    validate_feature_families,
)
from dagster_project.ml.evaluate import ECE_BINS, binary_metrics
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


@dataclass(frozen=True)
class TrainSpec:
    """How the booster is fitted: overrides of `DEFAULT_PARAMS`, rounds, early stopping, seed."""

    params: Mapping[str, Any] = field(default_factory=dict)
    num_boost_round: int = DEFAULT_NUM_BOOST_ROUND
    early_stopping_rounds: int | None = DEFAULT_EARLY_STOPPING_ROUNDS
    random_state: int = 0

    def lightgbm_params(self) -> dict[str, Any]:
        """The full LightGBM parameters: defaults, the seed, then the overrides."""
        return {**DEFAULT_PARAMS, "seed": int(self.random_state), **dict(self.params)}


DEFAULT_TRAINING = TrainSpec()


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
    """(intercept, slope) of a logistic regression of the outcome on logit(raw), by Newton steps.

    The slope is kept positive (at least 1e-3): the map must stay strictly increasing even when
    the calibration period is too small or too noisy to show the ranking.
    """
    z = _logit(raw)
    y = np.asarray(y_true, dtype="float64")
    rate = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    a, b = math.log(rate / (1 - rate)), 1.0
    design = np.column_stack([np.ones_like(z), z])
    for _ in range(50):
        p = expit(a + b * z)
        w = np.maximum(p * (1 - p), 1e-9)
        gradient = design.T @ (y - p)
        hessian = design.T @ (design * w[:, None]) + 1e-6 * np.eye(2)  # a tiny ridge: separable data
        step = np.linalg.solve(hessian, gradient)
        a, b = a + float(step[0]), b + float(step[1])
        if np.abs(step).max() < 1e-9:
            break
    return a, max(b, 1e-3)


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
    """A trained, calibrated model and everything needed to score and audit it."""

    booster: lgb.Booster
    calibrator: IsotonicCalibrator
    features: list[str]
    categories: dict[str, list[str]]
    metadata: dict[str, Any]

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
    """Train LightGBM on the train period, calibrate on the calibration period, evaluate on test.

    `df` is `marts.ml_account_snapshots` (all rows; censored ones are dropped here). `training`
    says how the booster is fitted, `split` how the history is cut into periods.
    `feature_families` (feature -> family) is stored with the model so
    scoring can compute sub-scores. Works for any 0/1 label (e.g. `expanded_within_90d`); the
    version prefix is derived from the label unless `model_name` is given.
    Raises ValueError for missing columns, too little history, or a period without both classes.
    """
    features = list(features)
    require_columns(df, [*ID_COLUMNS, label])
    prepare_matrix(df.head(0), features)  # fails early, naming a missing or unusable feature column
    families = validate_feature_families(features, feature_families)

    labelled = labelled_rows(df, label, horizon_days)
    if labelled[label].sum() == 0:
        raise ValueError(
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
    x_train = prepare_matrix(periods.train, features, categories)
    x_cal = prepare_matrix(periods.calibration, features, categories)
    x_test = prepare_matrix(periods.test, features, categories)
    y_train = periods.train[label].to_numpy()
    y_cal = periods.calibration[label].to_numpy()
    y_test = periods.test[label].to_numpy()

    full_params = training.lightgbm_params()
    num_boost_round, early_stopping_rounds = training.num_boost_round, training.early_stopping_rounds
    train_set = lgb.Dataset(x_train, y_train, categorical_feature=list(categories) or "auto", free_raw_data=False)
    cal_set = lgb.Dataset(x_cal, y_cal, reference=train_set)
    fitted = lgb.train(
        full_params,
        train_set,
        num_boost_round=num_boost_round,
        valid_sets=[cal_set],
        valid_names=["calibration"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)] if early_stopping_rounds else [],
    )
    # Keep only the trees up to the best iteration and re-read the model from its text form, so the
    # in-memory model is byte-for-byte what `artifacts.save_model` writes.
    best_iteration = int(fitted.best_iteration or fitted.current_iteration())
    booster = lgb.Booster(model_str=fitted.model_to_string(num_iteration=best_iteration))

    raw_cal = booster.predict(x_cal)
    calibrator = IsotonicCalibrator.fit(raw_cal, y_cal)
    raw_test = booster.predict(x_test)
    calibrated_test = calibrator(raw_test)

    used = pd.concat([periods.train, periods.calibration, periods.test])
    fingerprint = data_fingerprint(used, [*ID_COLUMNS, label, *sorted(features)])
    trained_at = (trained_at or clock.now_utc()).astimezone(UTC)
    name = model_name or _model_name(label)
    gain = booster.feature_importance(importance_type="gain")

    # data and training settings: two models trained in the same second get the same version only
    # when they are the same model
    settings = json.dumps(
        {"params": full_params, "rounds": num_boost_round, "early": early_stopping_rounds}, sort_keys=True, default=str
    )
    model_fingerprint = hashlib.sha256(f"{fingerprint}:{settings}".encode()).hexdigest()

    metadata = {
        "version": f"{name}-{trained_at:%Y%m%dT%H%M%S}-{model_fingerprint[:8]}",
        "model_name": name,
        "label": label,
        "horizon_days": int(horizon_days),
        "gap_days": periods.gap_days,
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "windows": periods.summary(),
        "base_rate": float(y_train.mean()),
        "metrics": binary_metrics(y_test, calibrated_test),
        "metrics_raw": binary_metrics(y_test, raw_test),
        "ece_binning": f"{ECE_BINS} equal-width bins",
        "calibration": f"centred isotonic regression blended with a Platt map (weight {PLATT_WEIGHT}), fitted on "
        "the calibration period",
        "refit": "none: the scoring model is the train-period model whose test metrics are reported",
        "features": features,
        "categorical_features": list(categories),
        "feature_families": families,
        "feature_importance_gain": {f: round(float(g), 4) for f, g in zip(features, gain)},
        "data_fingerprint": fingerprint,
        "lightgbm_version": lgb.__version__,
        "params": full_params,
        "num_boost_round": int(num_boost_round),
        "early_stopping_rounds": int(early_stopping_rounds) if early_stopping_rounds else None,
        "best_iteration": best_iteration,
        "random_state": int(training.random_state),
    }
    return TrainedModel(
        booster=booster,
        calibrator=calibrator,
        features=features,
        categories=categories,
        metadata=json_safe(metadata),
    )


def predict_raw(model: TrainedModel, df: pd.DataFrame) -> np.ndarray:
    """Uncalibrated LightGBM probabilities for the rows of `df` (needs the model's feature columns)."""
    return model.booster.predict(prepare_matrix(df, model.features, model.categories))


def predict_proba(model: TrainedModel, df: pd.DataFrame) -> np.ndarray:
    """Calibrated probabilities for the rows of `df`: the numbers published as `churn_probability`."""
    return model.calibrator(predict_raw(model, df))

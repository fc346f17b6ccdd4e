"""An L2-regularized logistic regression stored as plain numbers: fitted, scored and explained here.

The preprocessing is what a careful data scientist does for a linear model on account snapshots:

- numeric features: +/-inf to missing, signed log (sign(x) * log(1 + |x|), so a handful of
  accounts with 100x the usual events or MRR do not dominate), median imputation with a
  missing-indicator column (so "never answered NPS" is a signal, not the median), then
  standardization so one L2 penalty treats every feature alike;
- categorical features: one-hot with a level for missing; a level unseen in training counts as
  missing (as it does for LightGBM).

Every design column is centred on its training mean, so the intercept is the average log-odds and
`coef * column` is each feature's exact contribution to the log-odds (the linear model's Shapley
values under independent features): what the drivers of a logistic champion read.

The penalty matters more than anything else: weekly snapshots repeat each account ~50 times, so
the effective sample is the number of accounts, and a fit with sklearn's default C = 1 memorises
them (on the simulator: train AUC 0.93, test 0.55). With validation rows the penalty is chosen
from `DEFAULT_CS` by log loss on them; without, `DEFAULT_C`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from dagster_project.ml.dataset import learn_categories, prepare_matrix

DEFAULT_CS = (1.0, 0.1, 0.01, 0.001, 0.0001)
DEFAULT_C = 0.01
MAX_ITER = 2000
MISSING_LEVEL = "__missing__"


def _labels(rows: pd.DataFrame, label: str) -> np.ndarray:
    return pd.to_numeric(rows[label], errors="raise").to_numpy(dtype="int64")


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression and its preprocessing (all plain lists, JSON-ready)."""

    features: list[str]
    numeric: list[str]
    medians: list[float]
    with_indicator: list[str]  # numeric features with a missing-indicator column
    categories: dict[str, list[str]]  # categorical feature -> levels (MISSING_LEVEL included)
    means: list[float]  # per design column, before scaling
    scales: list[float]
    coef: list[float]
    intercept: float
    C: float
    signed_log: bool = True

    # --- the design matrix ------------------------------------------------------------------

    @staticmethod
    def _layout(numeric, with_indicator, categories) -> list[tuple[str, str]]:
        """(feature, column) pairs in design order: numeric values, indicators, one-hot levels."""
        columns = [(f, f) for f in numeric]
        columns += [(f, f"{f}__missing") for f in with_indicator]
        columns += [(f, f"{f}={level}") for f, levels in categories.items() for level in levels]
        return columns

    @staticmethod
    def _raw_design(
        df: pd.DataFrame,
        numeric: Sequence[str],
        medians: Sequence[float],
        with_indicator: Sequence[str],
        categories: Mapping[str, Sequence[str]],
        signed_log: bool,
    ) -> np.ndarray:
        levels_without_missing = {f: [lvl for lvl in lv if lvl != MISSING_LEVEL] for f, lv in categories.items()}
        matrix = prepare_matrix(df, [*numeric, *categories], levels_without_missing)
        blocks = []
        if numeric:
            values = matrix[list(numeric)].astype("float64").replace([np.inf, -np.inf], np.nan).to_numpy()
            if signed_log:
                values = np.sign(values) * np.log1p(np.abs(values))
            missing = np.isnan(values)
            blocks.append(np.where(missing, np.asarray(medians, dtype="float64"), values))
            index = {f: i for i, f in enumerate(numeric)}
            if with_indicator:
                blocks.append(missing[:, [index[f] for f in with_indicator]].astype("float64"))
        for feature, levels in categories.items():
            text = matrix[feature].astype(object).where(matrix[feature].notna(), MISSING_LEVEL)
            blocks.append((text.to_numpy()[:, None] == np.asarray(levels, dtype=object)[None, :]).astype("float64"))
        return np.hstack(blocks) if blocks else np.zeros((len(df), 0))

    def design(self, df: pd.DataFrame) -> np.ndarray:
        """The centred, scaled design matrix of `df` (rows of the snapshot mart)."""
        raw = self._raw_design(df, self.numeric, self.medians, self.with_indicator, self.categories, self.signed_log)
        return (raw - np.asarray(self.means)) / np.asarray(self.scales)

    # --- scoring and explaining ---------------------------------------------------------------

    def log_odds(self, df: pd.DataFrame) -> np.ndarray:
        return self.intercept + self.design(df) @ np.asarray(self.coef)

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Probabilities for the rows of `df`."""
        return expit(self.log_odds(df))

    def contributions(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per-row, per-feature log-odds contributions (a feature's columns summed); they add up to
        the log-odds minus the intercept."""
        terms = self.design(df) * np.asarray(self.coef)
        layout = self._layout(self.numeric, self.with_indicator, self.categories)
        out = pd.DataFrame(0.0, index=df.index, columns=self.features)
        for position, (feature, _) in enumerate(layout):
            out[feature] = out[feature].to_numpy() + terms[:, position]
        return out

    # --- persistence ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "logistic_regression_l2",
            "features": self.features,
            "numeric": self.numeric,
            "medians": self.medians,
            "with_indicator": self.with_indicator,
            "categories": self.categories,
            "means": self.means,
            "scales": self.scales,
            "coef": self.coef,
            "intercept": self.intercept,
            "C": self.C,
            "signed_log": self.signed_log,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearModel:
        if data.get("method") != "logistic_regression_l2":
            raise ValueError(f"Unknown linear model method {data.get('method')!r}; expected 'logistic_regression_l2'.")
        fields = {k: v for k, v in data.items() if k != "method"}
        fields["categories"] = {k: list(v) for k, v in fields["categories"].items()}
        return cls(**fields)


def fit_linear(
    train: pd.DataFrame,
    features: Sequence[str],
    label: str,
    validation: pd.DataFrame | None = None,
    C: float | None = None,
    Cs: Sequence[float] = DEFAULT_CS,
    signed_log: bool = True,
) -> LinearModel:
    """Fit the preprocessing and the logistic regression on `train` (see the module docstring).

    With `C=None` the penalty is chosen from `Cs` by log loss on `validation` (strongest penalty
    first; the search stops once the loss rises), or is `DEFAULT_C` without usable validation rows.
    Raises ValueError when `train` lacks one of the classes.
    """
    features = list(features)
    y = _labels(train, label)
    if len(y) == 0 or y.min() == y.max():
        raise ValueError(
            f"A logistic regression needs both classes of {label!r} in its training rows; "
            f"the {len(y)} rows have {'none' if len(y) == 0 else f'only {int(y[0])}'}."
        )
    learned = learn_categories(train, features)
    numeric = [f for f in features if f not in learned]
    categories = {f: [*levels, MISSING_LEVEL] for f, levels in learned.items()}

    matrix = prepare_matrix(train, numeric, {}) if numeric else pd.DataFrame(index=train.index)
    values = matrix.astype("float64").replace([np.inf, -np.inf], np.nan).to_numpy()
    if signed_log and numeric:
        values = np.sign(values) * np.log1p(np.abs(values))
    with warnings.catch_warnings():  # an all-missing column has no median: it is imputed with 0
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = [0.0 if np.isnan(m) else float(m) for m in np.nanmedian(values, axis=0)] if numeric else []
    with_indicator = [f for i, f in enumerate(numeric) if np.isnan(values[:, i]).any()]

    raw = LinearModel._raw_design(train, numeric, medians, with_indicator, categories, signed_log)
    means = raw.mean(axis=0)
    scales = raw.std(axis=0)
    n_scaled = len(numeric) + len(with_indicator)
    scales[:n_scaled] = np.where(scales[:n_scaled] > 0, scales[:n_scaled], 1.0)
    scales[n_scaled:] = 1.0  # one-hot columns stay 0/1 (centred only)
    x_train = (raw - means) / scales

    def model_with(penalty: float, coef=None, intercept=0.0) -> LinearModel:
        return LinearModel(
            features=features,
            numeric=numeric,
            medians=medians,
            with_indicator=with_indicator,
            categories=categories,
            means=means.tolist(),
            scales=scales.tolist(),
            coef=[] if coef is None else [float(c) for c in coef],
            intercept=float(intercept),
            C=float(penalty),
            signed_log=signed_log,
        )

    candidates = [C] if C is not None else sorted(Cs)
    y_val = _labels(validation, label) if validation is not None and len(validation) else None
    if C is None and (y_val is None or y_val.min() == y_val.max()):
        candidates = [DEFAULT_C]  # nothing to tune on
    x_val = model_with(candidates[0]).design(validation) if len(candidates) > 1 else None

    best: tuple[float, LinearModel] | None = None
    # One BLAS thread: the problem is tiny, and on a busy 2-core machine multi-threaded OpenBLAS
    # spins and made these fits ~10x slower.
    with threadpool_limits(limits=1, user_api="blas"):
        for penalty in candidates:  # strongest first: the validation loss is (near) unimodal in C
            fitted = LogisticRegression(C=penalty, max_iter=MAX_ITER).fit(x_train, y)
            model = model_with(penalty, fitted.coef_[0], fitted.intercept_[0])
            if x_val is None:
                return model
            p = np.clip(expit(model.intercept + x_val @ np.asarray(model.coef)), 1e-6, 1 - 1e-6)
            loss = float(-np.mean(y_val * np.log(p) + (1 - y_val) * np.log(1 - p)))
            if best is not None and loss > best[0]:
                break
            best = (loss, model)
    return best[1]

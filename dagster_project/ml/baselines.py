"""The baselines a churn model must beat (SPEC section 5), fitted on the model's own training rows.

1. `HistoricalRate`     the historical churn rate: every account gets the training-period churn rate
                        (optionally per segment, e.g. plan or size band).
2. `LoginDropRule`      the rule a CSM applies without a model: "logins dropped 20 %", i.e. logins in
                        the last 30 days <= 0.8 x the prior 30 days.
3. `LogisticBaseline`   an L2-regularized logistic regression on the same features (signed log,
                        median-imputed with missing-value indicators, standardized, categoricals
                        one-hot; the penalty tuned on a later period).

Each baseline is a small frozen config with `fit(train, label, validation=None) -> scorer`, where
the scorer maps snapshot rows to probabilities in [0, 1] and `validation` (labelled rows later than
`train`, e.g. the calibration period) may be used to tune it. Fitting returns a new function
instead of mutating the config, so one config can be fitted once per backtest fold without state
leaking between folds.

The constant historical rate ranks nothing: AUC exactly 0.5, PR-AUC the base rate. Its precision@k
and top-decile lift are those of the first rows in input order (ties are broken by position, see
`evaluate`), i.e. about 1 but not exactly.

Why the baselines output probabilities, not raw rules: every backtest metric (Brier and ECE too)
is computed for every row of `mart_model_performance`. A 0/1 rule read as a probability claims
certainty and gets a meaningless Brier score, so the rule's two groups are scored with their
training-period churn rates instead. That is a monotone recoding of the rule (when flagged
accounts churn more, as expected), so its ranking metrics (AUC, PR-AUC, lift, precision@k) are
exactly the rule's; only the calibration metrics become fair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from dagster_project.ml.dataset import SNAPSHOT_TABLE, learn_categories, prepare_matrix, require_columns

Scorer = Callable[[pd.DataFrame], np.ndarray]

DEFAULT_LOGIN_RATIO_COLUMN = "logins_30d_vs_prior_30d"
DEFAULT_LOGIN_DROP_THRESHOLD = 0.8
_MISSING_LEVEL = "__missing__"


def _labels(train: pd.DataFrame, label: str) -> np.ndarray:
    """The 0/1 label of labelled training rows as int; refuses NULLs (censored rows never train)."""
    require_columns(train, [label])
    if train.empty:
        raise ValueError("Cannot fit a baseline on zero training rows.")
    y = pd.to_numeric(train[label], errors="coerce")
    if y.isna().any() or not y.isin([0, 1]).all():
        raise ValueError(
            f"Baselines train on labelled rows only: {label!r} must be 0 or 1 (drop censored NULL rows "
            f"first, e.g. with dataset.labelled_rows)."
        )
    return y.to_numpy(dtype="int64")


def _segment_keys(series: pd.Series) -> pd.Series:
    """Segment levels as text (missing stays missing), so 1 and "1" are one segment."""
    return series.astype(object).map(lambda v: None if pd.isna(v) else str(v))


@dataclass(frozen=True)
class HistoricalRate:
    """Score = the churn rate of the training period, overall or per `segment_column` level.

    With no segment every row gets the same constant, so the baseline cannot rank: its AUC is
    exactly 0.5, its PR-AUC the base rate and its lift 1. It still matters for Brier and ECE: it
    is the "no information" forecast a calibrated model must beat. With a segment (e.g. `plan`)
    each segment gets its own training rate (levels unseen in training, or missing, get the
    overall rate), which is what a CS team computes from a spreadsheet.
    """

    segment_column: str | None = None
    name: str = "historical_churn_rate"

    def fit(self, train: pd.DataFrame, label: str, validation: pd.DataFrame | None = None) -> Scorer:
        """Learn the overall (and per-segment) training churn rate; return the scorer.
        (`validation` is accepted for a uniform interface and not used: nothing to tune.)"""
        y = _labels(train, label)
        overall = float(y.mean())
        if self.segment_column is None:
            return lambda df: np.full(len(df), overall, dtype="float64")

        column = self.segment_column
        require_columns(train, [column])
        keys = _segment_keys(train[column])
        rates = pd.Series(y, index=train.index).groupby(keys, dropna=True).mean().to_dict()

        def score(df: pd.DataFrame) -> np.ndarray:
            require_columns(df, [column])
            return _segment_keys(df[column]).map(lambda v: rates.get(v, overall)).to_numpy(dtype="float64")

        return score


def login_drop_flag(
    df: pd.DataFrame,
    ratio_column: str = DEFAULT_LOGIN_RATIO_COLUMN,
    threshold: float = DEFAULT_LOGIN_DROP_THRESHOLD,
) -> np.ndarray:
    """1 where logins in the last 30 days <= `threshold` x the prior 30 days, else 0.

    `ratio_column` is last-30-days / prior-30-days logins (`logins_30d_vs_prior_30d` in the snapshot
    mart). A missing ratio (no prior window yet, or no logins in it, so nothing can "drop") does not
    fire the rule.
    """
    if ratio_column not in df.columns:
        raise ValueError(
            f"{SNAPSHOT_TABLE} has no column {ratio_column!r} for the 'logins dropped 20 %' baseline. "
            f"Pass the name of the column holding logins in the last 30 days / the prior 30 days "
            f"(login_ratio_column=...)."
        )
    ratio = pd.to_numeric(df[ratio_column], errors="coerce").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        return (ratio <= threshold).astype("int64")  # NaN <= x is False: no drop


@dataclass(frozen=True)
class LoginDropRule:
    """The rule "logins dropped 20 %", scored with each group's training churn rate (see module doc)."""

    ratio_column: str = DEFAULT_LOGIN_RATIO_COLUMN
    threshold: float = DEFAULT_LOGIN_DROP_THRESHOLD
    name: str = "logins_dropped_20pct"

    def fit(self, train: pd.DataFrame, label: str, validation: pd.DataFrame | None = None) -> Scorer:
        """Learn the training churn rate of flagged and unflagged rows; return the scorer.
        (`validation` is not used: the rule has nothing to tune.)"""
        y = _labels(train, label)
        flag = login_drop_flag(train, self.ratio_column, self.threshold)
        overall = float(y.mean())
        # A group absent from training (e.g. nobody flagged) falls back to the overall rate.
        rate = {g: float(y[flag == g].mean()) if (flag == g).any() else overall for g in (0, 1)}
        ratio_column, threshold = self.ratio_column, self.threshold

        def score(df: pd.DataFrame) -> np.ndarray:
            return np.where(login_drop_flag(df, ratio_column, threshold) == 1, rate[1], rate[0])

        return score


@dataclass(frozen=True)
class LogisticBaseline:
    """L2 logistic regression on `features`: the strongest "simple" model a data scientist would try.

    Numeric features: +/-inf to missing, signed log (sign(x) * log(1 + |x|), so a handful of
    accounts with 100x the usual events or MRR do not dominate a linear model; a no-op in spirit
    for ratios and shares), median imputation with a missing-indicator column (so "never answered
    NPS" is a signal, not the median), then standardization so one L2 penalty treats every feature
    alike. Categoricals: one-hot with a level for missing; levels unseen in training score as
    all-zero. Class weights are not balanced, to keep probabilities calibrated (Brier and ECE are
    judged too).

    The penalty matters more than anything else here: weekly snapshots repeat each account ~50
    times, so the effective sample is the number of accounts, and an lbfgs fit with sklearn's
    default C = 1 memorises them (on the simulator: train AUC 0.93, test 0.55). With `C=None` the
    penalty is chosen from `Cs` by log loss on the `validation` rows passed to `fit` (in the
    backtest, the calibration period the LightGBM model is calibrated on, so both models see the
    same data); without validation rows `DEFAULT_C` is used. The chosen C is reported as
    `scorer.params`.
    """

    features: Sequence[str]
    C: float | None = None
    Cs: Sequence[float] = (1.0, 0.1, 0.01, 0.001, 0.0001)
    signed_log: bool = True
    max_iter: int = 2000
    name: str = "logistic_regression"

    DEFAULT_C = 0.01

    def _frames(self, df: pd.DataFrame, categories: Mapping[str, Sequence[str]]) -> pd.DataFrame:
        # prepare_matrix gives exactly the model's typing: numbers as float64, text as categories
        # with the training levels (unseen levels -> missing). sklearn wants plain objects.
        matrix = prepare_matrix(df, list(self.features), categories)
        for name in categories:
            matrix[name] = matrix[name].astype(object).where(matrix[name].notna(), _MISSING_LEVEL)
        numeric = [f for f in self.features if f not in categories]
        if numeric:
            values = matrix[numeric].replace([np.inf, -np.inf], np.nan)
            matrix[numeric] = np.sign(values) * np.log1p(values.abs()) if self.signed_log else values
        return matrix

    def _preprocessor(self, numeric: list[str], categorical: list[str]) -> ColumnTransformer:
        steps = []
        if numeric:
            steps.append(
                (
                    "numeric",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                        StandardScaler(),
                    ),
                    numeric,
                )
            )
        if categorical:
            steps.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
        return ColumnTransformer(steps)

    def fit(self, train: pd.DataFrame, label: str, validation: pd.DataFrame | None = None) -> Scorer:
        """Fit imputation, scaling, one-hot and the logistic regression on `train` (the penalty
        tuned on `validation` when C is None, see the class docstring); return the scorer."""
        y = _labels(train, label)
        if y.min() == y.max():
            raise ValueError(
                f"The logistic baseline needs both classes of {label!r} in its training rows; "
                f"all {len(y)} are {int(y[0])}."
            )
        features = list(self.features)
        categories = learn_categories(train, features)
        numeric = [f for f in features if f not in categories]
        categorical = [f for f in features if f in categories]

        candidates = [self.C] if self.C is not None else list(self.Cs)
        y_val = _labels(validation, label) if validation is not None and len(validation) else None
        if self.C is None and (y_val is None or y_val.min() == y_val.max()):
            candidates = [self.DEFAULT_C]  # nothing to tune on

        # One BLAS thread: the problem is tiny, and on a busy 2-core machine (Dagster running
        # other steps) multi-threaded OpenBLAS spins and made these fits ~10x slower.
        with threadpool_limits(limits=1, user_api="blas"):
            # The preprocessing does not depend on C: fit and apply it once, then only the
            # regression is refitted per candidate penalty.
            prepare = self._preprocessor(numeric, categorical)
            x_train = prepare.fit_transform(self._frames(train, categories))
            x_val = prepare.transform(self._frames(validation, categories)) if len(candidates) > 1 else None
            best: tuple[float, float, LogisticRegression] | None = None
            # Strongest penalty first: those fits converge fastest, and the validation loss along
            # the path is (near) unimodal, so once it rises the weaker, slower fits are skipped.
            for C in sorted(candidates):
                model = LogisticRegression(C=C, max_iter=self.max_iter).fit(x_train, y)
                if x_val is None:
                    best = (0.0, C, model)
                    break
                p = np.clip(model.predict_proba(x_val)[:, 1], 1e-6, 1 - 1e-6)
                loss = float(-np.mean(y_val * np.log(p) + (1 - y_val) * np.log(1 - p)))
                if best is not None and loss > best[0]:
                    break
                best = (loss, C, model)
        _, chosen_C, fitted = best
        pipeline = Pipeline([("prepare", prepare), ("model", fitted)])

        def score(df: pd.DataFrame) -> np.ndarray:
            with threadpool_limits(limits=1, user_api="blas"):
                return pipeline.predict_proba(self._frames(df, categories))[:, 1]

        score.params = {"C": chosen_C}  # type: ignore[attr-defined]
        return score


def default_baselines(
    features: Sequence[str],
    login_ratio_column: str = DEFAULT_LOGIN_RATIO_COLUMN,
    segment_column: str | None = None,
) -> list[HistoricalRate | LoginDropRule | LogisticBaseline]:
    """The three SPEC baselines, in the order they are reported."""
    return [
        HistoricalRate(segment_column=segment_column),
        LoginDropRule(ratio_column=login_ratio_column),
        LogisticBaseline(features=tuple(features)),
    ]

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from dagster_project.ml.bgnbd import check_customers, p_no_transaction
from dagster_project.ml.bgnbd import fit as fit_bgnbd
from dagster_project.ml.dataset import SNAPSHOT_TABLE, require_columns
from dagster_project.ml.linear import DEFAULT_CS, fit_linear

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

    The model and its preprocessing are `linear.fit_linear` (signed log, median imputation with
    missing indicators, standardization, one-hot categoricals). Class weights are not balanced, to
    keep probabilities calibrated (Brier and ECE are judged too). With `C=None` the penalty is
    chosen from `Cs` by log loss on the `validation` rows passed to `fit` (in the backtest, the
    calibration period the model is calibrated on, so both see the same data). The chosen C is
    reported as `scorer.params`.
    """

    features: Sequence[str]
    C: float | None = None
    Cs: Sequence[float] = DEFAULT_CS
    signed_log: bool = True
    name: str = "logistic_regression"

    def fit(self, train: pd.DataFrame, label: str, validation: pd.DataFrame | None = None) -> Scorer:
        """Fit on `train` (the penalty tuned on `validation` when C is None); return the scorer."""
        _labels(train, label)  # labelled rows only, with a message that says so
        model = fit_linear(train, self.features, label, validation, self.C, self.Cs, self.signed_log)

        def score(df: pd.DataFrame) -> np.ndarray:
            return model.predict(df)

        score.params = {"C": model.C}  # type: ignore[attr-defined]
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


@dataclass(frozen=True)
class BGNBDBaseline:
    """BG/NBD (`bgnbd.py`): score = P(no transaction in the next `horizon_days` | the account's
    purchase history), the textbook answer to "no purchase in the next 90 days".

    It reads three snapshot columns, all in days and point-in-time at `as_of_date`:
    - `frequency_column`: repeat transactions x (transactions, or active days, after the first;
      with `frequency_includes_first` the column counts the first one too and x = column - 1);
    - `recency_column`: t_x, days from the first transaction to the last one (with
      `recency_is_days_since_last` the column is days since the last one and t_x = T - column);
    - `age_column`: T, days from the first transaction to `as_of_date`.

    The model is fitted on one row per account: each account's newest training row (for every
    account still in the snapshot that is the newest training `as_of_date`). Not on all
    account-weeks: a week's history is a prefix of the next week's, so ~50 rows of one account
    would count its transactions ~50 times as if they came from independent customers, with
    weight growing with tenure. The newest row holds all of the account's information; an
    account that left the snapshot earlier keeps its last row, observed (censored) until then,
    instead of being dropped, which would fit survivors only. The label is not used by the fit.

    Rows without any transaction (a missing value in one of the three columns, or no transaction
    at all with `frequency_includes_first`) have no BG/NBD history: they get the training churn
    rate of such rows, or the overall training rate when training had none. Fitted parameters
    (alpha in days) are reported as `scorer.params`.
    """

    frequency_column: str
    recency_column: str
    age_column: str
    horizon_days: int
    frequency_includes_first: bool = False
    recency_is_days_since_last: bool = False
    # T is capped here when the frequency counts a window (e.g. active days in the last 365 days):
    # the window's start then plays the first transaction's part.
    age_cap_days: float | None = None
    name: str = "bg_nbd"

    def _columns(self) -> list[str]:
        return [self.frequency_column, self.recency_column, self.age_column]

    def _history(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(has a transaction, x, t_x, T) per row; x, t_x, T are meaningful where the first is True."""
        require_columns(df, self._columns())
        frequency, recency, age = (
            pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64") for c in self._columns()
        )
        if self.age_cap_days is not None:
            age = np.minimum(age, self.age_cap_days)
        x = frequency - 1 if self.frequency_includes_first else frequency
        if self.recency_is_days_since_last:
            # An activity dated before the account's creation would put t_x below 0: it counts from T's start.
            t_x = np.clip(age - recency, 0, age)
            # A single transaction is the first one: t_x = 0, and T runs from it.
            single = x == 0
            t_x = np.where(single, 0.0, t_x)
            age = np.where(single, np.minimum(recency, age), age)
        else:
            t_x = recency
        has = ~(np.isnan(x) | np.isnan(t_x) | np.isnan(age))
        if self.frequency_includes_first:
            has &= frequency != 0
        try:
            check_customers(x[has], t_x[has], age[has])
        except ValueError as error:
            raise ValueError(
                f"{SNAPSHOT_TABLE} columns {self._columns()} do not describe purchase histories for the "
                f"{self.name} baseline: {error} (frequency_includes_first={self.frequency_includes_first}, "
                f"recency_is_days_since_last={self.recency_is_days_since_last}: check them against the columns)."
            ) from error
        return has, x, t_x, age

    def fit(self, train: pd.DataFrame, label: str, validation: pd.DataFrame | None = None) -> Scorer:
        """Fit BG/NBD on each account's newest training row; return the scorer.
        (`validation` is not used: the model has nothing to tune on labels.)"""
        y = _labels(train, label)
        require_columns(train, ["account_id", "as_of_date"])
        has, x, t_x, age = self._history(train)
        newest = train.assign(_row=np.arange(len(train)))[has].sort_values("as_of_date").groupby("account_id").tail(1)
        rows = newest["_row"].to_numpy()
        no_history_rate = float(y[~has].mean()) if (~has).any() else float(y.mean())
        horizon = self.horizon_days
        try:
            params = fit_bgnbd(x[rows], t_x[rows], age[rows])
        except ValueError as error:  # e.g. no account has a repeat transaction yet
            rate = float(y.mean())

            def constant(df: pd.DataFrame) -> np.ndarray:
                return np.full(len(df), rate, dtype="float64")

            constant.params = {"not_fitted": str(error), "training_rate": rate}  # type: ignore[attr-defined]
            return constant

        def score(df: pd.DataFrame) -> np.ndarray:
            known, xs, ts, ages = self._history(df)
            scores = np.full(len(df), no_history_rate, dtype="float64")
            scores[known] = p_no_transaction(params, horizon, xs[known], ts[known], ages[known])
            return scores

        score.params = {**params.as_dict(), "accounts_fitted": len(rows), "no_history_rate": no_history_rate}  # type: ignore[attr-defined]
        return score


@dataclass(frozen=True)
class RecencyBaseline:
    """Recency alone: the longer since the last qualifying activity, the likelier the account churns.

    Scored with the training period's churn rate as a non-decreasing (isotonic) function of the
    days since the last activity, so its ranking is recency's and its probabilities are fair.
    """

    column: str = "days_since_last_activity"
    name: str = "recency"

    def fit(self, train: pd.DataFrame, label: str, validation: pd.DataFrame | None = None) -> Scorer:
        y = _labels(train, label)
        require_columns(train, [self.column])
        days = pd.to_numeric(train[self.column], errors="coerce").to_numpy(dtype="float64")
        known = ~np.isnan(days)
        fallback = float(y.mean())
        curve = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
        if known.sum() >= 2:
            curve.fit(days[known], y[known])

        def score(df: pd.DataFrame) -> np.ndarray:
            values = pd.to_numeric(df[self.column], errors="coerce").to_numpy(dtype="float64")
            out = np.full(len(df), fallback, dtype="float64")
            seen = ~np.isnan(values)
            if known.sum() >= 2 and seen.any():
                out[seen] = curve.predict(values[seen])
            return out

        return score


# The snapshot columns the purchase-history baselines read (dbt: fct_account_features_weekly).
RECENCY_COLUMN = "days_since_last_activity"
FREQUENCY_COLUMN = "active_days_365d"
AGE_COLUMN = "tenure_days"
FREQUENCY_WINDOW_DAYS = 365


def purchase_baselines(features: Sequence[str], horizon_days: int) -> list[RecencyBaseline | BGNBDBaseline]:
    """Recency and BG/NBD, the baselines of the activity and dormancy definitions (when the snapshot
    has their columns): the textbook answers to "no qualifying activity in the next h days"."""
    if not {RECENCY_COLUMN, FREQUENCY_COLUMN, AGE_COLUMN} <= set(features):
        return []
    return [
        RecencyBaseline(RECENCY_COLUMN),
        BGNBDBaseline(
            frequency_column=FREQUENCY_COLUMN,
            recency_column=RECENCY_COLUMN,
            age_column=AGE_COLUMN,
            horizon_days=horizon_days,
            frequency_includes_first=True,
            recency_is_days_since_last=True,
            age_cap_days=FREQUENCY_WINDOW_DAYS,
        ),
    ]

"""Feature drift between the training data and the snapshot being scored: the population
stability index (PSI), measured on every scoring run (SPEC section 5).

    PSI = sum over bins of (score share - train share) x ln(score share / train share)

Binning, chosen so a PSI means the same thing for every feature:
- numeric features: up to `n_bins` quantile bins learned from the *training* values (so each holds
  about the same share of training rows; tied quantiles of discrete counts merge), open-ended at
  both ends so scoring values outside the training range still land in the first/last bin;
- categorical features: one bin per training level, plus one for levels never seen in training
  (a new plan or region is drift, not noise);
- missing values get their own bin in both cases: a feature that suddenly arrives NULL (a broken
  source) is the drift that matters most.
Empty bins get a share of `EPSILON` so the logarithm stays finite; the rule of thumb reads
PSI < 0.1 stable, 0.1-0.2 moderate, > 0.2 large shift (flagged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dagster_project.ml.dataset import is_categorical, require_columns

DEFAULT_BINS = 10
PSI_THRESHOLD = 0.2
EPSILON = 1e-4
_MISSING = "__missing__"


def psi(expected_shares: np.ndarray, actual_shares: np.ndarray, epsilon: float = EPSILON) -> float:
    """PSI of two share vectors over the same bins (each sums to 1); empty bins count as `epsilon`."""
    e = np.clip(np.asarray(expected_shares, dtype="float64"), epsilon, None)
    a = np.clip(np.asarray(actual_shares, dtype="float64"), epsilon, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(codes: np.ndarray, n_codes: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_codes).astype("float64")
    return counts / counts.sum() if counts.sum() else counts


def _numeric_codes(train: pd.Series, score: pd.Series, n_bins: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin codes 0..k-1 for values (quantile bins of training), k for missing; returns k + 1."""
    t = pd.to_numeric(train, errors="coerce").astype("float64").replace([np.inf, -np.inf], np.nan).to_numpy()
    s = pd.to_numeric(score, errors="coerce").astype("float64").replace([np.inf, -np.inf], np.nan).to_numpy()
    present = t[~np.isnan(t)]
    # Interior cut points at the training quantiles; duplicates (ties in counts) merge bins.
    cuts = np.unique(np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1])) if present.size else np.array([])
    n_value_bins = cuts.size + 1

    def codes(values: np.ndarray) -> np.ndarray:
        # Bin i holds [cut_{i-1}, cut_i): a value equal to a cut goes to the bin above it.
        out = np.searchsorted(cuts, values, side="right")
        return np.where(np.isnan(values), n_value_bins, out)

    return codes(t), codes(s), n_value_bins + 1


def _categorical_codes(train: pd.Series, score: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """One code per training level, then one for unseen levels, one for missing."""

    def text(series: pd.Series) -> pd.Series:
        return series.astype(object).map(lambda v: _MISSING if pd.isna(v) else str(v))

    t, s = text(train), text(score)
    levels = sorted(set(t) - {_MISSING})
    index = {level: i for i, level in enumerate(levels)}
    unseen, missing = len(levels), len(levels) + 1

    def codes(values: pd.Series) -> np.ndarray:
        return values.map(lambda v: missing if v == _MISSING else index.get(v, unseen)).to_numpy(dtype="int64")

    return codes(t), codes(s), len(levels) + 2


def feature_psi(train: pd.Series, score: pd.Series, n_bins: int = DEFAULT_BINS, epsilon: float = EPSILON) -> float:
    """PSI of one feature, training values vs scoring values (binning: see the module docstring)."""
    if is_categorical(train) or is_categorical(score):
        t_codes, s_codes, n = _categorical_codes(train, score)
    else:
        t_codes, s_codes, n = _numeric_codes(train, score, n_bins)
    return psi(_shares(t_codes, n), _shares(s_codes, n), epsilon)


def psi_table(
    train_df: pd.DataFrame,
    score_df: pd.DataFrame,
    features: Sequence[str],
    importance: Mapping[str, float] | None = None,
    n_bins: int = DEFAULT_BINS,
    threshold: float = PSI_THRESHOLD,
    epsilon: float = EPSILON,
) -> pd.DataFrame:
    """PSI of every feature between `train_df` (the model's training rows) and `score_df` (the
    snapshot being scored).

    Returns one row per feature, largest PSI first: feature, psi, flag (psi > `threshold`),
    importance (e.g. the model's gain importance, NaN when not given) and importance_rank (1 = most
    important), plus the missing share on each side, which explains many flags on its own.
    """
    features = list(features)
    if train_df.empty or score_df.empty:
        raise ValueError(
            f"PSI needs rows on both sides: the training frame has {len(train_df)} rows, the scoring "
            f"frame {len(score_df)}."
        )
    require_columns(train_df, features, table="training data")
    require_columns(score_df, features, table="scoring snapshot")
    importance = dict(importance or {})
    rows = []
    for name in features:
        rows.append(
            {
                "feature": name,
                "psi": feature_psi(train_df[name], score_df[name], n_bins, epsilon),
                "importance": float(importance[name]) if name in importance else np.nan,
                "train_missing_share": float(train_df[name].isna().mean()),
                "score_missing_share": float(score_df[name].isna().mean()),
            }
        )
    table = pd.DataFrame(rows)
    table.insert(2, "flag", table["psi"] > threshold)
    table.insert(4, "importance_rank", table["importance"].rank(ascending=False, method="min").astype("Int64"))
    return table.sort_values(["psi", "feature"], ascending=[False, True], ignore_index=True)


def drifted_important_features(
    table: pd.DataFrame,
    top_n: int = 10,
    threshold: float = PSI_THRESHOLD,
) -> list[str]:
    """Features of a `psi_table` that drifted (psi > `threshold`) and are among the `top_n` most
    important: the drift worth an alert, because it moves the scores. Without importance values
    every drifted feature is returned. Largest PSI first."""
    drifted = table[table["psi"] > threshold]
    if table["importance"].notna().any():
        drifted = drifted[drifted["importance_rank"].fillna(np.inf) <= top_n]
    return drifted.sort_values("psi", ascending=False)["feature"].tolist()

"""Binary classification metrics used to judge churn and expansion models (SPEC section 5).

Conventions, so every number in `mart_model_performance` means the same thing:
- ECE uses 10 equal-width probability bins on [0, 1], weighted by the share of rows per bin
  (equal-width bins are what a reliability curve shows, so the two agree).
- "Top decile" and the default k of precision@k are the ceil(10 %) highest-scored rows; ties at
  the cut are broken by input order (a stable sort), so the result is deterministic.
- Single-class input does not raise: metrics that are undefined become NaN (AUC when only one
  class is present; PR-AUC and lift when there are no positives). Brier and ECE are always defined.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

ECE_BINS = 10


def _validate(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64").ravel()
    s = np.asarray(y_score, dtype="float64").ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} values but y_score has {s.size}; they must match.")
    if y.size == 0:
        raise ValueError("Cannot compute metrics on zero rows.")
    if np.isnan(y).any() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must contain only 0 and 1 (drop censored rows with a NULL label first).")
    if np.isnan(s).any() or s.min() < 0 or s.max() > 1:
        raise ValueError("y_score must be probabilities in [0, 1] without NaN.")
    return y.astype("int64"), s


def top_k_order(y_score: np.ndarray) -> np.ndarray:
    """Row positions sorted by descending score, ties in input order."""
    return np.argsort(-np.asarray(y_score, dtype="float64"), kind="stable")


def reliability_curve(y_true, y_score, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Equal-width reliability table: per non-empty bin, mean predicted probability, observed rate, n."""
    y, s = _validate(y_true, y_score)
    # Bin i covers [i/n, (i+1)/n); a score of exactly 1.0 goes to the last bin.
    bins = np.minimum((s * n_bins).astype("int64"), n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "y": y, "s": s})
    table = frame.groupby("bin").agg(mean_predicted=("s", "mean"), observed_rate=("y", "mean"), n=("y", "size"))
    table = table.reset_index()
    table.insert(1, "bin_lower", table["bin"] / n_bins)
    table.insert(2, "bin_upper", (table["bin"] + 1) / n_bins)
    return table


def expected_calibration_error(y_true, y_score, n_bins: int = ECE_BINS) -> float:
    """Sum over equal-width bins of (share of rows) x |observed rate - mean predicted probability|."""
    table = reliability_curve(y_true, y_score, n_bins)
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["observed_rate"] - table["mean_predicted"]).abs()).sum())


def binary_metrics(y_true, y_score, k: int | None = None) -> dict[str, float | int]:
    """AUC, PR-AUC (average precision), Brier, ECE, lift in the top decile and precision@k.

    `y_score` must be probabilities in [0, 1]. `k` defaults to ceil(10 % of rows), so by default
    precision_at_k is the top-decile precision and lift_top_decile = precision_at_k / base rate.
    Returns plain Python numbers (NaN where undefined, see the module docstring).
    """
    y, s = _validate(y_true, y_score)
    n = int(y.size)
    positives = int(y.sum())
    base_rate = positives / n
    both_classes = 0 < positives < n

    decile = max(1, math.ceil(0.1 * n))
    if k is None:
        k = decile
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}), got {k}.")
    order = top_k_order(s)
    top_decile_rate = float(y[order[:decile]].mean())

    return {
        "auc": float(roc_auc_score(y, s)) if both_classes else math.nan,
        "pr_auc": float(average_precision_score(y, s)) if positives else math.nan,
        "brier": float(np.mean((s - y) ** 2)),
        "ece": expected_calibration_error(y, s),
        "lift_top_decile": top_decile_rate / base_rate if positives else math.nan,
        "precision_at_k": float(y[order[:k]].mean()),
        "k": int(k),
        "n": n,
        "positives": positives,
        "base_rate": base_rate,
    }

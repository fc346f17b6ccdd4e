"""Why an account scores the way it does, in numbers: per-feature contributions, the largest ones
per row, the level at which a feature turns from lowering to raising the prediction, and family
sub-scores. The words for customer-success managers are built on these in `health.drivers`.

Contributions are in log-odds of the *uncalibrated* model (`train.log_odds_contributions`):
LightGBM's exact TreeSHAP values, the logistic model's exact terms, or their average for the blend;
per row they sum, with the bias, to the raw score. Isotonic calibration is
monotone, so a feature that raises the raw score never lowers the published probability; the
contributions explain the ranking, not the exact calibrated number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dagster_project.ml.dataset import validate_feature_families
from dagster_project.ml.train import BIAS_COLUMN, TrainedModel, log_odds_contributions

# Sub-scores shown to customer-success managers. Adoption and trend features are usage seen over
# time, so they fold into usage; firmographics (industry, size, region) are not something a CSM
# can act on, so they get no sub-score (they still move the overall health score).
SUBSCORE_FAMILIES: dict[str, tuple[str, ...]] = {
    "usage": ("usage", "adoption", "trend", "event_name"),
    "billing": ("billing",),
    "support": ("support",),
    "sentiment": ("sentiment",),
}

# A feature's learned level needs this many rows with a non-zero contribution on both sides.
MIN_LEVEL_ROWS = 10


def contributions(model: TrainedModel, X: pd.DataFrame, include_bias: bool = False) -> pd.DataFrame:
    """Per-row, per-feature contributions in log-odds (positive = raises the predicted risk).

    `X` may be the snapshot rows or an already prepared matrix. The bias (the model's average
    log-odds, the same for every row) is dropped unless `include_bias`, then it is the `_bias`
    column; features + bias sum to the raw log-odds score.
    """
    frame = log_odds_contributions(model, X)
    return frame if include_bias else frame.drop(columns=BIAS_COLUMN)


def top_contributions(contrib: pd.DataFrame, k: int = 3) -> list[list[tuple[str, float]]]:
    """For each row, up to `k` (feature, contribution) pairs, largest |contribution| first.

    Features with a zero or non-finite contribution did not move the row, so a row can have
    fewer than `k` (none when nothing moved it). Ties keep the column order.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    contrib = contrib.drop(columns=[BIAS_COLUMN], errors="ignore")
    names = list(contrib.columns)
    impacts = contrib.to_numpy(dtype="float64")
    order = np.argsort(-np.abs(np.nan_to_num(impacts)), axis=1, kind="stable")[:, :k]
    return [
        [
            (names[col], float(impacts[row, col]))
            for col in order[row]
            if np.isfinite(impacts[row, col]) and impacts[row, col] != 0.0
        ]
        for row in range(impacts.shape[0])
    ]


def _best_split(x: np.ndarray, c: np.ndarray) -> tuple[int, float, float]:
    """(direction, level, agreement) of the one threshold that best separates the signs of `c`.

    Direction +1: values above the level raise the prediction, below it lower it; -1 the other
    way round. Agreement is the share of |c| on the side the rule predicts (0.5 = no rule).
    """
    order = np.argsort(x, kind="stable")
    x, c = x[order], c[order]
    weight = np.abs(c)
    up = np.where(c > 0, weight, 0.0)  # raising mass
    down = weight - up  # lowering mass
    up_left, down_left = np.cumsum(up)[:-1], np.cumsum(down)[:-1]
    up_right, down_right = up.sum() - up_left, down.sum() - down_left
    cut = np.flatnonzero(x[1:] > x[:-1])  # thresholds only between distinct values
    if cut.size == 0:
        return 0, float("nan"), 0.5
    rising = (down_left + up_right)[cut]  # +1: low values lower, high values raise
    falling = (up_left + down_right)[cut]
    total = weight.sum()
    i_rising, i_falling = int(np.argmax(rising)), int(np.argmax(falling))
    if rising[i_rising] >= falling[i_falling]:
        direction, i, score = 1, cut[i_rising], rising[i_rising]
    else:
        direction, i, score = -1, cut[i_falling], falling[i_falling]
    return direction, float((x[i] + x[i + 1]) / 2.0), float(score / total)


def neutral_levels(contrib: pd.DataFrame, X_values: pd.DataFrame) -> pd.DataFrame:
    """Per numeric feature, the level at which its contribution turns from lowering to raising.

    Over the explained rows (aligned by position), one threshold per feature best separates rows
    whose value raised the prediction from rows whose value lowered it, each row weighted by
    |contribution|. Returns a frame indexed by feature with `direction` (+1: higher values raise
    the prediction, -1: higher values lower it, 0: not learned), `level` (the threshold, NaN when
    not learned) and `agreement` (share of the contribution mass the rule explains, 0.5-1).
    A feature needs `MIN_LEVEL_ROWS` moved rows with both signs; non-numeric features get 0/NaN.
    """
    contrib = contrib.drop(columns=[BIAS_COLUMN], errors="ignore")
    if len(contrib) != len(X_values):
        raise ValueError(f"contrib has {len(contrib)} rows but X_values has {len(X_values)}; pass the same rows.")
    rows = []
    for feature in contrib.columns:
        learned = (0, float("nan"), 0.5)
        column = X_values[feature] if feature in X_values.columns else None
        if column is not None and pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            x = column.to_numpy(dtype="float64", na_value=np.nan)
            c = contrib[feature].to_numpy(dtype="float64")
            moved = np.isfinite(x) & np.isfinite(c) & (c != 0.0)
            if moved.sum() >= MIN_LEVEL_ROWS and (c[moved] > 0).any() and (c[moved] < 0).any():
                learned = _best_split(x[moved], c[moved])
        rows.append((feature, *learned))
    frame = pd.DataFrame(rows, columns=["feature", "direction", "level", "agreement"]).set_index("feature")
    return frame.astype({"direction": "int64", "level": "float64", "agreement": "float64"})


def family_subscores(contrib: pd.DataFrame, feature_families: Mapping[str, str]) -> pd.DataFrame:
    """Usage, billing, support and sentiment sub-scores, 0-100, 100 = healthy.

    Each is 100 x sigmoid(-s) = 100 / (1 + e^s), where s is the row's summed contribution of the
    family's features: 50 when the family is neutral, lower when it pushes churn risk up. Because
    they are built from the same contributions as the score, they explain it rather than second-
    guess it. A sub-score is missing (NA) when the model has no feature of that family (e.g. no
    NPS source means no sentiment score, rather than a misleading neutral 50).
    """
    contrib = contrib.drop(columns=[BIAS_COLUMN], errors="ignore")
    families = validate_feature_families(list(contrib.columns), feature_families)
    out = pd.DataFrame(index=contrib.index)
    for score, members in SUBSCORE_FAMILIES.items():
        cols: Sequence[str] = [f for f, fam in families.items() if fam in members]
        if cols:
            total = np.clip(contrib[list(cols)].sum(axis=1).to_numpy(dtype="float64"), -50, 50)
            scores = np.floor(100.0 / (1.0 + np.exp(total)) + 0.5).astype("int64")  # round half up
            out[f"{score}_score"] = pd.array(scores, dtype="Int64")
        else:
            out[f"{score}_score"] = pd.array([pd.NA] * len(contrib), dtype="Int64")
    return out

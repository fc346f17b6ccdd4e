"""From calibrated churn probability to the health score, band and the scored-accounts table.

Health score = round(100 / (1 + p / base_rate)), where base_rate is the training-period churn
rate. It is a monotone (decreasing) transform of the calibrated probability, so ranking by score
is ranking by risk, and it reads relative to a typical account:

    p = base_rate        -> 50 (an average account)
    p = 2.33 x base_rate -> 30 (edge of red with the default bands)
    p = 0.43 x base_rate -> 70 (edge of green)

Being relative, the same score means "k times the usual risk" for any company, whatever its churn
rate. Bands: red 0..red_max, yellow red_max+1..yellow_max, green above (default 30 / 70); the band
function and the hysteresis that keeps accounts from flapping live in `dagster_project.health.bands`.

The expansion model is scored the same way (`score_expansion`): calibrated probability, a 0-100
score relative to the training-period expansion rate, and the top signals in words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from dagster_project.health.bands import band_of as health_band
from dagster_project.health.drivers import top_drivers
from dagster_project.health.expansion import expansion_score
from dagster_project.ml.dataset import ID_COLUMNS, SNAPSHOT_TABLE, require_columns
from dagster_project.ml.explain import contributions, family_subscores
from dagster_project.ml.train import TrainedModel, predict_proba

__all__ = ["health_band", "health_score", "score_accounts", "score_expansion"]

DEFAULT_RED_MAX = 30
DEFAULT_YELLOW_MAX = 70


def health_score(p, base_rate: float):
    """0-100 health score (higher = healthier) for calibrated probabilities `p`.

    Returns an int for a scalar `p`, else an int64 array. Rounds half up.
    """
    if not 0.0 < float(base_rate) < 1.0:
        raise ValueError(f"base_rate must be strictly between 0 and 1, got {base_rate}.")
    probs = np.asarray(p, dtype="float64")
    if np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("Probabilities must be in [0, 1] without NaN.")
    scores = np.floor(100.0 / (1.0 + probs / float(base_rate)) + 0.5).astype("int64")
    return int(scores) if scores.ndim == 0 else scores


def _check_rows(df: pd.DataFrame) -> None:
    require_columns(df, list(ID_COLUMNS))
    if df.empty:
        raise ValueError(f"No rows to score: the {SNAPSHOT_TABLE} frame is empty.")
    duplicated = df.duplicated(list(ID_COLUMNS))
    if duplicated.any():
        example = df.loc[duplicated, list(ID_COLUMNS)].iloc[0].tolist()
        raise ValueError(
            f"{SNAPSHOT_TABLE} has {int(duplicated.sum())} duplicate (account_id, as_of_date) rows, "
            f"e.g. {example}; the grain must be one row per account and date. Fix the dbt model."
        )


def score_accounts(
    model: TrainedModel,
    df: pd.DataFrame,
    feature_families: Mapping[str, str] | None = None,
    k: int = 3,
    red_max: int = DEFAULT_RED_MAX,
    yellow_max: int = DEFAULT_YELLOW_MAX,
) -> pd.DataFrame:
    """Score every row of `df` (snapshot rows; use `dataset.latest_snapshot` for the current one).

    Returns account_id, as_of_date, churn_probability (calibrated), health_score, health_band,
    top_drivers (JSON text: list of {feature, value, impact, sentence}), usage_score,
    billing_score, support_score, sentiment_score, model_version, model_kind. `feature_families` defaults to
    the mapping stored with the model.
    """
    _check_rows(df)
    families = dict(feature_families) if feature_families else model.feature_families
    if not families:
        raise ValueError(
            "No feature families: pass feature_families (feature -> usage|adoption|trend|billing|"
            "support|sentiment|firmographic) to train_churn_model or score_accounts; sub-scores need them."
        )

    p = predict_proba(model, df)
    scores = health_score(p, model.base_rate)
    contrib = contributions(model, df)
    drivers = top_drivers(contrib, df, k=k)
    subscores = family_subscores(contrib, families)

    out = pd.DataFrame(
        {
            "account_id": df["account_id"].to_numpy(),
            "as_of_date": df["as_of_date"].to_numpy(),
            "churn_probability": p,
            "health_score": scores,
            "health_band": health_band(scores, red_max, yellow_max),
            "top_drivers": [json.dumps(d, ensure_ascii=False) for d in drivers],
        }
    )
    for column in subscores.columns:
        out[column] = subscores[column].to_numpy()
    out["model_version"] = model.version
    out["model_kind"] = model.metadata.get("model_kind", "backtested")
    return out


def score_expansion(model: TrainedModel, df: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Score rows of `df` with the expansion model.

    Returns account_id, as_of_date, poc (calibrated expansion probability), score (0-100, see
    `health.expansion.expansion_score`), signals_json (JSON text: the `k` features moving the
    expansion probability most, in words), model_version.
    """
    _check_rows(df)
    p = predict_proba(model, df)
    drivers = top_drivers(contributions(model, df), df, k=k, outcome="expansion likelihood")
    return pd.DataFrame(
        {
            "account_id": df["account_id"].to_numpy(),
            "as_of_date": df["as_of_date"].to_numpy(),
            "poc": p,
            "score": expansion_score(p, model.base_rate),
            "signals_json": [json.dumps(d, ensure_ascii=False) for d in drivers],
            "model_version": model.version,
        }
    )

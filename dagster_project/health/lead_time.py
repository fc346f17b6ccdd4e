"""Lead time: how early the health band warns of a churn.

Every snapshot is scored out of sample (by the newest backtest fold model that could have existed
on its date), banded, and each churn is traced back to its first red band within the label
horizon. `median_lead_time_days` is the number the targets and reports use.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dagster_project.health.score import DEFAULT_RED_MAX, DEFAULT_YELLOW_MAX, health_band, health_score
from dagster_project.ml.backtest import BacktestResult
from dagster_project.ml.dataset import require_columns
from dagster_project.ml.train import predict_proba


def out_of_sample_history(
    result: BacktestResult,
    df: pd.DataFrame,
    red_max: int = DEFAULT_RED_MAX,
    yellow_max: int = DEFAULT_YELLOW_MAX,
) -> pd.DataFrame:
    """Score every snapshot row from the first origin on with the newest fold model whose origin is
    on or before the row's as_of_date, so no row is scored by a model that learned from its
    future. Censored rows are scored too (lead time needs the weeks just before a recent churn).

    Returns account_id, as_of_date, fold, churn_probability, health_score, health_band.
    """
    require_columns(df, ["account_id", "as_of_date", *result.folds[0].model.features])
    as_of = pd.to_datetime(df["as_of_date"])
    origins = pd.DatetimeIndex([f.origin_date for f in result.folds])
    # Index of the newest fold whose origin <= as_of_date (-1: before the first origin).
    fold_of_row = np.searchsorted(origins.to_numpy(), as_of.to_numpy(), side="right") - 1
    parts = []
    for i, fold in enumerate(result.folds):
        rows = df[fold_of_row == i]
        if rows.empty:
            continue
        p = predict_proba(fold.model, rows)
        scores = health_score(p, fold.model.base_rate)
        parts.append(
            pd.DataFrame(
                {
                    "account_id": rows["account_id"].to_numpy(),
                    "as_of_date": pd.to_datetime(rows["as_of_date"]).to_numpy(),
                    "fold": fold.fold,
                    "churn_probability": p,
                    "health_score": scores,
                    "health_band": health_band(scores, red_max, yellow_max),
                }
            )
        )
    if not parts:
        raise ValueError("No snapshot row is on or after the first backtest origin: nothing to score.")
    return pd.concat(parts, ignore_index=True)


def lead_times(
    history: pd.DataFrame,
    churn_dates: pd.DataFrame,
    band_column: str = "health_band",
    red: str = "red",
    lookback_days: int = 90,
    require_full_lookback: bool = True,
) -> pd.DataFrame:
    """Per churn: the first red snapshot in the `lookback_days` before the churn and the days to it.

    `history` has account_id, as_of_date and `band_column` (a scored history, one row per account
    and date); `churn_dates` has account_id, churn_date (one row per churn; an account may churn
    twice). The look-back defaults to the 90-day label horizon: a red band means "high risk of
    churning within 90 days", so a red flag earlier than that is not a warning of this churn.
    With `require_full_lookback`, churns whose look-back window starts before the first scored
    date are left out, since their first red flag may predate the history (it would understate
    the lead time).

    Returns account_id, churn_date, first_red_date (NaT if never red), lead_time_days (NaN if never
    red) and n_snapshots (scored dates in the look-back window), one row per churn considered.
    """
    require_columns(history, ["account_id", "as_of_date", band_column], table="scored history")
    require_columns(churn_dates, ["account_id", "churn_date"], table="churn dates")
    hist = history[["account_id", "as_of_date", band_column]].assign(as_of_date=pd.to_datetime(history["as_of_date"]))
    churns = churn_dates[["account_id", "churn_date"]].dropna().drop_duplicates()
    churns = churns.assign(churn_date=pd.to_datetime(churns["churn_date"]))
    lookback = pd.Timedelta(days=lookback_days)
    if require_full_lookback and not hist.empty:
        churns = churns[churns["churn_date"] - lookback >= hist["as_of_date"].min()]

    window = churns.merge(hist, on="account_id", how="inner")
    window = window[
        (window["as_of_date"] < window["churn_date"]) & (window["as_of_date"] >= window["churn_date"] - lookback)
    ]
    keys = ["account_id", "churn_date"]
    n_snapshots = window.groupby(keys).size().rename("n_snapshots")
    first_red = window[window[band_column] == red].groupby(keys)["as_of_date"].min().rename("first_red_date")
    out = churns.set_index(keys).join(n_snapshots, how="inner").join(first_red).reset_index()
    out["lead_time_days"] = (out["churn_date"] - out["first_red_date"]).dt.days.astype("float64")
    return out[["account_id", "churn_date", "first_red_date", "lead_time_days", "n_snapshots"]]


def median_of_flagged(times: pd.DataFrame) -> float:
    """Median lead time of the churns that were flagged red (NaN when none was)."""
    flagged = times["lead_time_days"].dropna()
    return float(flagged.median()) if len(flagged) else math.nan


def backtest_lead_times(result: BacktestResult, df: pd.DataFrame, horizon_days: int) -> tuple[pd.DataFrame, float]:
    """Lead times of the churns observed in `df`, on out-of-sample scores of the backtest `result`:
    (one row per churn with a full look-back, see `lead_times`; the median lead time in days, NaN
    when no churn was flagged red). The model's assets and `ahw evaluate` both report these."""
    history = out_of_sample_history(result, df)
    churns = df.loc[df["churn_date"].notna(), ["account_id", "churn_date"]].drop_duplicates()
    times = lead_times(history, churns, lookback_days=horizon_days)
    return times, median_of_flagged(times)

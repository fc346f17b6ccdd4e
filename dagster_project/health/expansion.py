"""Expansion opportunities: score, priority tier, projected ARR.

- `poc` (probability of close) = the calibrated expansion probability of the LightGBM model on
  `expanded_within_90d`: the chance the account grows its MRR by 10 % or its seats within 90 days.
- `score` 0-100 reads relative to a typical account, like the health score:
  score = round(100 x poc / (poc + base_rate)), where base_rate is the training-period expansion
  rate: 50 = as likely as an average account, 80 = four times as likely (poc = 4 x base_rate).
- `priority_tier`: High for score > 80, Medium for 50..80, Low below 50.
- `projected_arr` = ARR x (uplift factor - 1) x poc, the expected ARR gain, with the uplift factor
  1.5 for High, 1.35 for Medium and 1.2 for Low (a High account is expected to buy more).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UPLIFT_FACTORS = {"High": 1.5, "Medium": 1.35, "Low": 1.2}
TIERS = ("High", "Medium", "Low")


def expansion_score(poc, base_rate: float):
    """0-100 score (higher = more likely to expand) from calibrated probabilities; int64 array or int."""
    if not 0.0 < float(base_rate) < 1.0:
        raise ValueError(f"base_rate must be strictly between 0 and 1, got {base_rate}.")
    p = np.asarray(poc, dtype="float64")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("Expansion probabilities must be in [0, 1] without NaN.")
    scores = np.floor(100.0 * p / (p + float(base_rate)) + 0.5).astype("int64")
    return int(scores) if scores.ndim == 0 else scores


def priority_tier(score):
    """'High' for score > 80, 'Medium' for 50..80, 'Low' below 50 (str, or object array)."""
    s = np.asarray(score, dtype="float64")
    if np.isnan(s).any():
        raise ValueError("Expansion scores must not be NaN.")
    tiers = np.where(s > 80, "High", np.where(s >= 50, "Medium", "Low")).astype(object)
    return str(tiers) if tiers.ndim == 0 else tiers


def projected_arr(arr_usd, poc, tier):
    """Expected ARR uplift in USD: ARR x (uplift factor of the tier - 1) x poc (float or array).

    Missing ARR (no subscription) projects 0.
    """
    tiers = np.asarray(tier, dtype=object)
    unknown = sorted({str(t) for t in np.atleast_1d(tiers)} - set(UPLIFT_FACTORS))
    if unknown:
        raise ValueError(f"Unknown priority tiers {unknown}; expected {', '.join(TIERS)}.")
    uplift = np.vectorize(UPLIFT_FACTORS.get, otypes=["float64"])(tiers)
    arr = np.nan_to_num(np.asarray(arr_usd, dtype="float64"), nan=0.0)
    p = np.asarray(poc, dtype="float64")
    value = np.round(arr * (uplift - 1.0) * p, 2)
    return float(value) if value.ndim == 0 else value


def track_status(scored: pd.DataFrame, previous: pd.DataFrame | None, today) -> pd.DataFrame:
    """Add `created_date` and `status` to today's scored opportunities, given yesterday's mart.

    An account at Medium or High tier that was already Medium or High in `previous` keeps its
    created_date and is 'open'; one that just reached Medium or High is 'new', created today.
    Low-tier accounts are 'watch', created today (their run as an opportunity has not started).
    Re-running on the same day gives the same result.
    """
    out = scored.copy()
    today = pd.Timestamp(today).normalize()
    active = out["priority_tier"] != "Low"
    out["created_date"] = today
    out["status"] = np.where(active, "new", "watch")
    if previous is not None and len(previous):
        before = previous[previous["priority_tier"] != "Low"].set_index("account_id")["created_date"]
        carried = active & out["account_id"].isin(before.index)
        out.loc[carried, "created_date"] = pd.to_datetime(out.loc[carried, "account_id"].map(before)).to_numpy()
        out["created_date"] = pd.to_datetime(out["created_date"])
        out.loc[carried & (out["created_date"] < today), "status"] = "open"
    return out


OPPORTUNITY_STATUSES = ("open", "won", "lost", "expired")


def opportunity_history(scores: pd.DataFrame, labels: pd.DataFrame, today, horizon_days: int) -> pd.DataFrame:
    """Every opportunity the scores ever opened, and how it ended.

    `scores` has account_id, as_of_date, score, priority_tier, projected_arr for every snapshot
    date; `labels` has account_id, as_of_date, expanded_within_90d, churned_within_90d. An
    opportunity is a run of consecutive snapshot dates at Medium or High tier; it is created on the
    run's first date. Its status reads the labels of that date: `won` when the account expanded
    within the horizon, `lost` when it churned, `expired` when the horizon passed without either,
    `open` while it has not.
    """
    frame = scores.sort_values(["account_id", "as_of_date"], kind="stable").reset_index(drop=True)
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    active = (frame["priority_tier"] != "Low").to_numpy()
    same_account = frame["account_id"].eq(frame["account_id"].shift()).to_numpy()
    previous_active = np.r_[False, active[:-1]] & same_account
    frame["run"] = np.cumsum(active & ~previous_active)
    runs = frame[active].groupby(["account_id", "run"], sort=False)
    out = runs.agg(
        created_date=("as_of_date", "min"),
        last_seen_date=("as_of_date", "max"),
        snapshots=("as_of_date", "count"),
        score_at_creation=("score", "first"),
        best_score=("score", "max"),
        projected_arr_at_creation=("projected_arr", "first"),
    ).reset_index()
    out["priority_tier"] = np.where(out["best_score"] > 80, "High", "Medium")
    out["tier_at_creation"] = runs["priority_tier"].first().to_numpy()
    lab = labels[["account_id", "as_of_date", "expanded_within_90d", "churned_within_90d"]].copy()
    lab["as_of_date"] = pd.to_datetime(lab["as_of_date"])
    out = out.merge(lab.rename(columns={"as_of_date": "created_date"}), on=["account_id", "created_date"], how="left")
    today = pd.Timestamp(today).normalize()
    won = out["expanded_within_90d"].astype("boolean").fillna(False).astype(bool)
    lost = out["churned_within_90d"].astype("boolean").fillna(False).astype(bool)
    passed = out["created_date"] + pd.Timedelta(days=horizon_days) <= today
    out["status"] = np.select([won, lost, passed], ["won", "lost", "expired"], "open")
    out["horizon_end_date"] = out["created_date"] + pd.Timedelta(days=horizon_days)
    return (
        out.drop(columns=["run", "expanded_within_90d", "churned_within_90d"])
        .sort_values(["created_date", "account_id"], kind="stable")
        .reset_index(drop=True)
    )


def conversion_by_tier(history: pd.DataFrame) -> pd.DataFrame:
    """Per priority tier: opportunities, won, lost, expired, open, and conversion = won / closed."""
    counts = pd.crosstab(history["priority_tier"], history["status"]).reindex(
        columns=OPPORTUNITY_STATUSES, fill_value=0
    )
    closed = counts[["won", "lost", "expired"]].sum(axis=1)
    counts["conversion"] = (counts["won"] / closed.where(closed > 0)).astype(float)
    return counts.reset_index()

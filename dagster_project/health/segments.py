"""Segments: k-means on behaviour and firmographics, k chosen by silhouette, named from profiles.

Features (one row per active account): seat utilization, logins and core actions per active
user, feature breadth, the 30-day login trend, tickets in 90 days, latest NPS (behaviour), and
log ARR, log employee count and tenure (firmographics). Missing values take the column median;
every feature is standardized (z-score, clipped at +-3) so none dominates by its unit or by one
extreme account.

k: every k in 3..7 is fitted (k-means++, 10 starts, fixed seed); among the k whose smallest
segment holds at least 3 % of the accounts (and 5), the one with the highest mean silhouette
coefficient wins (ties: the smaller k; if none qualifies, 3). Segment ids are ordered by median ARR, highest
first, so the same company gives the same ids run after run.

A segment's expected churn rate is the mean calibrated 90-day churn probability of its accounts
(when `churn_probability` is passed): every segmented account is active, so an observed rate
would be 0 by construction.

Names come from two axes of the profile, each compared with all accounts:
value (median ARR: top third "High-value", bottom third "Small", else "Mid-market") and
engagement (mean z-score of the behaviour features, sign-adjusted so higher = healthier:
> 0.35 "engaged", < -0.35 "disengaged", else "steady"); small engaged segments whose usage is
growing are "Emerging champions". Two segments with the same name get their most distinctive
trait appended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

MIN_K, MAX_K = 3, 7
RANDOM_STATE = 0
# Behaviour features, with +1 when a higher value is healthier and -1 when it is worse.
BEHAVIOUR = {
    "seat_utilization_30d": 1,
    "core_actions_per_active_user_30d": 1,
    "feature_breadth_30d": 1,
    "logins_30d_vs_prior_30d": 1,
    "tickets_90d": -1,
    "nps_latest_score": 1,
}
FIRMOGRAPHIC = ("log_arr_usd", "log_employee_count", "tenure_days")
ENGAGEMENT_CUTOFF = 0.35
Z_CLIP = 3.0
# A k is eligible only if its smallest segment holds this share of the accounts (and >= 5).
MIN_SEGMENT_SHARE = 0.03
TRAIT_WORDS = {
    "seat_utilization_30d": ("high seat use", "low seat use"),
    "core_actions_per_active_user_30d": ("deep usage", "shallow usage"),
    "feature_breadth_30d": ("broad adoption", "narrow adoption"),
    "logins_30d_vs_prior_30d": ("growing usage", "falling usage"),
    "tickets_90d": ("few tickets", "ticket-heavy"),
    "nps_latest_score": ("promoters", "detractors"),
    "log_arr_usd": ("large contracts", "small contracts"),
    "log_employee_count": ("large companies", "small companies"),
    "tenure_days": ("long-standing", "new"),
}


@dataclass
class Segmentation:
    """Result: per-account assignment, per-segment profile, and the silhouette of each k tried."""

    assignments: pd.DataFrame  # account_id, segment_id, segment_name
    profiles: pd.DataFrame  # one row per segment
    silhouette_by_k: dict[int, float]
    k: int


def feature_frame(accounts: pd.DataFrame) -> pd.DataFrame:
    """The clustering features of each account (index aligned with `accounts`), before scaling."""
    needed = ["account_id", *BEHAVIOUR, "arr_usd", "employee_count", "tenure_days"]
    missing = [c for c in needed if c not in accounts.columns]
    if missing:
        raise ValueError(
            f"marts.ml_account_snapshots lacks the segmentation columns {missing}; "
            "rebuild it with dbt or remove them from dagster_project/health/segments.py."
        )
    out = accounts[list(BEHAVIOUR)].astype("float64").copy()
    out["log_arr_usd"] = np.log1p(accounts["arr_usd"].astype("float64").clip(lower=0))
    out["log_employee_count"] = np.log1p(accounts["employee_count"].astype("float64").clip(lower=0))
    out["tenure_days"] = accounts["tenure_days"].astype("float64")
    return out


def _standardize(features: pd.DataFrame) -> pd.DataFrame:
    filled = features.fillna(features.median()).fillna(0.0)
    std = filled.std(ddof=0).replace(0, 1.0)
    # Clipped at 3 standard deviations: one extreme account should not get a segment of its own.
    return ((filled - filled.mean()) / std).clip(-Z_CLIP, Z_CLIP)


def segment_accounts(accounts: pd.DataFrame, min_k: int = MIN_K, max_k: int = MAX_K) -> Segmentation:
    """Cluster the accounts (one row each; see the module docstring) and name the segments."""
    if accounts["account_id"].duplicated().any():
        raise ValueError("Segmentation needs one row per account; pass the current snapshot only.")
    if len(accounts) < max_k * 3:
        raise ValueError(
            f"Only {len(accounts)} accounts to segment; at least {max_k * 3} are needed for {min_k}..{max_k} segments."
        )
    raw = feature_frame(accounts)
    z = _standardize(raw)
    silhouettes: dict[int, float] = {}
    labels_by_k: dict[int, np.ndarray] = {}
    # One thread: a few thousand rows cluster in about a second, while OpenMP threads competing
    # with the rest of the pipeline for 2 cores made it 15 times slower (measured).
    with threadpool_limits(1):
        for k in range(min_k, max_k + 1):
            labels = KMeans(n_clusters=k, n_init=10, random_state=RANDOM_STATE).fit_predict(z.to_numpy())
            labels_by_k[k] = labels
            silhouettes[k] = round(float(silhouette_score(z.to_numpy(), labels)), 4)
    smallest = max(5, int(np.ceil(MIN_SEGMENT_SHARE * len(accounts))))
    eligible = [k for k in silhouettes if np.bincount(labels_by_k[k]).min() >= smallest] or [min_k]
    best_k = max(eligible, key=lambda k: (silhouettes[k], -k))
    labels = labels_by_k[best_k]

    arr = accounts["arr_usd"].astype("float64").fillna(0.0).to_numpy()
    order = sorted(set(labels), key=lambda c: (-np.median(arr[labels == c]), c))
    segment_id = np.array([order.index(c) + 1 for c in labels])
    profiles = _profiles(accounts, raw, z, segment_id)
    names = dict(zip(profiles["segment_id"], profiles["segment_name"]))
    assignments = pd.DataFrame(
        {
            "account_id": accounts["account_id"].to_numpy(),
            "segment_id": segment_id.astype("int64"),
            "segment_name": [names[s] for s in segment_id],
        }
    )
    return Segmentation(assignments, profiles, silhouettes, best_k)


def _profiles(accounts: pd.DataFrame, raw: pd.DataFrame, z: pd.DataFrame, segment_id: np.ndarray) -> pd.DataFrame:
    arr = accounts["arr_usd"].astype("float64").fillna(0.0)
    lo, hi = np.quantile(arr, [1 / 3, 2 / 3])
    signs = pd.Series({**BEHAVIOUR, **{f: 1 for f in FIRMOGRAPHIC}})
    rows = []
    for seg in sorted(set(segment_id)):
        mask = segment_id == seg
        centre = z[mask].mean() * signs  # higher = healthier / bigger
        engagement = float(centre[list(BEHAVIOUR)].mean())
        median_arr = float(arr[mask].median())
        value = "High-value" if median_arr >= hi else "Small" if median_arr <= lo else "Mid-market"
        mood = (
            "engaged"
            if engagement > ENGAGEMENT_CUTOFF
            else "disengaged"
            if engagement < -ENGAGEMENT_CUTOFF
            else "steady"
        )
        name = f"{value} {mood}"
        if value != "High-value" and mood == "engaged" and centre["logins_30d_vs_prior_30d"] > 0:
            name = "Emerging champions"
        strongest = centre.abs().sort_values(ascending=False).index
        traits = [TRAIT_WORDS[f][0 if centre[f] > 0 else 1] for f in strongest[:3]]
        rows.append(
            {
                "segment_id": int(seg),
                "segment_name": name,
                "accounts": int(mask.sum()),
                "median_arr_usd": round(median_arr, 2),
                "total_arr_usd": round(float(arr[mask].sum()), 2),
                "median_seat_utilization_30d": _median(raw.loc[mask, "seat_utilization_30d"]),
                "median_logins_30d_vs_prior_30d": _median(raw.loc[mask, "logins_30d_vs_prior_30d"]),
                "median_tickets_90d": _median(raw.loc[mask, "tickets_90d"]),
                "median_nps_latest_score": _median(raw.loc[mask, "nps_latest_score"]),
                "median_tenure_days": _median(raw.loc[mask, "tenure_days"]),
                "engagement_index": round(engagement, 3),
                "expected_churn_rate_90d": _mean(accounts.loc[mask, "churn_probability"])
                if "churn_probability" in accounts
                else None,
                "defining_traits": ", ".join(traits),
            }
        )
    profiles = pd.DataFrame(rows)
    # Same name twice: append each one's most distinctive trait.
    dup = profiles["segment_name"].duplicated(keep=False)
    profiles.loc[dup, "segment_name"] = [
        f"{n} ({t.split(', ')[0]})"
        for n, t in zip(profiles.loc[dup, "segment_name"], profiles.loc[dup, "defining_traits"])
    ]
    dup = profiles["segment_name"].duplicated(keep=False)
    profiles.loc[dup, "segment_name"] = [
        f"{n} #{i}" for n, i in zip(profiles.loc[dup, "segment_name"], profiles.loc[dup, "segment_id"])
    ]
    return profiles


def _mean(series: pd.Series) -> float | None:
    value = series.astype("float64").mean()
    return None if pd.isna(value) else round(float(value), 4)


def _median(series: pd.Series) -> float | None:
    value = series.median()
    return None if pd.isna(value) else round(float(value), 3)


def segment_changes(previous: pd.DataFrame, current: pd.DataFrame, as_of_date) -> pd.DataFrame:
    """The segment history after assigning `current` (account_id, segment_id, segment_name) on `as_of_date`.

    `previous` is the history so far (account_id, segment_id, segment_name, valid_from, valid_to;
    valid_to NULL = the open row). An account whose segment name changed gets its open row closed
    (valid_to = as_of_date) and a new open row; an unchanged account keeps its open row; an
    account no longer assigned (churned) has its open row closed. Re-running on the same date
    gives the same history.
    """
    day = pd.Timestamp(as_of_date).normalize()
    cols = ["account_id", "segment_id", "segment_name", "valid_from", "valid_to"]
    prev = previous[cols].copy() if len(previous) else pd.DataFrame(columns=cols)
    prev["valid_from"] = pd.to_datetime(prev["valid_from"])
    prev["valid_to"] = pd.to_datetime(prev["valid_to"])
    # Re-running a date: forget what that date itself wrote.
    prev = prev[prev["valid_from"] < day].copy()
    prev.loc[prev["valid_to"] >= day, "valid_to"] = pd.NaT
    closed = prev[prev["valid_to"].notna()]
    open_rows = prev[prev["valid_to"].isna()]
    merged = open_rows.merge(current, on="account_id", how="outer", suffixes=("", "_new"), indicator=True)
    keep = merged[(merged["_merge"] == "both") & (merged["segment_name"] == merged["segment_name_new"])][cols]
    ended = merged[merged["_merge"] != "right_only"]
    ended = ended[~ended["account_id"].isin(keep["account_id"])][cols].assign(valid_to=day)
    new = current[~current["account_id"].isin(keep["account_id"])].assign(valid_from=day, valid_to=pd.NaT)[cols]
    out = pd.concat([x for x in (closed, keep, ended, new) if len(x)], ignore_index=True)
    out["segment_id"] = out["segment_id"].astype("int64")
    return out.sort_values(["account_id", "valid_from"], kind="stable").reset_index(drop=True)


def segment_tables(result, as_of_date: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of mart_segments (each account with its segment's size, ARR, expected churn and
    traits) and of mart_segment_profiles (one per segment, with the chosen k's silhouette), as of
    `as_of_date`, from one `segment_accounts` result."""
    profiles = result.profiles.assign(silhouette=result.silhouette_by_k[result.k], as_of_date=as_of_date)
    carried = {
        "accounts": "segment_accounts",
        "median_arr_usd": "segment_median_arr_usd",
        "expected_churn_rate_90d": "segment_expected_churn_rate_90d",
        "defining_traits": "segment_defining_traits",
    }
    accounts = result.assignments.merge(
        profiles[["segment_id", *carried]].rename(columns=carried), on="segment_id"
    ).assign(as_of_date=as_of_date)
    return accounts, profiles

"""Business KPIs by month: MRR movements, NRR, GRR, logo churn, churn rate by risk band, and a
Kaplan-Meier retention curve by band.

Definitions (per calendar month, from `marts.fct_mrr_movements`):

- starting MRR = MRR at the end of the previous month; ending MRR = at the end of the month;
  new, expansion, contraction (<= 0), churn (<= 0) and reactivation as in fct_mrr_movements.
- NRR = (starting + expansion + contraction + churn) / starting: what the accounts paying at the
  start of the month pay at its end. GRR = (starting + contraction + churn) / starting: the same
  without expansion. Both NULL when nothing was paying at the start.
- logo churn = accounts paying at the start and not at the end; logo churn rate = that over the
  accounts paying at the start.
- churn rate by band: the accounts in each health band on their first scored date of the month,
  and the share of those whose `churned_within_90d` label is true. NULL while the labels of the
  month are still censored (the 90 days have not passed yet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dagster_project.health.bands import BANDS

MOVEMENT_COLUMNS = [
    "starting_mrr_usd",
    "new_mrr_usd",
    "expansion_mrr_usd",
    "contraction_mrr_usd",
    "churn_mrr_usd",
    "reactivation_mrr_usd",
    "ending_mrr_usd",
]


def _require(frame: pd.DataFrame, columns: list[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{table} lacks the columns {missing}; rebuild it with dbt (dbt build --select {table.split('.')[-1]})."
        )


def mrr_kpis(movements: pd.DataFrame) -> pd.DataFrame:
    """One row per month_start_date: MRR totals, NRR, GRR, logo counts and logo churn rate."""
    _require(movements, ["account_id", "month_start_date", *MOVEMENT_COLUMNS], "marts.fct_mrr_movements")
    frame = movements.copy()
    frame["paying_at_start"] = frame["starting_mrr_usd"] > 0
    frame["churned_logo"] = frame["paying_at_start"] & (frame["ending_mrr_usd"] <= 0)
    monthly = (
        frame.groupby("month_start_date", sort=True)
        .agg(
            **{c: (c, "sum") for c in MOVEMENT_COLUMNS},
            accounts_at_start=("paying_at_start", "sum"),
            logo_churn=("churned_logo", "sum"),
            accounts_at_end=("ending_mrr_usd", lambda s: int((s > 0).sum())),
        )
        .reset_index()
    )
    start = monthly["starting_mrr_usd"].where(monthly["starting_mrr_usd"] > 0)
    retained = monthly["starting_mrr_usd"] + monthly["contraction_mrr_usd"] + monthly["churn_mrr_usd"]
    monthly["nrr"] = (retained + monthly["expansion_mrr_usd"]) / start
    monthly["grr"] = retained / start
    at_start = monthly["accounts_at_start"].where(monthly["accounts_at_start"] > 0)
    monthly["logo_churn_rate"] = monthly["logo_churn"] / at_start
    for c in ("accounts_at_start", "logo_churn", "accounts_at_end"):
        monthly[c] = monthly[c].astype("int64")
    return monthly


def churn_by_band(history: pd.DataFrame, labels: pd.DataFrame, label: str = "churned_within_90d") -> pd.DataFrame:
    """Per month: accounts per band on their first scored date of the month and the share churned.

    `history` has account_id, as_of_date, health_band; `labels` has account_id, as_of_date and
    `label` (NULL = censored). Returns month_start_date, then `<band>_accounts` and
    `<band>_churn_rate_90d` for each band (the rate is NULL when no labelled account is in the band).
    """
    _require(history, ["account_id", "as_of_date", "health_band"], "marts.mart_account_health_history")
    _require(labels, ["account_id", "as_of_date", label], "marts.ml_account_snapshots")
    frame = history[["account_id", "as_of_date", "health_band"]].copy()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    frame["month_start_date"] = frame["as_of_date"].dt.to_period("M").dt.to_timestamp()
    first = frame.sort_values("as_of_date").groupby(["account_id", "month_start_date"], as_index=False).first()
    lab = labels[["account_id", "as_of_date", label]].copy()
    lab["as_of_date"] = pd.to_datetime(lab["as_of_date"])
    first = first.merge(lab, on=["account_id", "as_of_date"], how="left")
    first["_label"] = first[label].astype("float64")
    out = pd.DataFrame({"month_start_date": sorted(first["month_start_date"].unique())})
    for band in BANDS:
        in_band = first[first["health_band"] == band]
        grouped = in_band.groupby("month_start_date")
        counts = grouped.size()
        # The rate needs every account of the band labelled: a partly censored month has no rate.
        censored = grouped["_label"].apply(lambda s: bool(s.isna().any()))
        rates = grouped["_label"].mean().where(~censored)
        out[f"{band}_accounts"] = out["month_start_date"].map(counts).fillna(0).astype("int64")
        out[f"{band}_churn_rate_90d"] = out["month_start_date"].map(rates).astype("float64")
    return out


def business_kpis(movements: pd.DataFrame, history: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """`mrr_kpis` joined with `churn_by_band` on the month (months without scores have NULL band columns)."""
    mrr = mrr_kpis(movements)
    mrr["month_start_date"] = pd.to_datetime(mrr["month_start_date"])
    bands = churn_by_band(history, labels)
    out = mrr.merge(bands, on="month_start_date", how="left")
    for band in BANDS:
        out[f"{band}_accounts"] = out[f"{band}_accounts"].astype("Int64")
    return out


def kaplan_meier(durations, events) -> pd.DataFrame:
    """Kaplan-Meier survival estimate: time (days), at_risk, events, survival.

    `durations` are days from entry to churn (event = 1) or to the end of observation (event = 0,
    censored). At each distinct event time t, S(t) = S(t-) x (1 - d_t / n_t), where n_t counts the
    entries with duration >= t. The first row is t = 0, S = 1.
    """
    durations = np.asarray(durations, dtype="float64")
    events = np.asarray(events, dtype="int64")
    if durations.shape != events.shape:
        raise ValueError(f"durations ({durations.size}) and events ({events.size}) differ in length.")
    if (durations < 0).any() or np.isnan(durations).any():
        raise ValueError("Durations must be non-negative days without NaN.")
    times = np.unique(durations[events == 1])
    rows = [{"time": 0.0, "at_risk": int(durations.size), "events": 0, "survival": 1.0}]
    survival = 1.0
    for t in times:
        at_risk = int((durations >= t).sum())
        died = int(((durations == t) & (events == 1)).sum())
        survival *= 1.0 - died / at_risk
        rows.append({"time": float(t), "at_risk": at_risk, "events": died, "survival": survival})
    return pd.DataFrame(rows)


def retention_by_band(entries: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Kaplan-Meier curve per band for entries (health_band, duration_days, churned)."""
    _require(entries, ["health_band", "duration_days", "churned"], "retention entries")
    return {
        band: kaplan_meier(group["duration_days"], group["churned"].astype(int))
        for band, group in entries.groupby("health_band")
        if len(group)
    }


def landmark_entries(history: pd.DataFrame, labels: pd.DataFrame, label: str = "churned_within_90d") -> pd.DataFrame:
    """Kaplan-Meier entries: every account on its first scored date of each month (landmarks), with
    its band, followed until churn or the end of observation (`churned`, `duration_days`).

    `history` has account_id, as_of_date, health_band, in_training_window; `labels` has account_id,
    as_of_date, `label` and days_until_churn (NULL when the account does not churn)."""
    _require(history, ["account_id", "as_of_date", "health_band"], "marts.mart_account_health_history")
    _require(labels, ["account_id", "as_of_date", "days_until_churn"], "marts.ml_account_snapshots")
    entries = history.merge(labels, on=["account_id", "as_of_date"], how="left")
    entries["as_of_date"] = pd.to_datetime(entries["as_of_date"])
    entries["month"] = entries["as_of_date"].dt.to_period("M")
    entries = entries.sort_values("as_of_date").groupby(["account_id", "month"], as_index=False).first()
    end = entries["as_of_date"].max()
    entries["churned"] = entries["days_until_churn"].notna()
    entries["duration_days"] = (
        entries["days_until_churn"].where(entries["churned"], (end - entries["as_of_date"]).dt.days).astype("float64")
    )
    return entries


def out_of_sample_churn_by_band(entries: pd.DataFrame, label: str = "churned_within_90d") -> pd.DataFrame:
    """Per band: landmark rows scored out of sample (outside the model's training window) with a
    label, and the share that churned within the horizon (`size`, `mean`)."""
    oos = entries[~entries["in_training_window"].astype(bool)]
    return oos.dropna(subset=[label]).groupby("health_band")[label].agg(["size", "mean"])

"""The score history: which snapshot dates a run scores, and how new rows join the old ones.

Each run scores the snapshot dates the history does not hold yet (all weekly snapshots on the
first run, so trends and week-over-week drops work at once) plus the current snapshot, and
replaces the history rows of exactly those dates: running twice on the same data gives the same
table. Rows of earlier dates are kept as they were scored (what the team saw then); the
hysteresis band and the 7-day score change are recomputed over the whole history, which leaves
earlier rows unchanged because both only look backwards.
"""

from __future__ import annotations

import pandas as pd

from dagster_project.health.alerts import score_change
from dagster_project.health.bands import BandEdges, apply_hysteresis


def dates_to_score(snapshot_dates, history_dates, current_date) -> list[pd.Timestamp]:
    """Snapshot dates missing from the history, plus the current snapshot date; sorted."""
    snapshots = {pd.Timestamp(d) for d in snapshot_dates}
    have = {pd.Timestamp(d) for d in history_dates}
    return sorted((snapshots - have) | {pd.Timestamp(current_date)})


def merge_history(history: pd.DataFrame, scored: pd.DataFrame, edges: BandEdges) -> pd.DataFrame:
    """`history` without the dates of `scored`, plus `scored`; health_band (hysteresis) and
    score_change_7d recomputed. Both frames have account_id, as_of_date, health_score; the
    result is sorted by account and date.
    """
    scored = scored.copy()
    scored["as_of_date"] = pd.to_datetime(scored["as_of_date"])
    if len(history):
        history = history.copy()
        history["as_of_date"] = pd.to_datetime(history["as_of_date"])
        kept = history[~history["as_of_date"].isin(set(scored["as_of_date"]))]
        frames = [kept, scored] if len(kept) else [scored]
    else:
        frames = [scored]
    merged = pd.concat(frames, ignore_index=True)
    if merged.duplicated(["account_id", "as_of_date"]).any():
        raise ValueError(
            "The score history would hold two rows for one account and date; the scored rows are duplicated."
        )
    merged = merged.sort_values(["account_id", "as_of_date"], kind="stable").reset_index(drop=True)
    merged["health_band"] = apply_hysteresis(merged, edges)
    changes = score_change(merged[["account_id", "as_of_date", "health_score"]])
    merged = (
        merged.drop(columns=["score_change_7d"], errors="ignore")
        .merge(changes[["account_id", "as_of_date", "score_change"]], on=["account_id", "as_of_date"], how="left")
        .rename(columns={"score_change": "score_change_7d"})
    )
    merged["score_change_7d"] = merged["score_change_7d"].astype("Int64")
    return merged

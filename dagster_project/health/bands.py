"""Health bands from scores, and hysteresis so accounts do not flap between bands.

Bands: red for scores 0..red_max, yellow red_max+1..yellow_max, green above (defaults 30 / 70).

Hysteresis rule: an account keeps last week's band until its score crosses the band edge by at
least `margin` points. With the defaults (edges 30 / 70, margin 3) a yellow account turns red at
27 or below and a red account turns yellow again at 34 or above; a green account turns yellow at
67 or below and a yellow one turns green at 74 or above. A score that jumps over both edges moves
straight to the far band (when it clears that edge by the margin too). An account's first row
takes the plain band of its score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BANDS = ("red", "yellow", "green")
# Worse band = lower rank.
BAND_RANK = {band: rank for rank, band in enumerate(BANDS)}


@dataclass(frozen=True)
class BandEdges:
    """Upper score of the red and yellow bands, and the hysteresis margin in points."""

    red_max: int = 30
    yellow_max: int = 70
    margin: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.red_max < self.yellow_max <= 100:
            raise ValueError(
                f"Bands need 0 <= red_max < yellow_max <= 100, got red_max={self.red_max}, "
                f"yellow_max={self.yellow_max}. Fix AHW_HEALTH_RED_MAX / AHW_HEALTH_YELLOW_MAX."
            )
        if self.margin < 0:
            raise ValueError(
                f"The hysteresis margin must be >= 0 points, got {self.margin}. Fix AHW_HEALTH_BAND_MARGIN."
            )


def _band(score: float, red_max: float, yellow_max: float) -> str:
    return "red" if score <= red_max else "yellow" if score <= yellow_max else "green"


def band_of(score, red_max: int = 30, yellow_max: int = 70):
    """'red' for score <= red_max, 'yellow' up to yellow_max, else 'green'.

    Returns a str for a scalar score, else an object array of str.
    """
    BandEdges(red_max, yellow_max, 0)  # validates the edges
    scores = np.asarray(score, dtype="float64")
    if np.isnan(scores).any():
        raise ValueError("Health scores must not be NaN.")
    bands = np.where(scores <= red_max, "red", np.where(scores <= yellow_max, "yellow", "green")).astype(object)
    return str(bands) if bands.ndim == 0 else bands


def next_band(previous: str | None, score: float, edges: BandEdges) -> str:
    """The band of `score` given the account's previous band (None for its first row)."""
    if np.isnan(score):
        raise ValueError("Health scores must not be NaN.")
    plain = _band(score, edges.red_max, edges.yellow_max)
    if previous is None or plain == previous:
        return plain
    if previous not in BAND_RANK:
        raise ValueError(f"Unknown band {previous!r}; expected one of {', '.join(BANDS)}.")
    if BAND_RANK[plain] < BAND_RANK[previous]:
        # Worsening: the score must be `margin` points below the edge it crosses.
        moved = _band(score, edges.red_max - edges.margin, edges.yellow_max - edges.margin)
        return moved if BAND_RANK[moved] < BAND_RANK[previous] else previous
    # Improving: the score must be `margin` points above the edge it crosses.
    moved = _band(score, edges.red_max + edges.margin, edges.yellow_max + edges.margin)
    return moved if BAND_RANK[moved] > BAND_RANK[previous] else previous


def apply_hysteresis(history: pd.DataFrame, edges: BandEdges, score_column: str = "health_score") -> pd.Series:
    """The hysteresis band of every row of `history` (account_id, as_of_date, `score_column`).

    Rows are walked per account in as_of_date order; the result is aligned with `history`'s index.
    """
    missing = [c for c in ("account_id", "as_of_date", score_column) if c not in history.columns]
    if missing:
        raise ValueError(
            f"The score history lacks the columns {missing}; it needs account_id, as_of_date, {score_column}."
        )
    ordered = history.sort_values(["account_id", "as_of_date"], kind="stable")
    out: dict = {}
    previous_account, previous_band = None, None
    for index, account, score in zip(ordered.index, ordered["account_id"], ordered[score_column]):
        if account != previous_account:
            previous_band = None
        previous_band = next_band(previous_band, score, edges)
        out[index] = previous_band
        previous_account = account
    return pd.Series(out, dtype=object).reindex(history.index)

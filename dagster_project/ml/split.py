"""Time-aware split of labelled snapshots into train / calibration / test periods.

A label at `as_of_date` t looks `horizon_days` ahead (t, t + horizon]. If a training row's window
overlapped a later period's dates, the model would be fitted on outcomes that happen inside that
period and its scores there would look better than they will in production. So consecutive
periods are separated by a gap of at least one horizon:

    train ... last_train | >= horizon_days | first_cal ... last_cal | >= horizon_days | first_test ...

Periods are counted in distinct labelled `as_of_date`s (weekly in the snapshot mart), gaps in
days. Random k-fold is never used: accounts drift, and the model must be judged on the future.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from dagster_project.ml.dataset import SNAPSHOT_TABLE, labelled_rows


@dataclass(frozen=True)
class SplitSpec:
    """How labelled history is split into train / calibration / test: one object, one default each.

    `test_weeks`, `calibration_weeks` and `min_train_weeks` count weekly labelled as_of_dates.
    `gap_days` separates calibration from test (None: the label horizon, the leak-free minimum).
    `calibration_gap_days` separates training from calibration: 0 by default, because an overlap
    there can only flatter the calibration period, never the test period, and with 18 months of
    history a second full gap would leave too few training weeks.
    """

    test_weeks: int = 13
    # Eight weeks of calibration leave more weeks to train on.
    calibration_weeks: int = 8
    min_train_weeks: int = 8
    gap_days: int | None = None
    calibration_gap_days: int = 0

    def __post_init__(self) -> None:
        if min(self.test_weeks, self.calibration_weeks, self.min_train_weeks) < 1:
            raise ValueError("test_weeks, calibration_weeks and min_train_weeks must each be at least 1.")
        if (self.gap_days is not None and self.gap_days < 0) or self.calibration_gap_days < 0:
            raise ValueError(
                f"gap_days and calibration_gap_days must not be negative, got {self.gap_days} and "
                f"{self.calibration_gap_days}."
            )

    def test_gap_days(self, horizon_days: int) -> int:
        """Days between the last calibration date and the first test date (at least)."""
        return horizon_days if self.gap_days is None else int(self.gap_days)

    def weeks_needed(self, horizon_days: int) -> int:
        """Weekly labelled as_of_dates the split needs: the three periods plus the two gaps.

        With weekly dates, the gap of g days before the test period skips ceil(g / 7) - 1 dates (a
        calibration date exactly g days before the first test date is allowed), and the gap of c
        days before the calibration period skips floor(c / 7) (a training date must be strictly
        more than c days earlier): 12 + 0 dates for the 90-day horizon and the default gaps.
        """
        skipped = max(math.ceil(self.test_gap_days(horizon_days) / 7) - 1, 0) + self.calibration_gap_days // 7
        return self.test_weeks + self.calibration_weeks + self.min_train_weeks + skipped


DEFAULT_SPLIT = SplitSpec()


@dataclass(frozen=True)
class TimeSplit:
    """Labelled rows of each period (censored rows are already removed; label is int 0/1)."""

    train: pd.DataFrame
    calibration: pd.DataFrame
    test: pd.DataFrame
    label: str
    gap_days: int

    def periods(self) -> dict[str, pd.DataFrame]:
        """The three periods by name, in time order."""
        return {"train": self.train, "calibration": self.calibration, "test": self.test}

    def summary(self) -> dict[str, dict[str, object]]:
        """First/last as_of_date, number of dates, rows and positives per period (JSON-friendly)."""
        out: dict[str, dict[str, object]] = {}
        for name, frame in self.periods().items():
            dates = pd.to_datetime(frame["as_of_date"])
            out[name] = {
                "first_as_of_date": dates.min().date().isoformat(),
                "last_as_of_date": dates.max().date().isoformat(),
                "n_dates": int(dates.nunique()),
                "n_rows": int(len(frame)),
                "positives": int(frame[self.label].sum()),
            }
        return out


def time_split(df: pd.DataFrame, label: str, horizon_days: int, spec: SplitSpec = DEFAULT_SPLIT) -> TimeSplit:
    """Split the labelled rows of `df` by `as_of_date` into train, calibration and test.

    test        = the last `spec.test_weeks` labelled as_of_dates;
    calibration = the last `spec.calibration_weeks` dates at least the test gap before the first
                  test date;
    train       = every date more than `spec.calibration_gap_days` before the first calibration date.
    Rows with a NULL label are dropped first (censored).
    Raises ValueError when there is too little history, saying how many weeks are needed.
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}.")
    gap = spec.test_gap_days(horizon_days)
    rows = labelled_rows(df, label, horizon_days)
    as_of = pd.to_datetime(rows["as_of_date"])
    dates = pd.DatetimeIndex(sorted(as_of.unique()))
    needed = spec.weeks_needed(horizon_days)

    def too_short(reason: str) -> ValueError:
        return ValueError(
            f"Not enough labelled history in {SNAPSHOT_TABLE} for a time-aware split ({reason}): "
            f"need at least {needed} weekly as_of_dates with a non-NULL {label!r} "
            f"({spec.min_train_weeks} train + {spec.calibration_weeks} calibration + {spec.test_weeks} test "
            f"weeks, and the gaps before calibration and test), found {len(dates)}"
            + (f" ({dates.min().date()} to {dates.max().date()})" if len(dates) else "")
            + ". Load more history, or shorten test_weeks / calibration_weeks."
        )

    if len(dates) < spec.test_weeks:
        raise too_short("not even the test period fits")
    test_dates = dates[-spec.test_weeks :]
    cal_pool = dates[dates <= test_dates[0] - pd.Timedelta(days=gap)]
    if len(cal_pool) < spec.calibration_weeks:
        raise too_short("the calibration period does not fit")
    cal_dates = cal_pool[-spec.calibration_weeks :]
    train_dates = dates[dates < cal_dates[0] - pd.Timedelta(days=spec.calibration_gap_days)]
    if len(train_dates) < spec.min_train_weeks:
        raise too_short(f"only {len(train_dates)} training weeks remain")

    return TimeSplit(
        train=rows[as_of.isin(train_dates)],
        calibration=rows[as_of.isin(cal_dates)],
        test=rows[as_of.isin(test_dates)],
        label=label,
        gap_days=gap,
    )

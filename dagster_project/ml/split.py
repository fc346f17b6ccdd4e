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

DEFAULT_TEST_WEEKS = 13
# Eight weeks of calibration leave more weeks to train on (the production recipe's setting too).
DEFAULT_CALIBRATION_WEEKS = 8
DEFAULT_MIN_TRAIN_WEEKS = 8


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


def weeks_needed(
    horizon_days: int,
    test_weeks: int = DEFAULT_TEST_WEEKS,
    calibration_weeks: int = DEFAULT_CALIBRATION_WEEKS,
    min_train_weeks: int = DEFAULT_MIN_TRAIN_WEEKS,
    gap_days: int | None = None,
    calibration_gap_days: int | None = None,
) -> int:
    """Weekly labelled as_of_dates the split needs: the three periods plus the two gaps.

    With weekly dates, the gap of g days before the test period skips ceil(g / 7) - 1 dates (a
    calibration date exactly g days before the first test date is allowed), and the gap of c days
    before the calibration period skips floor(c / 7) (a training date must be strictly more than
    c days earlier): 12 + 12 dates for the 90-day horizon.
    """
    gap = horizon_days if gap_days is None else gap_days
    cal_gap = gap if calibration_gap_days is None else calibration_gap_days
    skipped = max(math.ceil(gap / 7) - 1, 0) + max(cal_gap // 7, 0)
    return test_weeks + calibration_weeks + min_train_weeks + skipped


def time_split(
    df: pd.DataFrame,
    label: str,
    horizon_days: int,
    test_weeks: int = DEFAULT_TEST_WEEKS,
    calibration_weeks: int = DEFAULT_CALIBRATION_WEEKS,
    min_train_weeks: int = DEFAULT_MIN_TRAIN_WEEKS,
    gap_days: int | None = None,
    calibration_gap_days: int | None = None,
) -> TimeSplit:
    """Split the labelled rows of `df` by `as_of_date` into train, calibration and test.

    test        = the last `test_weeks` labelled as_of_dates;
    calibration = the last `calibration_weeks` dates at least `gap_days` before the first test date;
    train       = every date at least `gap_days` before the first calibration date.
    `gap_days` defaults to `horizon_days`; `calibration_gap_days` (between train and calibration)
    defaults to `gap_days`. A smaller one keeps more training history when it is short: an overlap
    there can only flatter the calibration period, never the test period.
    Rows with a NULL label are dropped first (censored).
    Raises ValueError when there is too little history, saying how many weeks are needed.
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}.")
    if min(test_weeks, calibration_weeks, min_train_weeks) < 1:
        raise ValueError("test_weeks, calibration_weeks and min_train_weeks must each be at least 1.")
    gap = horizon_days if gap_days is None else int(gap_days)
    if gap < 0:
        raise ValueError(f"gap_days must not be negative, got {gap_days}.")

    rows = labelled_rows(df, label, horizon_days)
    as_of = pd.to_datetime(rows["as_of_date"])
    dates = pd.DatetimeIndex(sorted(as_of.unique()))
    needed = weeks_needed(horizon_days, test_weeks, calibration_weeks, min_train_weeks, gap, calibration_gap_days)

    def too_short(reason: str) -> ValueError:
        return ValueError(
            f"Not enough labelled history in {SNAPSHOT_TABLE} for a time-aware split ({reason}): "
            f"need at least {needed} weekly as_of_dates with a non-NULL {label!r} "
            f"({min_train_weeks} train + {calibration_weeks} calibration + {test_weeks} test weeks, "
            f"and the gaps before calibration and test), found {len(dates)}"
            + (f" ({dates.min().date()} to {dates.max().date()})" if len(dates) else "")
            + ". Load more history, or shorten test_weeks / calibration_weeks."
        )

    if len(dates) < test_weeks:
        raise too_short("not even the test period fits")
    test_dates = dates[-test_weeks:]
    cal_pool = dates[dates <= test_dates[0] - pd.Timedelta(days=gap)]
    if len(cal_pool) < calibration_weeks:
        raise too_short("the calibration period does not fit")
    cal_dates = cal_pool[-calibration_weeks:]
    cal_gap = gap if calibration_gap_days is None else int(calibration_gap_days)
    train_dates = dates[dates < cal_dates[0] - pd.Timedelta(days=cal_gap)]
    if len(train_dates) < min_train_weeks:
        raise too_short(f"only {len(train_dates)} training weeks remain")

    return TimeSplit(
        train=rows[as_of.isin(train_dates)],
        calibration=rows[as_of.isin(cal_dates)],
        test=rows[as_of.isin(test_dates)],
        label=label,
        gap_days=gap,
    )

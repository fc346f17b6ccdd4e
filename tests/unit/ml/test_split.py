"""Time-aware split: one-horizon gaps between periods, no censored rows, clear error when too short."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.split import DEFAULT_SPLIT, SplitSpec, time_split

LABEL = "churned_within_90d"
CAL = DEFAULT_SPLIT.calibration_weeks


def gaps(calibration_gap_days: int | None, **periods: int) -> SplitSpec:
    """A split with a calibration gap of `calibration_gap_days` (None: one horizon, 90 days)."""
    return SplitSpec(calibration_gap_days=90 if calibration_gap_days is None else calibration_gap_days, **periods)


def weeks_needed(horizon_days: int, calibration_gap_days: int | None = None) -> int:
    gap = horizon_days if calibration_gap_days is None else calibration_gap_days
    return SplitSpec(calibration_gap_days=gap).weeks_needed(horizon_days)


def grid(n_weeks: int, horizon_days: int = 90, n_accounts: int = 5, as_dates: bool = False) -> pd.DataFrame:
    """Accounts x weekly dates with random labels, censored during the last `horizon_days`."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=n_weeks, freq="7D")
    df = pd.DataFrame(
        {
            "account_id": np.repeat([f"a{i}" for i in range(n_accounts)], n_weeks),
            "as_of_date": np.tile(dates, n_accounts),
            LABEL: pd.array(rng.integers(0, 2, n_weeks * n_accounts), dtype="Int64"),
        }
    )
    df.loc[df["as_of_date"] > dates[-1] - pd.Timedelta(days=horizon_days), LABEL] = pd.NA
    if as_dates:  # DuckDB DATE columns can arrive as datetime.date objects
        df["as_of_date"] = df["as_of_date"].dt.date
    return df


@pytest.mark.parametrize("as_dates", [False, True])
def test_periods_are_ordered_with_horizon_gaps_and_no_censored_rows(as_dates):
    df = grid(80, as_dates=as_dates)
    split = time_split(df, LABEL, horizon_days=90, spec=gaps(None))
    dates = {name: pd.to_datetime(p["as_of_date"]) for name, p in split.periods().items()}
    assert (dates["calibration"].min() - dates["train"].max()).days >= 90
    assert (dates["test"].min() - dates["calibration"].max()).days >= 90
    # The gaps are as tight as weekly dates allow: the next earlier week would overlap.
    assert (dates["calibration"].min() - dates["train"].max()).days < 90 + 7
    assert dates["test"].nunique() == 13 and dates["calibration"].nunique() == CAL
    labelled = pd.to_datetime(df.loc[df[LABEL].notna(), "as_of_date"])
    assert dates["test"].max() == labelled.max() and dates["train"].min() == labelled.min()
    for period in split.periods().values():
        assert period[LABEL].notna().all() and period[LABEL].dtype == "int64"
    summary = split.summary()
    assert summary["test"]["n_rows"] == 13 * 5 and summary["train"]["n_dates"] == 67 - 13 - CAL - 2 * 12


def test_gap_follows_the_horizon():
    split = time_split(grid(60, horizon_days=30), LABEL, horizon_days=30, spec=gaps(30))
    gap = pd.to_datetime(split.calibration["as_of_date"]).min() - pd.to_datetime(split.train["as_of_date"]).max()
    assert pd.Timedelta(days=30) <= gap < pd.Timedelta(days=37)


def test_weeks_needed_counts_periods_and_gaps():
    # 8 train + CAL calibration + 13 test + 2 gaps of 12 skipped weeks for a 90-day horizon.
    assert weeks_needed(90) == 8 + CAL + 13 + 24
    # 91 days = 13 weeks: a calibration date 91 days before the test may stay (12 skipped), a
    # training date 91 days before calibration may not (13 skipped).
    assert weeks_needed(91) == 8 + CAL + 13 + 25
    assert weeks_needed(92) == 8 + CAL + 13 + 26
    assert weeks_needed(90, calibration_gap_days=0) == 8 + CAL + 13 + 12


@pytest.mark.parametrize("gap", [0, 7, 28, 90, 91])
def test_weeks_needed_is_exact_for_every_gap(gap):
    """Exactly weeks_needed labelled dates split; one fewer does not."""
    needed = weeks_needed(90, calibration_gap_days=gap)
    n_weeks = needed + 13  # plus the censored tail
    assert len(time_split(grid(n_weeks), LABEL, 90, gaps(gap)).train["as_of_date"].unique()) == 8
    with pytest.raises(ValueError, match=rf"need at least {needed} weekly"):
        time_split(grid(n_weeks - 1), LABEL, 90, gaps(gap))


def test_exactly_enough_history_splits_and_one_week_less_raises():
    labelled_weeks = DEFAULT_SPLIT.weeks_needed(90)
    n_weeks = labelled_weeks + 13  # plus the censored tail
    assert len(time_split(grid(n_weeks), LABEL, 90).train["as_of_date"].unique()) == 8
    expected = rf"need at least {labelled_weeks} weekly as_of_dates.*found {labelled_weeks - 1}"
    with pytest.raises(ValueError, match=expected):
        time_split(grid(n_weeks - 1), LABEL, 90)


def test_too_short_history_says_what_is_needed():
    with pytest.raises(
        ValueError, match=rf"Not enough labelled history.*need at least {DEFAULT_SPLIT.weeks_needed(90)}.*found 17"
    ):
        time_split(grid(30), LABEL, 90)


def test_shorter_periods_can_be_requested():
    split = time_split(grid(50), LABEL, 90, SplitSpec(test_weeks=4, calibration_weeks=4, min_train_weeks=2))
    assert pd.to_datetime(split.test["as_of_date"]).nunique() == 4


def test_the_default_split_has_no_calibration_gap():
    assert DEFAULT_SPLIT.weeks_needed(90) == weeks_needed(90, calibration_gap_days=0)
    with pytest.raises(ValueError, match="at least 1"):
        SplitSpec(test_weeks=0)


def test_all_censored_raises():
    df = grid(20)
    df[LABEL] = pd.array([pd.NA] * len(df), dtype="Int64")
    with pytest.raises(ValueError, match="censored"):
        time_split(df, LABEL, 90)

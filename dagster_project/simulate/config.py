"""Simulation settings, the random-stream convention and the simulated time window.

Every stage draws from its own `numpy.random.Generator`, derived from the seed and a fixed stage id
(and, for stages that work in account chunks, the chunk number). Adding draws to one stage therefore
never changes the output of another, and the output only depends on the config.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.simulate.shapes import DEFAULT_SHAPE, get_shape

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
SECOND_US = 1_000_000
EPOCH = dt.date(1970, 1, 1)

# Accounts per chunk of the big per-account stages (activity). Fixed, not derived from memory, so
# that the random streams (one per chunk) and thus the output do not depend on the machine.
ACCOUNT_CHUNK = 200


@dataclass
class SimulationConfig:
    """What to simulate: how many accounts, over how many months, with which seed.

    `end_date` is the last simulated day (UTC, inclusive); None means yesterday (UTC), so a pipeline
    run today sees fresh data. With an explicit end_date the output is fully deterministic.
    `event_volume` multiplies the expected number of non-login actions per active user-day (1.0 =
    the calibrated default), for benchmarks. Health, churn, expansion, users, billing, support and
    the ground truth are simulated before the events and stay exactly the same; only the events
    table (bigger, and drawn anew) changes.
    With `last_day_file`, the events received on the last day (including late ones that occurred
    earlier) go to their own file, `events/received-<end_date>.parquet`, like a daily delivery.
    `shape` picks which raw tables the company brings and how it churns (`shapes.SHAPES`); the
    default, all_sources, is the full subscription business.
    The simulated CS team (cs_team.py) works its own alerts; `playbook_effect` scales the health bump
    of every completed playbook (0: the playbooks do nothing, and every other table is what a company
    without the team would write). Its holdout uses the warehouse's settings by default (the holdout
    share and salt, and the churn horizon as the block length), so both put an account-block in the
    same group.
    """

    n_accounts: int = 500
    months: int = 18
    seed: int = 42
    end_date: dt.date | None = None
    event_volume: float = 1.0
    last_day_file: bool = False
    shape: str = DEFAULT_SHAPE
    playbook_effect: float = 1.0
    holdout_share: float = field(default_factory=lambda: get_settings().holdout_share)
    holdout_salt: str = field(default_factory=lambda: get_settings().holdout_salt)
    horizon_days: int = field(default_factory=lambda: get_settings().churn_horizon_days)

    def __post_init__(self) -> None:
        get_shape(self.shape)  # fails loudly on an unknown shape
        if self.n_accounts < 1:
            raise ValueError(f"n_accounts must be >= 1, got {self.n_accounts}")
        if not 1 <= self.months <= 120:
            raise ValueError(f"months must be between 1 and 120, got {self.months}")
        if not 0.1 <= self.event_volume <= 20:
            raise ValueError(f"event_volume must be between 0.1 and 20, got {self.event_volume}")
        if not 0 <= self.playbook_effect <= 10:
            raise ValueError(f"playbook_effect must be between 0 and 10, got {self.playbook_effect}")
        if not 0 <= self.holdout_share <= 0.5:
            raise ValueError(f"holdout_share must be between 0 and 0.5, got {self.holdout_share}")
        if self.horizon_days < 1:
            raise ValueError(f"horizon_days must be >= 1, got {self.horizon_days}")


class Stage(IntEnum):
    """Stable ids of the random streams; never renumber (it would change every output)."""

    ACCOUNTS = 1
    HEALTH = 2
    LIFECYCLE = 3
    USERS = 4
    ACTIVITY = 5
    BILLING = 6
    TICKETS = 7
    NPS = 8
    TEXT = 9
    FAULTS = 10
    DROPOUT = 11
    PURCHASES = 12
    CS_TEAM = 13


def stage_rng(seed: int, stage: Stage, *extra: int) -> np.random.Generator:
    """The random stream of one stage (and optionally one chunk of it)."""
    return np.random.default_rng([int(seed), int(stage), *map(int, extra)])


@dataclass(frozen=True)
class Window:
    """The simulated period: whole days from `start_date` (a Monday) to `end_date` inclusive.

    Internally days are integers counted from `start_date` (day 0) and weeks are `day // 7`, so
    week w starts on a Monday. Timestamps are int64 microseconds since the Unix epoch (UTC).
    """

    start_date: dt.date
    end_date: dt.date

    @property
    def n_days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    @property
    def n_weeks(self) -> int:
        """Weeks that contain at least one simulated day (the last one may be partial)."""
        return -(-self.n_days // 7)

    @property
    def start_day_epoch(self) -> int:
        """Days from 1970-01-01 to day 0."""
        return (self.start_date - EPOCH).days

    @property
    def start_us(self) -> int:
        return self.start_day_epoch * DAY_US

    @property
    def cutoff_us(self) -> int:
        """The first instant after the data: midnight after end_date. Nothing is at or after it."""
        return (self.start_day_epoch + self.n_days) * DAY_US

    def day_to_us(self, day: np.ndarray | int) -> np.ndarray:
        """Midnight UTC of simulation day(s) as epoch microseconds."""
        return (np.asarray(day, dtype=np.int64) + self.start_day_epoch) * DAY_US

    def us_to_day(self, ts_us: np.ndarray) -> np.ndarray:
        """Simulation day (floor) of epoch-microsecond timestamps."""
        return np.floor_divide(np.asarray(ts_us, dtype=np.int64), DAY_US) - self.start_day_epoch

    def week_start_dates(self) -> np.ndarray:
        """Monday of every simulated week, as numpy datetime64[D]."""
        return np.datetime64(self.start_date, "D") + 7 * np.arange(self.n_weeks)


def subtract_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` earlier, clipped to the month's length."""
    y, m = divmod(day.year * 12 + (day.month - 1) - months, 12)
    m += 1
    next_month = dt.date(y + (m == 12), m % 12 + 1, 1)
    return dt.date(y, m, min(day.day, (next_month - dt.timedelta(days=1)).day))


def make_window(config: SimulationConfig) -> Window:
    """The simulated window: `months` back from end_date, starting on the Monday on or before."""
    end = config.end_date
    if end is None:
        end = clock.yesterday()
    raw_start = subtract_months(end, config.months) + dt.timedelta(days=1)
    start = raw_start - dt.timedelta(days=raw_start.weekday())  # weeks start on Mondays
    return Window(start_date=start, end_date=end)

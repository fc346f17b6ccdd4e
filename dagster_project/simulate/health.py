"""Latent account health and the churn model that reads it.

Health lives in logit-like units (around +1 for a typical healthy account, below 0 is in trouble).
Per account and week it follows a mean-reverting random walk towards the account's own baseline,
starts below the baseline for new accounts (onboarding) and suffers shocks (champion leaves, failed
integration, outage) that drop it for weeks before it recovers.

Everything observable (usage, tickets, NPS, late payments) is driven by health, and churn decisions
are a logistic function of health, taken weeks before the renewal they end at. Health is persistent
(a deviation from baseline halves in ~13 weeks), so the observable decline comes weeks before the
churn it predicts. The same `ChurnModel` is used to simulate churn and to compute the oracle
probabilities in `oracle.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.config import Window

if TYPE_CHECKING:
    from dagster_project.simulate.cs_team import CSTeam

SHOCK_KINDS = ("champion_left", "integration_failed", "outage")


@dataclass(frozen=True)
class HealthModel:
    """Dynamics: h' = h + reversion * (baseline - h) + noise_sd * N(0,1) - shock."""

    reversion: float = 0.05
    noise_sd: float = 0.2
    # Per shock kind: weekly rate per account (outage: P(an account is hit) in an outage week),
    # mean and sd of the drop in health.
    shock_rate: tuple[float, float, float] = (0.0035, 0.004, 0.25)
    shock_mean: tuple[float, float, float] = (1.6, 1.0, 0.25)
    shock_sd: tuple[float, float, float] = (0.4, 0.3, 0.1)
    outage_week_prob: float = 0.08  # share of weeks with a product-wide outage

    @property
    def stationary_sd(self) -> float:
        return self.noise_sd / np.sqrt(1 - (1 - self.reversion) ** 2)

    def mean_shock_rates(self) -> np.ndarray:
        """Average weekly probability of each shock kind for one account (used by the oracle)."""
        c, i, o = self.shock_rate
        return np.array([c, i, o * self.outage_week_prob])


@dataclass(frozen=True)
class ChurnModel:
    """Churn as a function of health, the renewal calendar and tenure.

    - Renewal decision: `decision_lead_weeks` before a renewal (end of a paid period) the customer
      decides not to renew with P = sigmoid(renewal intercept - renewal_slope * h) using its health
      then; it stays a customer until the renewal date, then churns. This lead is the lag between
      the signals and the churn they announce.
    - Mid-term termination, any week once paying: P = sigmoid(midterm intercept - midterm_slope * h).
    - Payment failure: a renewal invoice fails for good with P = sigmoid(failure_intercept -
      failure_slope * h); the account is canceled for non-payment `dunning_days` after the renewal.
    """

    renewal_slope: float = 3.5
    renewal_intercept: tuple[float, float] = (-6.6, -3.5)  # (monthly, annual)
    segment_shift: tuple[float, float, float] = (0.15, 0.0, -0.45)  # smb, mid-market, enterprise
    early_renewal_shift: float = 0.7  # first 3 monthly / first annual renewal: still deciding
    early_renewals: tuple[int, int] = (3, 1)
    decision_lead_weeks: tuple[int, int] = (2, 6)  # (monthly, annual): notice before the renewal
    midterm_slope: float = 1.0
    midterm_intercept: tuple[float, float] = (-8.2, -7.4)
    onboarding_protection_days: int = 28  # no mid-term termination in the first weeks
    failure_slope: float = 1.0
    failure_intercept: float = -5.6
    dunning_days: tuple[int, int] = (33, 60)  # from renewal to cancellation (monthly, annual)

    @staticmethod
    def prob(intercept: np.ndarray, slope: float, h: np.ndarray) -> np.ndarray:
        """sigmoid(intercept - slope * h); a NaN intercept (not applicable) gives 0."""
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(slope * h - intercept))
        return np.where(np.isnan(p), 0.0, p)


@dataclass(frozen=True)
class DropoutModel:
    """Churn without a contract (usage and purchase products): nothing to renew or cancel.

    Every week an account may leave the product for good with P = sigmoid(intercept + segment
    shift - slope * h), from its first week on; it then stops using the product (and buying). No
    notice is given: the warning signs are the falling health that drives usage and purchases down.
    In the simulation it works like a mid-term termination, so `churn_model()` gives the
    `ChurnModel` that `simulate_lifecycle` and the oracle read it through.
    """

    slope: float = 1.5
    intercept: float = -5.3
    segment_shift: tuple[float, float, float] = (0.15, 0.0, -0.45)  # smb, mid-market, enterprise

    def churn_model(self) -> ChurnModel:
        return ChurnModel(midterm_slope=self.slope)


@dataclass
class HealthPaths:
    """Latent health per account and week, and the shocks that hit it."""

    h: np.ndarray  # (n, n_weeks): health at the start of each week, NaN before the account exists
    start_week: np.ndarray  # first week of each account inside the window
    shock_acct: np.ndarray
    shock_week: np.ndarray
    shock_day: np.ndarray  # simulation day of the shock
    shock_kind: np.ndarray  # index into SHOCK_KINDS
    outage_days: np.ndarray  # simulation days of product-wide outages


def simulate_health(
    acc: Accounts, window: Window, model: HealthModel, rng: np.random.Generator, team: CSTeam | None = None
) -> HealthPaths:
    """Simulate health week by week for all accounts at once (the loop is over weeks only).

    With a `team` (cs_team.py), the CS team sees each week's health and the bumps of the playbooks it
    completes that week are added to the health of the next; it draws from its own random stream.
    """
    n, n_weeks = acc.n, window.n_weeks
    start_week = np.maximum(acc.created_day, 0) // 7

    # Existing accounts start from their long-run distribution; a young one is still onboarding.
    tenure_weeks = np.maximum(-acc.created_day, 0) / 7.0
    remaining_gap = acc.onboarding_gap * (1 - model.reversion) ** tenure_weeks
    h0 = acc.health_baseline - remaining_gap
    h0 = np.where(acc.existing, h0 + rng.normal(0, model.stationary_sd, n), h0)

    outage_weeks = rng.random(n_weeks) < model.outage_week_prob
    outage_day = 7 * np.arange(n_weeks) + rng.integers(0, 5, n_weeks)  # outages happen on weekdays
    outage_day = np.minimum(outage_day, window.n_days - 1)

    rate_c, rate_i, rate_o = model.shock_rate
    h = np.full((n, n_weeks), np.nan)
    cur = h0.copy()
    shocks: list[tuple[np.ndarray, ...]] = []
    for t in range(n_weeks):
        cur = np.where(start_week == t, h0, cur)  # an account's path begins in its start week
        started = start_week <= t
        h[:, t] = np.where(started, cur, np.nan)

        u = rng.random(n)
        kind = np.full(n, -1)
        kind[u < rate_c + rate_i] = 1
        kind[u < rate_c] = 0
        if outage_weeks[t]:
            kind[(kind < 0) & (rng.random(n) < rate_o)] = 2
        kind[~started] = -1
        hit = kind >= 0
        drop = np.zeros(n)
        if hit.any():
            k = kind[hit]
            size = np.array(model.shock_mean)[k] + np.array(model.shock_sd)[k] * rng.normal(size=k.size)
            drop[hit] = np.maximum(size, 0)
            day = np.where(k == 2, outage_day[t], 7 * t + rng.integers(0, 7, k.size))
            idx = np.flatnonzero(hit)
            day = np.maximum(day, acc.created_day[idx])  # a new account cannot be hit before it exists
            shocks.append((idx, np.full(idx.size, t), day, k))
        eps = rng.normal(size=n)
        cur = cur + model.reversion * (acc.health_baseline - cur) + model.noise_sd * eps - drop
        if team is not None:
            cur = cur + team.step(t, h[:, t], kind)

    if shocks:
        cat = [np.concatenate(parts) for parts in zip(*shocks)]
    else:
        cat = [np.array([], dtype=np.int64)] * 4
    keep = cat[2] < window.n_days
    return HealthPaths(
        h=h,
        start_week=start_week,
        shock_acct=cat[0][keep],
        shock_week=cat[1][keep],
        shock_day=cat[2][keep],
        shock_kind=cat[3][keep],
        outage_days=outage_day[outage_weeks],
    )

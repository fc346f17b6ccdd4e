"""Ground truth: per account-week latent health, weekly churn hazard and the true 90-day churn probability.

The 90-day probability is what an oracle that knows the latent health at the start of the week (but
not the future) would predict. It is computed with the simulator's own model by propagating the
distribution of the health deviation d = h - baseline over the next 13 weeks on a grid (the AR(1)
dynamics plus the shock mixture give a transition matrix shared by all accounts), removing the
probability mass that churns each week according to the renewal calendar. That is exact up to the
grid discretisation and the outage rate being averaged (outage weeks are not known in advance).

What "churn" means follows the shape (docs/simulator.md): the end of the subscription for contract
shapes (`ground_truth`); for companies without contracts (`dropout_ground_truth`), no purchase in
the horizon (dormancy, purchases shape) or the silence a dropout starts (activity, usage shape).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.config import Window
from dagster_project.simulate.health import ChurnModel, HealthModel, HealthPaths
from dagster_project.simulate.lifecycle import HORIZON_WEEKS, Lifecycle, Schedule
from dagster_project.simulate.purchases import DAY_WEIGHT, PurchaseModel, PurchaseTraits

GRID = np.linspace(-5.5, 2.5, 45)  # health deviation from the account's baseline
DTYPE = np.float32  # probabilities on the grid: float32 halves the memory traffic, ample precision
BATCH = 25_000


def _transition_probs(mean: np.ndarray, health: HealthModel) -> np.ndarray:
    """P(next deviation falls in each grid cell) for deviations whose no-shock mean is `mean` (..., G)."""
    edges = np.concatenate([[-np.inf], (GRID[1:] + GRID[:-1]) / 2, [np.inf]])
    rates = health.mean_shock_rates()
    comps = [(1 - rates.sum(), 0.0, health.noise_sd)] + [
        (r, m, np.hypot(health.noise_sd, s)) for r, m, s in zip(rates, health.shock_mean, health.shock_sd)
    ]
    out = 0.0
    for weight, drop, sd in comps:
        cdf = ndtr((edges - (mean[..., None] - drop)) / sd)
        out = out + weight * np.diff(cdf, axis=-1)
    return out


def ground_truth(
    acc: Accounts,
    window: Window,
    paths: HealthPaths,
    sched: Schedule,
    life: Lifecycle,
    health: HealthModel,
    churn: ChurnModel,
    horizon_days: int = 90,
    playbook_delta: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Rows of the ground-truth table: one per account-week in which the account is a customer.

    `playbook_delta` (n, n_weeks) is the health bump a playbook would bring each account-week; the
    uplift is P(churn within the horizon | h) - P(churn within the horizon | h + delta).
    """
    acct, week = np.nonzero(life.alive)
    h0 = paths.h[acct, week]
    p90 = churn_probability(acct, week, h0, acc, sched, health, churn, horizon_days)
    # Accounts whose churn is already decided (notice given, or canceled for non-payment): known.
    decided = life.committed_at_start[acct, week]
    delta = _row_delta(playbook_delta, acct, week, ~decided)
    uplift = _uplift(p90, acct, week, h0, delta, acc, sched, health, churn, horizon_days)
    p90 = np.where(decided, (life.churn_day[acct] - 7 * week < horizon_days).astype(float), p90)
    return {
        "acct": acct,
        "week": week,
        "latent_health": h0,
        "churn_hazard": life.hazard[acct, week],
        "true_churn_prob_90d": np.clip(p90, 0.0, 1.0),
        "playbook_effect_health": delta,
        "true_uplift_90d": uplift,
    }


def dropout_ground_truth(
    acc: Accounts,
    window: Window,
    paths: HealthPaths,
    sched: Schedule,
    life: Lifecycle,
    health: HealthModel,
    churn: ChurnModel,
    horizon_days: int = 90,
    silence_days: int = 0,
    purchases: tuple[PurchaseTraits, PurchaseModel] | None = None,
    playbook_delta: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Ground truth of a company without contracts, whose accounts drop out (`DropoutModel`).

    One row per account-week from the account's first week to the end of the data, also after it
    dropped out: the pipeline keeps a silent account on its grid until the silence (activity) or
    the dormancy makes it churned, and for those weeks the label is certain (probability 1).

    - With `purchases` (dormancy): P(no purchase in the `horizon_days` days from the week's start),
      exact up to the grid, like the contractual oracle.
    - Without (activity, silence of `silence_days`): the churn date is the last event plus the
      silence, so the label counts dropouts in the first `horizon_days - silence_days` days. Not
      modelled: the hours to days between the last event and the dropout, and silences of accounts
      that have not dropped out (rare: see docs/simulator.md).

    `playbook_delta` as in `ground_truth` (no uplift once dropped out).
    """
    started = np.arange(window.n_weeks)[None, :] >= paths.start_week[:, None]
    acct, week = np.nonzero(started)
    h0 = paths.h[acct, week]
    gone = life.churn_day[acct] < 7 * week
    p = np.ones(acct.size)
    rows = np.flatnonzero(~gone)
    shape = dict(silence_days=silence_days, purchases=purchases)
    p[rows] = churn_probability(acct[rows], week[rows], h0[rows], acc, sched, health, churn, horizon_days, **shape)
    delta = _row_delta(playbook_delta, acct, week, ~gone)
    uplift = _uplift(p, acct, week, h0, delta, acc, sched, health, churn, horizon_days, **shape)
    return {
        "acct": acct,
        "week": week,
        "latent_health": h0,
        "churn_hazard": np.where(gone, 0.0, life.hazard[acct, week]),
        "true_churn_prob_90d": np.clip(p, 0.0, 1.0),
        "playbook_effect_health": delta,
        "true_uplift_90d": uplift,
    }


def churn_probability(
    acct: np.ndarray,
    week: np.ndarray,
    h0: np.ndarray,
    acc: Accounts,
    sched: Schedule,
    health: HealthModel,
    churn: ChurnModel,
    horizon_days: int,
    silence_days: int = 0,
    purchases: tuple[PurchaseTraits, PurchaseModel] | None = None,
) -> np.ndarray:
    """P(the shape's churn label within `horizon_days` of the week's start | latent health h0 then),
    for account-weeks whose churn is not decided yet; the labels as in `dropout_ground_truth`."""
    kernel = _transition_probs((1 - health.reversion) * GRID, health).astype(DTYPE)  # (G, G)
    p = np.empty(acct.size)
    for lo in range(0, acct.size, BATCH):
        sl = slice(lo, lo + BATCH)
        if purchases is None:
            p[sl] = _churn_within(
                acct[sl], week[sl], h0[sl], acc, sched, health, churn, kernel, horizon_days - silence_days
            )
        else:
            p[sl] = _no_purchase_within(acct[sl], week[sl], h0[sl], acc, sched, churn, kernel, horizon_days, *purchases)
    return p


def playbook_churn_effect(
    acct: np.ndarray,
    week: np.ndarray,
    delta: np.ndarray,
    horizon_days: np.ndarray,
    acc: Accounts,
    paths: HealthPaths,
    sched: Schedule,
    life: Lifecycle,
    health: HealthModel,
    churn: ChurnModel,
    silence_days: int = 0,
    purchases: tuple[PurchaseTraits, PurchaseModel] | None = None,
) -> np.ndarray:
    """P(churn label within the horizon | health without the bump) - P(... | health with it).

    Evaluated at `week`, the first week whose starting health holds the bump `delta`, over the
    `horizon_days` (per row) from that week's start; 0 where the bump is 0, the horizon has passed,
    or the account's churn is already decided (or it is gone) by then.
    """
    out = np.zeros(acct.size)
    inside = week < paths.h.shape[1]
    wk = np.minimum(week, paths.h.shape[1] - 1)
    open_ = inside & life.alive[acct, wk] & ~life.committed_at_start[acct, wk]
    todo = open_ & (delta > 0) & (horizon_days - silence_days > 0)
    shape = dict(silence_days=silence_days, purchases=purchases)
    for horizon in np.unique(horizon_days[todo]):
        r = np.flatnonzero(todo & (horizon_days == horizon))
        h = paths.h[acct[r], week[r]]
        args = (acc, sched, health, churn, int(horizon))
        without = churn_probability(acct[r], week[r], h - delta[r], *args, **shape)
        with_ = churn_probability(acct[r], week[r], h, *args, **shape)
        out[r] = np.clip(without, 0, 1) - np.clip(with_, 0, 1)
    return out


def _row_delta(playbook_delta: np.ndarray | None, acct: np.ndarray, week: np.ndarray, open_: np.ndarray) -> np.ndarray:
    """The playbook bump of each row; 0 where the outcome is already settled."""
    if playbook_delta is None:
        return np.zeros(acct.size)
    return np.where(open_, playbook_delta[acct, week], 0.0)


def _uplift(
    p: np.ndarray,
    acct: np.ndarray,
    week: np.ndarray,
    h0: np.ndarray,
    delta: np.ndarray,
    acc: Accounts,
    sched: Schedule,
    health: HealthModel,
    churn: ChurnModel,
    horizon_days: int,
    **shape,
) -> np.ndarray:
    """P(label | h0) - P(label | h0 + delta) for the rows with a bump (the others: 0)."""
    uplift = np.zeros(acct.size)
    r = np.flatnonzero(delta > 0)
    if r.size:
        shifted = churn_probability(
            acct[r], week[r], h0[r] + delta[r], acc, sched, health, churn, horizon_days, **shape
        )
        uplift[r] = np.clip(p[r], 0, 1) - np.clip(shifted, 0, 1)
    return uplift


def _no_purchase_within(
    acct: np.ndarray,
    week: np.ndarray,
    h0: np.ndarray,
    acc: Accounts,
    sched: Schedule,
    churn: ChurnModel,
    kernel: np.ndarray,
    horizon_days: int,
    traits: PurchaseTraits,
    model: PurchaseModel,
) -> np.ndarray:
    """P(no purchase in the horizon) for account-weeks not yet dropped out, mirroring the simulation.

    Mass on the grid = P(still a customer, no purchase so far, health there). Each week the account
    drops out on a uniform day with the dropout hazard (after that it never buys: the no-purchase
    outcome is settled if nothing was bought that week before the day), or stays and buys nothing
    with probability exp(-rate x the week's day weights inside the horizon).
    """
    n_steps = -(-horizon_days // 7)
    base = acc.health_baseline[acct]
    total = np.zeros(acct.size)
    mass = np.ones((acct.size, 1))
    for j in range(n_steps):
        exact = j == 0
        h = h0[:, None] if exact else base[:, None] + GRID[None, :]
        weight = DAY_WEIGHT * (7 * j + np.arange(7) < horizon_days)  # days of this week inside the horizon
        before = np.cumsum(weight) - weight  # weight of the days before each possible dropout day
        rate = traits.weekly_rate(acct[:, None], h, model)
        p_drop = churn.prob(sched.midterm_intercept[acct, week + j][:, None], churn.midterm_slope, h)
        quiet_until_drop = np.mean([np.exp(-rate * b) for b in before], axis=0)
        total += (mass * p_drop * quiet_until_drop).sum(axis=1)
        survive = mass * (1 - p_drop) * np.exp(-rate * weight.sum())
        if j == n_steps - 1:
            total += survive.sum(axis=1)
        else:
            mass = _next_week(survive, exact, h0 - base, kernel)
    return total


def _churn_within(
    acct: np.ndarray,
    week: np.ndarray,
    h0: np.ndarray,
    acc: Accounts,
    sched: Schedule,
    health: HealthModel,
    churn: ChurnModel,
    kernel: np.ndarray,
    horizon_days: int,
) -> np.ndarray:
    """P(churn date within the horizon) for undecided account-weeks, mirroring `simulate_lifecycle`.

    Step j works on the health distribution of week `week + j`: mid-term termination that week, the
    renewal decided that week (churn at its renewal date), and failure of that week's renewal invoice.
    """
    n_steps = -(-horizon_days // 7)
    assert n_steps + max(churn.decision_lead_weeks) <= HORIZON_WEEKS
    base = acc.health_baseline[acct]
    dunning = sched.dunning_days[acct]
    total = np.zeros(acct.size)
    mass = np.ones((acct.size, 1))
    # sigmoid(c - s * h) = 1 / (1 + exp(s * h - c)), and on the grid h = base + g, so the exponential
    # factorises into a per-row and a per-grid-point term: no exp over the (rows x grid) matrix.
    grid_factor = {
        s: np.exp(s * GRID).astype(DTYPE)[None, :]
        for s in (churn.midterm_slope, churn.renewal_slope, churn.failure_slope)
    }
    for j in range(n_steps):
        wk = week + j
        exact = j == 0  # step 0 knows the health exactly; later steps work on the grid
        h_row = h0 if exact else base

        def prob(intercept: np.ndarray | float, slope: float, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                row = np.exp(slope * h_row[rows] - intercept)  # noqa: B023 (called in this iteration)
            row = np.where(np.isnan(row), np.inf, row).astype(DTYPE)[:, None]  # NaN intercept: P = 0
            return 1 / (1 + (row if exact else row * grid_factor[slope]))  # noqa: B023

        mid_frac = np.clip((horizon_days - 7 * j) / 7, 0, 1)
        p_mid = prob(sched.midterm_intercept[acct, wk], churn.midterm_slope)
        stay = 1 - p_mid
        gone = p_mid * DTYPE(mid_frac)
        # The renewal decided this week (churn at its date) and this week's renewal invoice; both are
        # sparse, so they are only evaluated for the rows that have them.
        r = sched.decision_for[acct, wk]
        rows = np.flatnonzero(r >= 0)
        if rows.size:
            rr = r[rows]
            counts = sched.anniv_day[acct[rows], rr] - 7 * week[rows] < horizon_days
            p_ren = prob(sched.renewal_intercept[acct[rows], rr], churn.renewal_slope, rows)
            gone[rows] += stay[rows] * p_ren * counts[:, None].astype(DTYPE)
            stay[rows] *= 1 - p_ren
        rows = np.flatnonzero(sched.renewal[acct, wk])
        if rows.size:
            counts = sched.anniv_day[acct[rows], wk[rows]] + dunning[rows] - 7 * week[rows] < horizon_days
            p_fail = prob(churn.failure_intercept, churn.failure_slope, rows)
            gone[rows] += stay[rows] * p_fail * counts[:, None].astype(DTYPE)
            stay[rows] *= 1 - p_fail
        total += (mass * gone).sum(axis=1, dtype=np.float64)
        mass = _next_week(mass * stay, exact, h0 - base, kernel)
    return total


def _next_week(survive: np.ndarray, exact: bool, deviation: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The surviving probability mass one week later, on the grid.

    From the exact deviation (the first week): interpolate between the kernel rows of the two
    nearest grid points (keeps the mean exact, adds a variance far below one week's noise).
    """
    if not exact:
        return survive @ kernel
    pos = np.clip(np.interp(deviation, GRID, np.arange(GRID.size)), 0, GRID.size - 1)
    lo = np.minimum(pos.astype(np.int64), GRID.size - 2)
    w_hi = (pos - lo).astype(DTYPE)[:, None]
    return survive * (kernel[lo] * (1 - w_hi) + kernel[lo + 1] * w_hi)

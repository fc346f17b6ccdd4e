"""The commercial life of each account: renewals, churn, payment failures, expansion, contraction.

The renewal calendar is deterministic (monthly anniversaries of the first paid day). Each week, for
all accounts at once, the churn model decides who will not renew (decided weeks ahead of the
renewal, leaving at its date), who terminates mid-term, whose renewal invoice fails for good
(canceled after dunning), who adds seats or upgrades (healthy, well-used accounts) and who shrinks at
renewal (unhealthy ones). The weekly hazards are recorded as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.calendar import add_months, months_between
from dagster_project.simulate.config import Window
from dagster_project.simulate.health import ChurnModel, DropoutModel, HealthPaths

HORIZON_WEEKS = 20  # the calendar extends this far past the window: 90-day oracle + decision lead
NO_DAY = np.iinfo(np.int64).max // 4  # "never" as a day number

CHURN_NONE, CHURN_RENEWAL, CHURN_MIDTERM, CHURN_NONPAYMENT = 0, 1, 2, 3  # a dropout counts as mid-term
CHARGE_FIRST, CHARGE_RENEWAL, CHARGE_PRORATION = 0, 1, 2
CHANGE_EXPANSION, CHANGE_UPGRADE, CHANGE_CONTRACTION, CHANGE_DOWNGRADE = 0, 1, 2, 3


@dataclass
class Schedule:
    """Per account and week (window weeks + HORIZON_WEEKS): the contract calendar and hazard intercepts."""

    anniv_day: np.ndarray  # day of a monthly anniversary of the first paid day in that week, -1 if none
    anniv_k: np.ndarray  # months since the first paid day at that anniversary
    renewal: np.ndarray  # bool: the anniversary ends a paid period (monthly: all; annual: every 12th)
    renewal_intercept: np.ndarray  # NaN where there is no renewal
    decision_for: np.ndarray  # week of the renewal decided in this week, -1 if none
    midterm_intercept: np.ndarray  # NaN where mid-term termination is not possible
    dunning_days: np.ndarray  # per account


def contract_schedule(acc: Accounts, window: Window, model: ChurnModel) -> Schedule:
    """The renewal calendar of every account and the churn intercepts that apply each week."""
    n, n_ext = acc.n, window.n_weeks + HORIZON_WEEKS
    start = np.datetime64(window.start_date, "D")
    anchor = start + acc.anchor_day
    first_k = np.maximum(months_between(anchor, start - 1) + 1, 1)  # first anniversary on/after day 0
    n_k = n_ext * 7 // 28 + 2
    k = first_k[:, None] + np.arange(n_k)[None, :]
    day = (add_months(np.repeat(anchor[:, None], n_k, axis=1), k) - start).astype(np.int64)
    ok = (day >= 0) & (day < 7 * n_ext)

    anniv_day = np.full((n, n_ext), -1, dtype=np.int64)
    anniv_k = np.zeros((n, n_ext), dtype=np.int64)
    rows = np.repeat(np.arange(n)[:, None], n_k, axis=1)[ok]
    anniv_day[rows, day[ok] // 7] = day[ok]
    anniv_k[rows, day[ok] // 7] = k[ok]

    interval = acc.interval_months[:, None]
    annual = (acc.interval_months == 12).astype(int)
    renewal = (anniv_day >= 0) & (anniv_k % interval == 0)
    renewal_number = anniv_k // interval
    early = renewal_number <= np.array(model.early_renewals)[annual][:, None]
    intercept = (np.array(model.renewal_intercept)[annual] + np.array(model.segment_shift)[acc.segment])[
        :, None
    ] + model.early_renewal_shift * early
    renewal_intercept = np.where(renewal, intercept, np.nan)

    # The renewal in week r is decided in week r - lead (or in the account's first window week, if later).
    lead = np.array(model.decision_lead_weeks)[annual]
    start_week = np.maximum(acc.created_day, 0) // 7
    ri, rw = np.nonzero(renewal)
    dw = np.maximum(rw - lead[ri], start_week[ri])
    decision_for = np.full((n, n_ext), -1, dtype=np.int64)
    decision_for[ri, dw] = rw  # at most one per week: renewals are >= 4 weeks apart and leads shorter

    # Mid-term termination only once paying and past the first weeks.
    first_week = (np.maximum(acc.anchor_day, acc.created_day + model.onboarding_protection_days)) // 7 + 1
    weeks = np.arange(n_ext)[None, :]
    midterm_intercept = np.where(
        weeks >= first_week[:, None], np.array(model.midterm_intercept)[annual][:, None], np.nan
    )
    return Schedule(
        anniv_day=anniv_day,
        anniv_k=anniv_k,
        renewal=renewal,
        renewal_intercept=renewal_intercept,
        decision_for=decision_for,
        midterm_intercept=midterm_intercept,
        dunning_days=np.array(model.dunning_days)[annual],
    )


def dropout_schedule(acc: Accounts, window: Window, model: DropoutModel) -> Schedule:
    """A calendar without contracts: no renewals or anniversaries, a dropout hazard from the first week."""
    n, n_ext = acc.n, window.n_weeks + HORIZON_WEEKS
    start_week = np.maximum(acc.created_day, 0) // 7
    intercept = model.intercept + np.array(model.segment_shift)[acc.segment]
    weeks = np.arange(n_ext)[None, :]
    none = np.full((n, n_ext), -1, dtype=np.int64)
    return Schedule(
        anniv_day=none,
        anniv_k=np.zeros((n, n_ext), dtype=np.int64),
        renewal=np.zeros((n, n_ext), dtype=bool),
        renewal_intercept=np.full((n, n_ext), np.nan),
        decision_for=none.copy(),
        midterm_intercept=np.where(weeks >= start_week[:, None], intercept[:, None], np.nan),
        dunning_days=np.zeros(n, dtype=np.int64),
    )


@dataclass
class Lifecycle:
    """What happened commercially. Days are simulation days; NO_DAY means never."""

    alive: np.ndarray  # (n, n_weeks) bool: a customer for at least part of the week
    hazard: np.ndarray  # (n, n_weeks) true P(churn during the week | state at its start), NaN if not alive
    committed_at_start: np.ndarray  # (n, n_weeks) bool: churn already decided (non-renewal or non-payment)
    seats_w: np.ndarray  # (n, n_weeks) seats at the start of the week
    plan_w: np.ndarray  # (n, n_weeks)
    churn_day: np.ndarray  # may lie after the window: decided but not yet visible in the data
    churn_kind: np.ndarray
    # Contract changes (seats/plan), one entry each.
    change_acct: np.ndarray
    change_day: np.ndarray
    change_kind: np.ndarray
    change_plan: np.ndarray
    change_seats: np.ndarray
    change_mrr: np.ndarray
    # Charges that become invoices.
    charge_acct: np.ndarray
    charge_day: np.ndarray
    charge_kind: np.ndarray
    charge_amount: np.ndarray
    charge_failed: np.ndarray  # never paid (the account is canceled for non-payment)

    def visible_churn_day(self, window: Window) -> np.ndarray:
        """Churn day if it falls inside the window, else NO_DAY."""
        return np.where(self.churn_day < window.n_days, self.churn_day, NO_DAY)


def simulate_lifecycle(
    acc: Accounts, window: Window, paths: HealthPaths, sched: Schedule, model: ChurnModel, rng: np.random.Generator
) -> Lifecycle:
    """Run renewals, churn, payment failures, expansion and contraction week by week."""
    n, n_weeks = acc.n, window.n_weeks
    plan, seats = acc.plan.copy(), acc.seats.copy()
    churn_day = np.full(n, NO_DAY)  # set as soon as churn is decided; the account stays until then
    churn_kind = np.zeros(n, dtype=np.int64)
    alive = np.zeros((n, n_weeks), dtype=bool)
    hazard = np.full((n, n_weeks), np.nan)
    committed_at_start = np.zeros((n, n_weeks), dtype=bool)
    seats_w = np.zeros((n, n_weeks), dtype=np.int64)
    plan_w = np.zeros((n, n_weeks), dtype=np.int64)
    changes: list[tuple[np.ndarray, ...]] = []
    charges: list[tuple[np.ndarray, ...]] = []
    annual = acc.interval_months == 12
    rows = np.arange(n)

    for t in range(n_weeks):
        h = paths.h[:, t]
        live = (paths.start_week <= t) & (churn_day >= 7 * t)
        committed = live & (churn_day < NO_DAY)
        normal = live & ~committed
        alive[:, t], committed_at_start[:, t] = live, committed
        seats_w[:, t], plan_w[:, t] = seats, plan

        # First invoice when a new account starts paying (after its trial, if any).
        first = live & ~acc.existing & (acc.anchor_day // 7 == t) & (acc.anchor_day < window.n_days)
        if first.any():
            idx = np.flatnonzero(first)
            charges.append(
                (
                    idx,
                    acc.anchor_day[idx],
                    np.full(idx.size, CHARGE_FIRST),
                    acc.mrr(plan[idx], seats[idx], idx) * acc.interval_months[idx],
                    np.zeros(idx.size, bool),
                )
            )

        # Mid-term termination this week (the only way an undecided account can leave this week).
        p_mid = np.where(normal, model.prob(sched.midterm_intercept[:, t], model.midterm_slope, h), 0.0)
        hazard[:, t] = np.where(live, np.where(committed, churn_day // 7 == t, p_mid), np.nan)
        mid = normal & (rng.random(n) < p_mid)
        churn_day = np.where(mid, 7 * t + rng.integers(0, 7, n), churn_day)
        churn_kind[mid] = CHURN_MIDTERM

        # Renewal decision for the renewal `lead` weeks ahead: leave at that renewal, or stay.
        r = sched.decision_for[:, t]
        deciding = normal & ~mid & (r >= 0)
        rr = np.maximum(r, 0)
        p_ren = np.where(deciding, model.prob(sched.renewal_intercept[rows, rr], model.renewal_slope, h), 0.0)
        leave = deciding & (rng.random(n) < p_ren)
        churn_day = np.where(leave, sched.anniv_day[rows, rr], churn_day)
        churn_kind[leave] = CHURN_RENEWAL
        stays = normal & ~mid & ~leave

        # Expansion at any monthly anniversary (true-ups for annual contracts), contraction at renewal.
        anniv = stays & (sched.anniv_day[:, t] >= 0) & (sched.anniv_day[:, t] > acc.anchor_day)
        u_exp, u_con, u_kind, u_size = rng.random((4, n))
        p_exp = 1 / (1 + np.exp(-(-3.7 + 1.2 * (h - 1) + 3.0 * (acc.utilization - 0.75))))
        expand = anniv & (u_exp < p_exp)
        p_con = 1 / (1 + np.exp(-(np.where(annual, -2.8, -4.6) - 1.2 * (h - 1))))
        contract = anniv & sched.renewal[:, t] & ~expand & (u_con < p_con) & ((seats > 1) | (plan > 0))
        old_mrr = acc.mrr(plan, seats)
        upgrade = expand & (plan < 2) & (u_kind < 0.2)
        downgrade = contract & (plan > 0) & ((u_kind < 0.2) | (seats <= 1))
        add = np.maximum(1, np.round(seats * (0.1 + 0.35 * u_size))).astype(np.int64)
        cut = np.maximum(1, np.round(seats * (0.1 + 0.25 * u_size))).astype(np.int64)
        seats = np.where(expand & ~upgrade, seats + add, seats)
        plan = np.where(upgrade, plan + 1, plan)
        seats = np.where(contract & ~downgrade, np.maximum(seats - cut, 1), seats)
        plan = np.where(downgrade, plan - 1, plan)
        changed = expand | contract
        if changed.any():
            idx = np.flatnonzero(changed)
            kind = np.select(
                [upgrade[idx], expand[idx], downgrade[idx]],
                [CHANGE_UPGRADE, CHANGE_EXPANSION, CHANGE_DOWNGRADE],
                CHANGE_CONTRACTION,
            )
            new_mrr = acc.mrr(plan[idx], seats[idx], idx)
            changes.append((idx, sched.anniv_day[idx, t], kind, plan[idx], seats[idx], new_mrr))
            # Annual contracts pay a prorated true-up for growth between renewals.
            pro = expand[idx] & ~sched.renewal[idx, t]
            if pro.any():
                j = idx[pro]
                months_left = 12 - sched.anniv_k[j, t] % 12
                charges.append(
                    (
                        j,
                        sched.anniv_day[j, t],
                        np.full(j.size, CHARGE_PRORATION),
                        np.round((new_mrr[pro] - old_mrr[j]) * months_left, 2),
                        np.zeros(j.size, bool),
                    )
                )

        # Renewal invoice for the new period; it may fail for good (then canceled after dunning).
        renewed = stays & sched.renewal[:, t]
        if renewed.any():
            idx = np.flatnonzero(renewed)
            p_fail = model.prob(model.failure_intercept, model.failure_slope, h[idx])
            failed = rng.random(idx.size) < p_fail
            day = sched.anniv_day[idx, t]
            churn_day[idx[failed]] = day[failed] + sched.dunning_days[idx[failed]]
            churn_kind[idx[failed]] = CHURN_NONPAYMENT
            charges.append(
                (
                    idx,
                    day,
                    np.full(idx.size, CHARGE_RENEWAL),
                    acc.mrr(plan[idx], seats[idx], idx) * acc.interval_months[idx],
                    failed,
                )
            )

    ch = _stack(changes, 6)
    cg = _stack(charges, 5)
    return Lifecycle(
        alive=alive,
        hazard=hazard,
        committed_at_start=committed_at_start,
        seats_w=seats_w,
        plan_w=plan_w,
        churn_day=churn_day,
        churn_kind=churn_kind,
        change_acct=ch[0],
        change_day=ch[1],
        change_kind=ch[2],
        change_plan=ch[3],
        change_seats=ch[4],
        change_mrr=ch[5].astype(float),
        charge_acct=cg[0],
        charge_day=cg[1],
        charge_kind=cg[2],
        charge_amount=cg[3].astype(float),
        charge_failed=cg[4].astype(bool),
    )


def _stack(parts: list[tuple[np.ndarray, ...]], width: int) -> list[np.ndarray]:
    if not parts:
        return [np.array([], dtype=np.int64) for _ in range(width)]
    return [np.concatenate(cols) for cols in zip(*parts)]

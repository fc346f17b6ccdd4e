"""Invoices and the subscription history.

Every charge of the lifecycle becomes an invoice. Unhealthy accounts pay late more often; renewal
invoices that failed for good stay unpaid (overdue, then uncollectible once the account is canceled).
The subscription history has one row per state: a new row whenever plan, seats, price or status
(trialing / active / past_due / canceled) change, with valid_from / valid_to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.simulate import text
from dagster_project.simulate.accounts import PLANS, Accounts
from dagster_project.simulate.calendar import add_months, months_between
from dagster_project.simulate.config import DAY_US, HOUR_US, MINUTE_US, Window
from dagster_project.simulate.health import HealthPaths
from dagster_project.simulate.lifecycle import CHARGE_FIRST, CHARGE_PRORATION, CHARGE_RENEWAL, NO_DAY, Lifecycle

STATUS = ("trialing", "active", "past_due", "canceled")
TRIALING, ACTIVE, PAST_DUE, CANCELED = range(4)
CARD_RETRY_DAYS = 29  # a late card payment is recovered before the dunning period ends


@dataclass
class Invoices:
    acct: np.ndarray
    issued_us: np.ndarray
    due_us: np.ndarray
    paid_us: np.ndarray  # -1: not paid (yet)
    amount_due: np.ndarray
    status: np.ndarray  # str
    pd_from_us: np.ndarray  # past-due interval it causes: [from, to); from = -1 if none
    pd_to_us: np.ndarray  # NO_TS: still open


NO_TS = np.iinfo(np.int64).max


def generate_invoices(
    acc: Accounts, window: Window, paths: HealthPaths, life: Lifecycle, rng: np.random.Generator
) -> Invoices:
    """Invoices issued in the window, with payment timing driven by health at issue."""
    keep = life.charge_day < window.n_days
    a, day, kind = life.charge_acct[keep], life.charge_day[keep], life.charge_kind[keep]
    amount, failed = life.charge_amount[keep], life.charge_failed[keep]
    n = a.size
    issued = window.day_to_us(day) + (rng.uniform(0.5, 3.0, n) * HOUR_US).astype(np.int64)
    issued = np.where(kind == CHARGE_FIRST, np.maximum(issued, acc.created_us[a] + 5 * MINUTE_US), issued)
    annual = acc.interval_months[a] == 12
    # Annual contracts and true-ups are invoiced net 30; monthly cards are charged at issue, with
    # three days of automatic retries before the payment counts as late.
    due = issued + np.where(annual | (kind == CHARGE_PRORATION), 30, 3) * DAY_US

    h = paths.h[a, np.minimum(day // 7, window.n_weeks - 1)]
    paid, late = payment_times(issued, due, h, failed, annual, rng)
    void = (kind == CHARGE_PRORATION) & (rng.random(n) < 0.05)  # disputed true-ups are voided
    paid = np.where(void | (paid >= window.cutoff_us), -1, paid)

    churn_us = _churn_us(life, window)[a]
    status = np.select(
        [void, paid >= 0, failed & (churn_us < window.cutoff_us), window.cutoff_us > due],
        ["void", "paid", "uncollectible", "overdue"],
        "open",
    )

    # Past due from the due date until paid (or, never paid, until the account is canceled).
    overdue = ~void & (late | failed)
    pd_to = np.where(failed, np.where(churn_us < window.cutoff_us, churn_us, NO_TS), np.where(paid >= 0, paid, NO_TS))
    pd_from = np.where(overdue & (due < window.cutoff_us), due, -1)

    order = np.lexsort((a, issued))
    return Invoices(
        acct=a[order],
        issued_us=issued[order],
        due_us=due[order],
        paid_us=paid[order],
        amount_due=np.round(amount[order], 2),
        status=status[order],
        pd_from_us=pd_from[order],
        pd_to_us=pd_to[order],
    )


def payment_times(
    issued: np.ndarray,
    due: np.ndarray,
    h: np.ndarray,
    failed: np.ndarray,
    invoiced: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """When each invoice is paid (-1: never, it failed) and whether it was late; health at issue `h`.

    Invoiced customers (net 30) pay within four weeks; cards are charged minutes after issue. Unhealthy
    accounts pay late more often, after the due date and before the dunning period ends.
    """
    n = issued.size
    p_late = 1 / (1 + np.exp(-(-2.8 - 1.0 * (h - 1))))
    late = ~failed & (rng.random(n) < p_late)
    on_time = np.where(
        invoiced,
        issued + (rng.uniform(1, 28, n) * DAY_US).astype(np.int64),
        issued + (rng.uniform(1, 120, n) * MINUTE_US).astype(np.int64),
    )
    late_by = np.minimum(2 + rng.exponential(10, n), CARD_RETRY_DAYS)
    paid = np.where(late, due + (late_by * DAY_US).astype(np.int64), on_time)
    return np.where(failed, -1, paid), late


def _churn_us(life: Lifecycle, window: Window) -> np.ndarray:
    churn = life.visible_churn_day(window)
    return np.where(churn == NO_DAY, NO_TS, window.day_to_us(np.minimum(churn, window.n_days)))


@dataclass
class Subscriptions:
    acct: np.ndarray
    version: np.ndarray
    valid_from_us: np.ndarray
    valid_to_us: np.ndarray  # NO_TS: current
    status: np.ndarray
    plan: np.ndarray
    seats: np.ndarray
    mrr: np.ndarray
    current_period_end_us: np.ndarray
    canceled_us: np.ndarray  # NO_TS: not canceled

    def ids(self) -> pa.Array:
        return text.join(text.prefixed_ids("sub_", self.acct + 1, 6), "_", text.prefixed_ids("", self.version, 3))


def build_subscriptions(acc: Accounts, window: Window, life: Lifecycle, inv: Invoices) -> Subscriptions:
    """The subscription history from the lifecycle's changes and the invoices' past-due periods.

    A row starts whenever plan, seats, price or status change, and also at each renewal, where the
    current period (current_period_end) rolls over, as in a history of the billing system's
    subscription object. An account that existed before the window keeps one row for its time before
    the last renewal ahead of the window.
    """
    churn_us = _churn_us(life, window)
    trial_end_us = acc.created_us + (acc.anchor_day - acc.created_day) * DAY_US
    start = np.datetime64(window.start_date, "D")
    anchor = start + acc.anchor_day
    step = acc.interval_months

    # Renewals: those of the lifecycle in the window, and the last one before it.
    k_before = months_between(anchor, np.full(acc.n, start - 1))
    k_before = k_before // step * step
    pre = acc.existing & (k_before >= step)
    pre_us = (add_months(anchor[pre], k_before[pre]) - np.datetime64("1970-01-01", "D")).astype(np.int64) * DAY_US
    ren = (life.charge_kind == CHARGE_RENEWAL) & (life.charge_day < window.n_days)
    ch = life.change_day < window.n_days
    pd = inv.pd_from_us >= 0
    ends = pd & (inv.pd_to_us < NO_TS)
    cancel = churn_us < NO_TS
    trial = acc.trial & (trial_end_us < window.cutoff_us)

    # State-change points. Commercial points carry plan/seats/mrr; the others only mark an instant
    # (status changes come from the past-due counter and the trial and churn dates).
    points = [
        (np.arange(acc.n), acc.created_us, True, acc.plan, acc.seats, acc.mrr(acc.plan, acc.seats), 0),
        (np.flatnonzero(trial), trial_end_us[trial], False, 0, 0, 0.0, 0),
        (np.flatnonzero(pre), pre_us, False, 0, 0, 0.0, 0),
        (life.charge_acct[ren], window.day_to_us(life.charge_day[ren]), False, 0, 0, 0.0, 0),
        (
            life.change_acct[ch],
            window.day_to_us(life.change_day[ch]),
            True,
            life.change_plan[ch],
            life.change_seats[ch],
            life.change_mrr[ch],
            0,
        ),
        (inv.acct[pd], inv.pd_from_us[pd], False, 0, 0, 0.0, 1),
        (inv.acct[ends], inv.pd_to_us[ends], False, 0, 0, 0.0, -1),
        (np.flatnonzero(cancel), churn_us[cancel], False, 0, 0, 0.0, 0),
    ]
    cols = [np.concatenate([np.broadcast_to(np.asarray(p[c]), p[0].shape) for p in points]) for c in range(7)]
    acct, ts, commercial, plan, seats, mrr, pd_delta = cols
    # Commercial points first at the same instant: stable order puts the creation row first.
    order = np.lexsort((~commercial, ts, acct))
    acct, ts = acct[order], ts[order]
    # Nothing after the cancellation, nothing after the data ends.
    keep = (ts <= churn_us[acct]) & (ts < window.cutoff_us)
    acct, ts, commercial, plan, seats, mrr, pd_delta = (x[order][keep] for x in cols)

    # Forward-fill the commercial state (each account's first point is its creation, which is commercial).
    idx = np.arange(acct.size)
    last_commercial = np.maximum.accumulate(np.where(commercial, idx, 0))
    plan, seats, mrr = plan[last_commercial], seats[last_commercial], mrr[last_commercial]
    first_of_acct = np.maximum.accumulate(np.where(np.r_[True, acct[1:] != acct[:-1]], idx, 0))
    pd_cum = np.cumsum(pd_delta)
    pd_open = pd_cum - (pd_cum - pd_delta)[first_of_acct]
    status = np.select(
        [ts >= churn_us[acct], acc.trial[acct] & (ts < trial_end_us[acct]), pd_open > 0],
        [CANCELED, TRIALING, PAST_DUE],
        ACTIVE,
    )
    mrr = np.where((status == CANCELED) | (status == TRIALING), 0.0, mrr)

    # End of the paid period the point falls in (the next renewal), trial end for trials.
    day = (ts // DAY_US).astype("datetime64[D]")
    k = np.maximum(months_between(anchor[acct], day), -1)
    next_k = np.maximum((k // step[acct] + 1) * step[acct], step[acct])
    period_end = add_months(anchor[acct], next_k).astype("datetime64[us]").astype(np.int64)
    period_end = np.where(status == TRIALING, trial_end_us[acct], period_end)
    period_end = np.where(status == CANCELED, ts, period_end)

    # One row per instant (the state after everything that happened then), and only real changes.
    last_at_ts = np.r_[(acct[1:] != acct[:-1]) | (ts[1:] != ts[:-1]), True]
    acct, ts, status, plan, seats, mrr, period_end = (
        x[last_at_ts] for x in (acct, ts, status, plan, seats, mrr, period_end)
    )
    same = np.r_[
        False,
        (acct[1:] == acct[:-1])
        & (status[1:] == status[:-1])
        & (plan[1:] == plan[:-1])
        & (seats[1:] == seats[:-1])
        & (mrr[1:] == mrr[:-1])
        & (period_end[1:] == period_end[:-1]),
    ]
    acct, ts, status, plan, seats, mrr, period_end = (
        x[~same] for x in (acct, ts, status, plan, seats, mrr, period_end)
    )

    idx = np.arange(acct.size)
    version = idx - np.maximum.accumulate(np.where(np.r_[True, acct[1:] != acct[:-1]], idx, 0)) + 1
    valid_to = np.r_[np.where(acct[1:] == acct[:-1], ts[1:], NO_TS), NO_TS]
    canceled = np.where(status == CANCELED, ts, NO_TS)
    return Subscriptions(
        acct=acct,
        version=version,
        valid_from_us=ts,
        valid_to_us=valid_to,
        status=status,
        plan=plan,
        seats=seats,
        mrr=np.round(mrr, 2),
        current_period_end_us=period_end,
        canceled_us=canceled,
    )


def _ts_or_null(us: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(np.where(null, 0, us), pa.timestamp("us"), mask=null)


def subscriptions_table(subs: Subscriptions, acc: Accounts) -> dict[str, pa.Array | np.ndarray]:
    """The `subscriptions` raw table as columns."""
    return {
        "subscription_id": subs.ids(),
        "account_id": text.take(acc.id_array, subs.acct),
        "status": text.take(STATUS, subs.status),
        "mrr": subs.mrr,
        "valid_from": subs.valid_from_us,
        "plan": text.take(PLANS, subs.plan),
        "seats": subs.seats,
        "currency": np.full(subs.acct.size, "USD"),
        "billing_interval": text.take(("month", "year"), (acc.interval_months[subs.acct] == 12).astype(int)),
        "valid_to": _ts_or_null(subs.valid_to_us, subs.valid_to_us == NO_TS),
        "current_period_end": subs.current_period_end_us,
        "canceled_at": _ts_or_null(subs.canceled_us, subs.canceled_us == NO_TS),
    }


def invoices_table(inv: Invoices, subs: Subscriptions | None, acc: Accounts) -> dict[str, pa.Array | np.ndarray]:
    """The `invoices` raw table as columns; each invoice points at the subscription row valid when issued
    (no subscription_id without subscriptions: one-off purchases)."""
    if subs is None:
        subscription_id = pa.nulls(inv.acct.size, pa.string())
    else:
        # Row of the subscription history valid at issue: last row of the account starting at or before it.
        row = _row_valid_at(subs.acct, subs.valid_from_us, inv.acct, inv.issued_us)
        subscription_id = subs.ids().take(pa.array(np.maximum(row, 0), mask=row < 0))
    paid = inv.paid_us >= 0
    return {
        "invoice_id": text.prefixed_ids("inv_", np.arange(1, inv.acct.size + 1), 8),
        "account_id": text.take(acc.id_array, inv.acct),
        "amount_due": inv.amount_due,
        "issued_at": inv.issued_us,
        "subscription_id": subscription_id,
        "amount_paid": np.where(paid, inv.amount_due, 0.0),
        "status": inv.status,
        "due_at": inv.due_us,
        "paid_at": _ts_or_null(inv.paid_us, ~paid),
        "currency": np.full(inv.acct.size, "USD"),
    }


def _row_valid_at(row_acct: np.ndarray, row_from: np.ndarray, acct: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Index of the last row of `acct` with row_from <= ts (rows sorted by account, time); -1 if none."""
    n_rows = row_acct.size
    all_acct = np.concatenate([row_acct, acct])
    all_ts = np.concatenate([row_from, ts])
    is_query = np.r_[np.zeros(n_rows, bool), np.ones(acct.size, bool)]
    order = np.lexsort((is_query, all_ts, all_acct))  # a row starting at the same instant counts
    # Row indices increase along this order (rows are sorted the same way), so a running max finds
    # the latest row at or before each query; it must belong to the same account.
    last = np.maximum.accumulate(np.where(is_query[order], -1, order))
    found = np.empty(acct.size, dtype=np.int64)
    found[order[is_query[order]] - n_rows] = last[is_query[order]]
    ok = (found >= 0) & (row_acct[np.maximum(found, 0)] == acct)
    return np.where(ok, found, -1)

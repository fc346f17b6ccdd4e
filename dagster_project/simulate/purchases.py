"""One-off purchases (the purchases shape): each account buys at its own rate while it is a customer.

An account's purchases are a Poisson process over business days. Its weekly rate is its own base rate
(segment and a lognormal spread: some accounts order every few days, others every couple of months)
times exp(rate_health * (h - 1)), so an account that disengages (falling latent health) buys less
and less, and one that has dropped out (`DropoutModel`) buys nothing. Each purchase is an invoice
(no subscription) and an `order_placed` product event by one of the account's users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.activity import EVENT_NAMES, EventChunk
from dagster_project.simulate.billing import NO_TS, Invoices, payment_times
from dagster_project.simulate.calendar import REGION_UTC_OFFSET_HOURS, WEEKDAY_FACTOR
from dagster_project.simulate.config import DAY_US, HOUR_US, MINUTE_US, SECOND_US, Window
from dagster_project.simulate.health import HealthPaths
from dagster_project.simulate.lifecycle import Lifecycle
from dagster_project.simulate.users import Users, account_end_us, pick_active_users

ORDER_EVENT = "order_placed"
PURCHASE_EVENT_NAMES = (*EVENT_NAMES, ORDER_EVENT)
# Share of a week's purchases that fall on each day (Monday first): B2B buyers order on weekdays.
DAY_WEIGHT = WEEKDAY_FACTOR / WEEKDAY_FACTOR.sum()


@dataclass(frozen=True)
class PurchaseModel:
    """Purchase rates and order sizes (USD), by segment (smb, mid-market, enterprise)."""

    rate_per_week_median: tuple[float, float, float] = (0.35, 0.7, 1.4)  # at health 1
    rate_sigma: float = 0.8  # spread of the accounts' own rates (lognormal)
    rate_health: float = 0.9  # log purchase rate per unit of latent health
    order_median_usd: tuple[float, float, float] = (220.0, 1_100.0, 5_000.0)
    order_sigma_account: float = 0.5  # accounts differ in basket size ...
    order_sigma: float = 0.45  # ... and orders vary around it


@dataclass
class PurchaseTraits:
    """Per account: the weekly purchase rate at health 1, and the median order (USD)."""

    base_rate: np.ndarray
    basket_usd: np.ndarray

    def weekly_rate(self, acct: np.ndarray, h: np.ndarray, model: PurchaseModel) -> np.ndarray:
        """Expected purchases per week of accounts `acct` at latent health `h`."""
        return self.base_rate[acct] * np.exp(model.rate_health * (h - 1))


def purchase_traits(acc: Accounts, model: PurchaseModel, rng: np.random.Generator) -> PurchaseTraits:
    """Draw each account's own purchase rate and basket size."""
    rate = np.array(model.rate_per_week_median)[acc.segment] * rng.lognormal(0, model.rate_sigma, acc.n)
    basket = np.array(model.order_median_usd)[acc.segment] * rng.lognormal(0, model.order_sigma_account, acc.n)
    return PurchaseTraits(base_rate=rate, basket_usd=basket)


@dataclass
class Purchases:
    acct: np.ndarray
    occurred_us: np.ndarray
    amount_usd: np.ndarray
    buyer: np.ndarray  # user index, -1 if no active user was found


def generate_purchases(
    acc: Accounts,
    users: Users,
    window: Window,
    paths: HealthPaths,
    life: Lifecycle,
    traits: PurchaseTraits,
    model: PurchaseModel,
    rng: np.random.Generator,
) -> Purchases:
    """Every purchase: per account-day while a customer, Poisson(weekly rate at that week's health x day weight)."""
    acct, week = np.nonzero(life.alive)
    a = np.repeat(acct, 7)
    day = 7 * np.repeat(week, 7) + np.tile(np.arange(7), acct.size)
    ok = (day >= np.maximum(acc.created_day[a], 0)) & (day < life.churn_day[a]) & (day < window.n_days)
    a, day = a[ok], day[ok]
    lam = traits.weekly_rate(a, paths.h[a, day // 7], model) * DAY_WEIGHT[day % 7]
    k = rng.poisson(lam)
    a, day = np.repeat(a, k), np.repeat(day, k)
    local_hour = rng.uniform(8.0, 18.0, a.size)
    ts = window.day_to_us(day) + ((local_hour + REGION_UTC_OFFSET_HOURS[acc.region[a]]) * HOUR_US).astype(np.int64)
    ts = np.maximum(ts, acc.created_us[a] + MINUTE_US)  # on the sign-up day, after signing up
    amount = np.round(traits.basket_usd[a] * rng.lognormal(0, model.order_sigma, a.size), 2)
    keep = ts < account_end_us(life, window)[a]  # before the account drops out and the data ends
    a, ts, amount = a[keep], ts[keep], amount[keep]
    order = np.lexsort((a, ts))
    a, ts, amount = a[order], ts[order], amount[order]
    return Purchases(acct=a, occurred_us=ts, amount_usd=amount, buyer=pick_active_users(users, a, ts, rng))


def purchase_invoices(
    acc: Accounts, window: Window, paths: HealthPaths, purchases: Purchases, rng: np.random.Generator
) -> Invoices:
    """An invoice per purchase, issued when the order is placed.

    Small accounts pay by card at checkout; mid-market and enterprise accounts are invoiced net 30.
    Unhealthy accounts pay late more often (as for subscription invoices).
    """
    a, issued = purchases.acct, purchases.occurred_us
    invoiced = acc.segment[a] > 0
    due = issued + np.where(invoiced, 30, 3) * DAY_US
    day = window.us_to_day(issued)
    h = paths.h[a, np.minimum(day // 7, window.n_weeks - 1)]
    paid, _ = payment_times(issued, due, h, np.zeros(a.size, bool), invoiced, rng)
    paid = np.where(paid >= window.cutoff_us, -1, paid)
    status = np.select([paid >= 0, window.cutoff_us > due], ["paid", "overdue"], "open")
    return Invoices(
        acct=a,
        issued_us=issued,
        due_us=due,
        paid_us=paid,
        amount_due=purchases.amount_usd,
        status=status,
        pd_from_us=np.full(a.size, -1),
        pd_to_us=np.full(a.size, NO_TS),
    )


def with_order_events(chunk: EventChunk, purchases: Purchases, window: Window, rng: np.random.Generator) -> EventChunk:
    """The chunk's events plus an `order_placed` event per purchase of its accounts, in time order."""
    sel = (purchases.acct >= chunk.a_lo) & (purchases.acct < chunk.a_hi)
    ts = purchases.occurred_us[sel]
    received = np.minimum(ts + (rng.uniform(1, 3, ts.size) * SECOND_US).astype(np.int64), window.cutoff_us - 1)

    def cat(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        return np.concatenate([old, new.astype(old.dtype)])

    occurred = cat(chunk.occurred_us, ts)
    order = np.argsort(occurred, kind="stable")
    none = np.full(ts.size, -1)
    return EventChunk(
        a_lo=chunk.a_lo,
        a_hi=chunk.a_hi,
        u_lo=chunk.u_lo,
        u_hi=chunk.u_hi,
        acct=cat(chunk.acct, purchases.acct[sel])[order],
        user=cat(chunk.user, purchases.buyer[sel])[order],
        name=cat(chunk.name, np.full(ts.size, PURCHASE_EVENT_NAMES.index(ORDER_EVENT)))[order],
        feature=cat(chunk.feature, none)[order],
        template=cat(chunk.template, none)[order],
        occurred_us=occurred[order],
        received_us=cat(chunk.received_us, received)[order],
    )

"""Users of each account: an initial team invited during onboarding, turnover (people leave and are
replaced), growth when seats are added, cuts when seats are removed, and champions who leave."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.simulate import text
from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.config import DAY_US, HOUR_US, Window
from dagster_project.simulate.health import SHOCK_KINDS, HealthPaths
from dagster_project.simulate.lifecycle import NO_DAY, Lifecycle

NEVER_US = np.iinfo(np.int64).max
ROLES = ("admin", "member", "viewer")
ROLE_SHARE = np.array([0.06, 0.70, 0.24])
ROLE_PROPENSITY = np.array([0.3, 0.0, -0.7])  # admins log in more, viewers less


@dataclass
class Users:
    """All users, sorted by account then creation time; index = user number - 1."""

    acct: np.ndarray
    created_us: np.ndarray
    deactivated_us: np.ndarray  # NEVER_US if still active at the end of the data (or account churned)
    role: np.ndarray
    propensity: np.ndarray  # person-level activity (logit shift), independent of account health
    first: np.ndarray
    last: np.ndarray
    suffix: np.ndarray  # e-mail disambiguation digit, -1 for none
    invited: np.ndarray  # bool: joined by invitation from a teammate (not the account's first user)
    acct_offset: np.ndarray  # (n_accounts + 1,) users of account i are [offset[i], offset[i+1])

    @property
    def n(self) -> int:
        return len(self.acct)

    def __post_init__(self) -> None:
        # user_id strings (`usr_00000001`), built once: events take from them by index.
        self.id_array = text.prefixed_ids("usr_", np.arange(1, self.n + 1), 8)


def account_end_us(life: Lifecycle, window: Window) -> np.ndarray:
    """Per account: the first instant it is no longer a customer in the data (churn or data cutoff)."""
    churn = life.visible_churn_day(window)
    return np.where(churn == NO_DAY, window.cutoff_us, window.day_to_us(np.minimum(churn, window.n_days)))


def generate_users(
    acc: Accounts, window: Window, life: Lifecycle, paths: HealthPaths, rng: np.random.Generator
) -> Users:
    """Draw every user with created_at and deactivated_at, vectorized over accounts."""
    end_us = account_end_us(life, window)
    seg_scale = np.array([5.0, 9.0, 14.0])[acc.segment]  # bigger teams take longer to invite everyone

    # 1. The team invited at signup (existing accounts: spread over their tenure so far).
    n0 = np.maximum(1, np.round(acc.seats * acc.utilization * rng.uniform(0.85, 1.0, acc.n))).astype(np.int64)
    a0 = np.repeat(np.arange(acc.n), n0)
    pos = np.arange(a0.size) - np.repeat(np.cumsum(n0) - n0, n0)
    span = np.maximum(window.start_us - acc.created_us[a0], 0)
    onboard = (rng.gamma(1.5, 1.0, a0.size) * seg_scale[a0] * DAY_US).astype(np.int64)
    created0 = acc.created_us[a0] + np.where(
        acc.existing[a0], (span * rng.random(a0.size) ** 1.5).astype(np.int64), onboard
    )
    created0 = np.where(pos == 0, acc.created_us[a0], created0)

    # 2. Seat expansions bring new teammates.
    prev_seats = _seats_before(acc, life)
    grow = (life.change_seats > prev_seats) & (life.change_day < window.n_days)
    n_new = np.round((life.change_seats - prev_seats)[grow] * acc.utilization[life.change_acct[grow]]).astype(np.int64)
    a1 = np.repeat(life.change_acct[grow], n_new)
    created1 = np.repeat(window.day_to_us(life.change_day[grow]), n_new)
    created1 += (rng.exponential(5, a1.size) * DAY_US).astype(np.int64)

    acct_ = np.concatenate([a0, a1])
    created = np.concatenate([created0, created1])
    invited = np.concatenate([pos > 0, np.ones(a1.size, bool)])
    role = np.concatenate(
        [
            np.where(pos == 0, 0, rng.choice(3, a0.size, p=ROLE_SHARE)),  # the signup is an admin
            rng.choice(3, a1.size, p=ROLE_SHARE),
        ]
    )

    # 3. Turnover: people leave (more in unhealthy accounts) and most are replaced, generation by generation.
    leave_per_year = 0.22 * np.exp(-0.35 * (acc.health_baseline - 1))
    deact = _departures(acct_, created, window, leave_per_year, rng)
    todo = np.flatnonzero(deact < end_us[acct_])
    all_parts = [(acct_, created, deact, role, invited)]
    for _ in range(50):
        if todo.size == 0:
            break
        replaced = todo[rng.random(todo.size) < 0.8]
        src_acct, src_dep = all_parts[-1][0][replaced], all_parts[-1][2][replaced]
        c = src_dep + (rng.exponential(12, replaced.size) * DAY_US).astype(np.int64)
        r = np.where(all_parts[-1][3][replaced] == 0, 0, rng.choice(3, replaced.size, p=ROLE_SHARE))
        d = _departures(src_acct, c, window, leave_per_year, rng)
        all_parts.append((src_acct, c, d, r, np.ones(replaced.size, bool)))
        todo = np.flatnonzero((d < end_us[src_acct]) & (c < end_us[src_acct]))
    acct_, created, deact, role, invited = (np.concatenate(x) for x in zip(*all_parts))

    # Keep only people who joined while the account was a customer and before the data ends.
    keep = created < end_us[acct_]
    acct_, created, deact, role, invited = acct_[keep], created[keep], deact[keep], role[keep], invited[keep]
    order = np.lexsort((created, acct_))
    acct_, created, deact, role, invited = acct_[order], created[order], deact[order], role[order], invited[order]

    # 4. Contraction: removed seats mean deactivated users.
    shrink = (life.change_seats < prev_seats) & (life.change_day < window.n_days)
    if shrink.any():
        frac = 1 - life.change_seats[shrink] / prev_seats[shrink]
        deact = _cut(
            acct_, created, deact, life.change_acct[shrink], window.day_to_us(life.change_day[shrink]), frac, rng
        )

    # 5. Champions leave: the longest-tenured active user of the account, at the shock.
    champ = paths.shock_kind == SHOCK_KINDS.index("champion_left")
    if champ.any():
        deact = _champions_leave(
            acct_, created, deact, paths.shock_acct[champ], window.day_to_us(paths.shock_day[champ]) + 10 * HOUR_US
        )

    # Deactivations after the data ends or after the account left are not (yet) recorded.
    deact = np.where(deact >= end_us[acct_], NEVER_US, deact)
    offset = np.searchsorted(acct_, np.arange(acc.n + 1))
    first, last = text.person_names(rng, acct_.size)
    suffix = np.where(rng.random(acct_.size) < 0.12, rng.integers(1, 10, acct_.size), -1)
    propensity = rng.normal(0, 0.8, acct_.size) + ROLE_PROPENSITY[role]
    return Users(
        acct=acct_,
        created_us=created,
        deactivated_us=deact,
        role=role,
        propensity=propensity,
        first=first,
        last=last,
        suffix=suffix,
        invited=invited,
        acct_offset=offset,
    )


def _seats_before(acc: Accounts, life: Lifecycle) -> np.ndarray:
    """Seats before each contract change (changes are in time order per account)."""
    prev = acc.seats[life.change_acct].copy()
    order = np.lexsort((life.change_day, life.change_acct))
    a, s = life.change_acct[order], life.change_seats[order]
    same = np.r_[False, a[1:] == a[:-1]]
    shifted = np.r_[0, s[:-1]]
    prev[order] = np.where(same, shifted, acc.seats[a])
    return prev


def _departures(
    acct: np.ndarray, created: np.ndarray, window: Window, per_year: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """When each person leaves (exponential tenure, counted from the window start for old users)."""
    base = np.maximum(created, window.start_us)
    return base + (rng.exponential(365.0 / per_year[acct]) * DAY_US).astype(np.int64)


def _cut(acct, created, deact, ev_acct, ev_us, frac, rng) -> np.ndarray:
    """Deactivate each user active at a seat cut with probability = share of seats removed."""
    deact = deact.copy()
    for_user = np.searchsorted(acct, ev_acct, side="left"), np.searchsorted(acct, ev_acct, side="right")
    counts = for_user[1] - for_user[0]
    ev = np.repeat(np.arange(ev_acct.size), counts)
    user = np.repeat(for_user[0], counts) + (np.arange(ev.size) - np.repeat(np.cumsum(counts) - counts, counts))
    t = ev_us[ev] + (rng.random(ev.size) * 3 * DAY_US).astype(np.int64)
    hit = (created[user] <= ev_us[ev]) & (deact[user] > t) & (rng.random(ev.size) < frac[ev])
    np.minimum.at(deact, user[hit], t[hit])
    return deact


def _champions_leave(acct, created, deact, ev_acct, ev_us) -> np.ndarray:
    """Deactivate, at each event, the account's longest-tenured user still active then."""
    deact = deact.copy()
    lo, hi = np.searchsorted(acct, ev_acct, side="left"), np.searchsorted(acct, ev_acct, side="right")
    counts = hi - lo
    ev = np.repeat(np.arange(ev_acct.size), counts)
    user = np.repeat(lo, counts) + (np.arange(ev.size) - np.repeat(np.cumsum(counts) - counts, counts))
    active = (created[user] <= ev_us[ev]) & (deact[user] > ev_us[ev])
    ev, user = ev[active], user[active]
    # Users are sorted by creation within an account: the first active one per event is the champion.
    first = np.r_[True, ev[1:] != ev[:-1]]
    np.minimum.at(deact, user[first], ev_us[ev[first]])
    return deact


def pick_active_users(
    users: Users, acct: np.ndarray, ts_us: np.ndarray, rng: np.random.Generator, tries: int = 8
) -> np.ndarray:
    """For each (account, time): a random user of the account active at that time, or -1 if none found."""
    lo, hi = users.acct_offset[acct], users.acct_offset[acct + 1]
    out = np.full(acct.size, -1)
    todo = np.flatnonzero(hi > lo)
    for _ in range(tries):
        if todo.size == 0:
            break
        cand = lo[todo] + (rng.random(todo.size) * (hi[todo] - lo[todo])).astype(np.int64)
        ok = (users.created_us[cand] <= ts_us[todo]) & (users.deactivated_us[cand] > ts_us[todo])
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return out


def users_table(users: Users, acc: Accounts) -> dict[str, pa.Array | np.ndarray]:
    """The `users` raw table as columns."""
    suffix = text.take_plain([str(i) for i in range(10)], users.suffix)
    suffix = pc.fill_null(suffix, "")
    email = text.join(
        text.take_plain(text.FIRST_NAMES, users.first),
        ".",
        text.take_plain(text.LAST_NAMES, users.last),
        suffix,
        "@",
        text.take_plain(acc.domain, users.acct),
    )
    deact = users.deactivated_us
    return {
        "user_id": users.id_array,
        "account_id": text.take(acc.id_array, users.acct),
        "created_at": users.created_us,
        "email": email,
        "role": text.take(ROLES, users.role),
        "deactivated_at": pa.array(np.where(deact == NEVER_US, 0, deact), pa.timestamp("us"), mask=deact == NEVER_US),
    }

"""Support tickets and NPS survey answers, both following latent health.

Unhealthy accounts open more tickets, of higher priority and with more bugs, wait longer for a fix
and rate the help badly more often. Shocks bring their own tickets (integration trouble after a failed
integration, urgent bugs in an outage, billing questions after a failed payment, how-to questions
from whoever replaces a departed champion). NPS surveys go out about quarterly to a sample of users;
scores follow health.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.simulate import text
from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.calendar import REGION_UTC_OFFSET_HOURS, WEEKDAY_FACTOR
from dagster_project.simulate.config import DAY_US, HOUR_US, MINUTE_US, Window
from dagster_project.simulate.health import SHOCK_KINDS, HealthPaths
from dagster_project.simulate.lifecycle import Lifecycle
from dagster_project.simulate.users import Users, pick_active_users

PRIORITIES = ("low", "normal", "high", "urgent")
CATEGORIES = ("bug", "how_to", "billing", "integration", "feature_request")
CATEGORY_LOGIT = np.log(np.array([0.25, 0.33, 0.08, 0.12, 0.22]))
FIRST_RESPONSE_HOURS = np.array([12.0, 5.0, 1.5, 0.4])  # median by priority
RESOLUTION_DAYS = np.array([1.6, 0.8, 1.0, 1.5, 5.0])  # median by category
SEGMENT_RESPONSE = np.array([1.4, 1.0, 0.7])  # enterprise support is faster
_SUBJECTS = [s for c in CATEGORIES for s in text.TICKET_SUBJECTS[c]]
_SUBJECT_COUNT = np.array([len(text.TICKET_SUBJECTS[c]) for c in CATEGORIES])
_SUBJECT_OFFSET = np.cumsum(_SUBJECT_COUNT) - _SUBJECT_COUNT
NPS_BUCKETS = ("detractor", "passive", "promoter")
_COMMENTS = [s for b in NPS_BUCKETS for s in text.NPS_COMMENTS[b]]
_COMMENT_COUNT = np.array([len(text.NPS_COMMENTS[b]) for b in NPS_BUCKETS])
_COMMENT_OFFSET = np.cumsum(_COMMENT_COUNT) - _COMMENT_COUNT


@dataclass
class Tickets:
    acct: np.ndarray
    created_us: np.ndarray
    requester: np.ndarray  # user index, -1 unknown
    priority: np.ndarray
    category: np.ndarray
    first_response_us: np.ndarray  # -1: none yet
    solved_us: np.ndarray  # -1: not solved yet
    status: np.ndarray  # str
    satisfaction: np.ndarray  # 0 good, 1 bad, -1 not rated
    subject: pa.Array


def _business_time(window: Window, day: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    local = rng.uniform(8.5, 17.5, day.size)
    return window.day_to_us(day) + ((local + REGION_UTC_OFFSET_HOURS[region]) * HOUR_US).astype(np.int64)


def generate_tickets(
    acc: Accounts,
    users: Users,
    window: Window,
    paths: HealthPaths,
    life: Lifecycle,
    acct_end_us: np.ndarray,
    rng: np.random.Generator,
) -> Tickets:
    """Tickets of all accounts (created while the account is a customer and before the data ends)."""
    acct, week = np.nonzero(life.alive)
    h = paths.h[acct, week] - 1
    rate = 0.035 * life.seats_w[acct, week] ** 0.55 * np.exp(-0.8 * h)
    k = rng.poisson(rate)
    a = np.repeat(acct, k)
    w = np.repeat(week, k)
    dow = rng.choice(7, a.size, p=WEEKDAY_FACTOR / WEEKDAY_FACTOR.sum())
    day = 7 * w + dow
    src = np.full(a.size, -1)  # shock kind that caused the ticket (-1: everyday)

    # Tickets caused by shocks, a day or two after the shock.
    extra = []
    for kind, mean in (("integration_failed", 1.5), ("outage", 0.5), ("champion_left", 0.6)):
        sel = paths.shock_kind == SHOCK_KINDS.index(kind)
        n = rng.poisson(mean, sel.sum()) + (kind == "integration_failed")
        extra.append(
            (
                np.repeat(paths.shock_acct[sel], n),
                np.repeat(paths.shock_day[sel], n) + rng.integers(0, 3 if kind != "outage" else 1, n.sum()),
                np.full(n.sum(), SHOCK_KINDS.index(kind)),
            )
        )
    # A billing question after each failed renewal payment (half of the time).
    failed = life.charge_failed & (rng.random(life.charge_failed.size) < 0.5)
    extra.append(
        (
            life.charge_acct[failed],
            life.charge_day[failed] + rng.integers(1, 10, failed.sum()),
            np.full(failed.sum(), 3),
        )
    )  # 3: "billing"
    for ea, ed, es in extra:
        a, day, src = np.r_[a, ea], np.r_[day, ed], np.r_[src, es]
    created = _business_time(window, day, acc.region[a], rng)
    ok = (created >= np.maximum(acc.created_us[a], window.start_us)) & (created < acct_end_us[a])
    a, day, src, created = a[ok], day[ok], src[ok], created[ok]
    order = np.lexsort((a, created))
    a, day, src, created = a[order], day[order], src[order], created[order]
    n = a.size
    h = paths.h[a, np.minimum(day // 7, window.n_weeks - 1)] - 1
    tenure_weeks = (created - acc.created_us[a]) / (7 * DAY_US)

    # Category: more bugs and fewer feature requests when unhealthy, how-to questions when new.
    logit = np.tile(CATEGORY_LOGIT, (n, 1))
    logit[:, 0] -= 0.4 * h
    logit[:, 4] += 0.4 * h
    logit[:, 1] += 1.0 * np.exp(-tenure_weeks / 6)
    category = _categorical(logit, rng)
    category = np.select([src == 1, src == 2, src == 3, src == 0], [3, 0, 2, 1], category)

    # Priority: worse when unhealthy, higher for enterprise, urgent in outages.
    seg = acc.segment[a]
    plog = np.stack([np.full(n, 0.3), np.full(n, 1.4), -0.6 - 0.5 * h + 0.3 * seg, -2.2 - 0.6 * h + 0.3 * seg], axis=1)
    plog[src == 2, 3] += 3.0
    plog[src == 1, 2] += 1.5
    priority = _categorical(plog, rng)

    first_resp = (
        created
        + (FIRST_RESPONSE_HOURS[priority] * SEGMENT_RESPONSE[seg] * rng.lognormal(0, 0.7, n) * HOUR_US).astype(np.int64)
        + MINUTE_US
    )
    solve_days = RESOLUTION_DAYS[category] * np.exp(-0.15 * h) * rng.lognormal(0, 0.9, n)
    solved = first_resp + (solve_days * DAY_US).astype(np.int64)
    # A churned account's open tickets are closed when it leaves.
    end = acct_end_us[a]
    churned = end < window.cutoff_us
    first_resp = np.where(churned, np.minimum(first_resp, end - MINUTE_US), first_resp)
    solved = np.where(churned, np.minimum(solved, end - MINUTE_US), solved)
    first_resp = np.maximum(first_resp, created)
    solved = np.maximum(solved, first_resp)

    is_solved = solved < window.cutoff_us
    responded = first_resp < window.cutoff_us
    recent = solved >= window.cutoff_us - 4 * DAY_US  # solved tickets auto-close after 4 days
    status = np.select([is_solved & ~recent, is_solved, responded], ["closed", "solved", "pending"], "open")
    p_bad = 1 / (1 + np.exp(-(-2.3 - 0.9 * h + 0.4 * np.log1p(solve_days) + 0.5 * (src == 2))))
    rated = is_solved & (rng.random(n) < 0.4)
    satisfaction = np.where(rated, (rng.random(n) < p_bad).astype(int), -1)
    requester = pick_active_users(users, a, created, rng)

    # Subject: a template of the category, sometimes naming the person (PII).
    tmpl = _SUBJECT_OFFSET[category] + (rng.random(n) * _SUBJECT_COUNT[category]).astype(np.int64)
    person = requester >= 0
    who = np.maximum(requester, 0)
    first_name = text.take_plain(text.capitalized(text.FIRST_NAMES), np.where(person, users.first[who], -1))
    last_name = text.take_plain(text.capitalized(text.LAST_NAMES), np.where(person, users.last[who], -1))
    how = np.where(person, rng.choice(3, n, p=[0.6, 0.3, 0.1]), 0)
    tail = pc.if_else(
        pa.array(how == 1),
        text.join(" (reported by ", first_name, " ", last_name, ")"),
        pc.if_else(pa.array(how == 2), text.join(" - call me back, ", first_name), pa.scalar("")),
    )
    subject = text.join(text.take_plain(_SUBJECTS, tmpl), pc.fill_null(tail, ""))
    return Tickets(
        acct=a,
        created_us=created,
        requester=requester,
        priority=priority,
        category=category,
        first_response_us=np.where(responded, first_resp, -1),
        solved_us=np.where(is_solved, solved, -1),
        status=status,
        satisfaction=satisfaction,
        subject=subject,
    )


def _categorical(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(p, axis=1)
    return (rng.random(len(p))[:, None] * cum[:, -1:] > cum).sum(axis=1)


def _ts_or_null(us: np.ndarray) -> pa.Array:
    return pa.array(np.maximum(us, 0), pa.timestamp("us"), mask=us < 0)


def tickets_table(t: Tickets, acc: Accounts, users: Users) -> dict[str, pa.Array | np.ndarray]:
    """The `tickets` raw table as columns."""
    return {
        "ticket_id": text.prefixed_ids("tkt_", np.arange(1, t.acct.size + 1), 7),
        "account_id": text.take(acc.id_array, t.acct),
        "created_at": t.created_us,
        "requester_user_id": text.take(users.id_array, t.requester),
        "priority": text.take(PRIORITIES, t.priority),
        "category": text.take(CATEGORIES, t.category),
        "status": t.status,
        "first_response_at": _ts_or_null(t.first_response_us),
        "solved_at": _ts_or_null(t.solved_us),
        "satisfaction": text.take(("good", "bad"), t.satisfaction),
        "subject": t.subject,
    }


def generate_nps(
    acc: Accounts,
    users: Users,
    window: Window,
    paths: HealthPaths,
    life: Lifecycle,
    acct_end_us: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, pa.Array | np.ndarray]:
    """The `nps_responses` raw table: quarterly-ish surveys of a sample of each account's users."""
    phase = rng.integers(0, 13, acc.n)
    acct, week = np.nonzero(life.alive)
    tenure_weeks = week - (acc.created_day[acct] // 7)
    survey = ((week - phase[acct]) % 13 == 0) & (tenure_weeks >= 4)
    acct, week = acct[survey], week[survey]
    invited = np.clip(np.round(0.25 * life.seats_w[acct, week] * acc.utilization[acct]), 1, 25).astype(np.int64)
    k = rng.binomial(invited, 0.3)
    a = np.repeat(acct, k)
    w = np.repeat(week, k)
    responded = _business_time(
        window, 7 * w + 1 + np.minimum(rng.exponential(2.5, a.size), 12).astype(np.int64), acc.region[a], rng
    )
    user = pick_active_users(users, a, responded, rng)
    ok = (user >= 0) & (responded < acct_end_us[a]) & (responded >= window.start_us)
    a, w, responded, user = a[ok], w[ok], responded[ok], user[ok]
    order = np.lexsort((a, responded))
    a, w, responded, user = a[order], w[order], responded[order], user[order]
    n = a.size

    h = paths.h[a, w] - 1
    admin = users.role[user] == 0  # admins (often the buyer) answer a bit more kindly
    score = np.clip(np.round(7.4 + 1.5 * h + rng.normal(0, 1.2, n) + 0.3 * admin), 0, 10).astype(np.int32)
    bucket = np.select([score <= 6, score <= 8], [0, 1], 2)
    has_comment = rng.random(n) < np.where(bucket == 0, 0.45, 0.25)
    pick = (rng.random(n) * _COMMENT_COUNT[bucket]).astype(np.int64)
    tmpl = np.where(has_comment, _COMMENT_OFFSET[bucket] + pick, -1)
    signed = has_comment & (rng.random(n) < 0.2)  # some sign their comment (PII)
    first_name = text.take_plain(text.capitalized(text.FIRST_NAMES), users.first[user])
    sign = pc.if_else(pa.array(signed), text.join(" - ", first_name), pa.scalar(""))
    return {
        "response_id": text.prefixed_ids("nps_", np.arange(1, n + 1), 7),
        "account_id": text.take(acc.id_array, a),
        "score": score,
        "responded_at": responded,
        "user_id": users.id_array.take(pa.array(user)),
        "comment": text.join(text.take_plain(_COMMENTS, tmpl), sign),
    }

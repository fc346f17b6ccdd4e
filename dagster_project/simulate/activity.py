"""Product events, generated per chunk of accounts and fully vectorized.

For every user and every day they can use the product, health decides whether they show up
(fewer active users when unhealthy), how much they do, what they do (fewer core actions, more
errors and a narrower set of features when unhealthy), with weekly seasonality and holidays.
On top come events tied to discrete happenings: invitations of new teammates, integrations connected
during onboarding, integrations removed after a failed integration, error bursts during outages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.simulate import text
from dagster_project.simulate.accounts import FEATURES, Accounts
from dagster_project.simulate.calendar import REGION_UTC_OFFSET_HOURS
from dagster_project.simulate.config import DAY_US, HOUR_US, SECOND_US, Window
from dagster_project.simulate.health import SHOCK_KINDS, HealthPaths
from dagster_project.simulate.users import Users, pick_active_users

EVENT_NAMES = (
    "session_started",  # login
    "page_viewed",
    "report_created",  # core actions: report_created, workflow_run, dashboard_shared
    "workflow_run",
    "dashboard_shared",
    "data_exported",
    "api_request",
    "settings_updated",
    "comment_added",
    "error_shown",
    "integration_connected",
    "integration_removed",
    "teammate_invited",
)
E = {name: i for i, name in enumerate(EVENT_NAMES)}
F = {name: i for i, name in enumerate(FEATURES)}
FREE_FEATURE = -2  # the feature is drawn from the account's features in use
# Feature of each event name (-1: none).
EVENT_FEATURE = np.array(
    [
        -1,
        FREE_FEATURE,
        F["reports"],
        F["workflows"],
        F["dashboards"],
        F["exports"],
        F["api"],
        F["admin"],
        FREE_FEATURE,
        FREE_FEATURE,
        F["integrations"],
        F["integrations"],
        F["admin"],
    ]
)
# Relative frequency of the non-login actions of an active user (page_viewed .. integration_removed).
BASE_MIX = np.array([0.0, 0.36, 0.11, 0.10, 0.05, 0.04, 0.12, 0.025, 0.07, 0.035, 0.002, 0.0008, 0.0])
CORE = np.array([E["report_created"], E["workflow_run"], E["dashboard_shared"]])

PROPERTIES: dict[str, list[str]] = {
    "session_started": ['{"client":"web"}', '{"client":"web"}', '{"client":"desktop"}', '{"client":"mobile"}'],
    "report_created": ['{"report_type":"table"}', '{"report_type":"chart"}', '{"report_type":"pivot"}'],
    "workflow_run": [
        '{"trigger":"schedule","status":"success"}',
        '{"trigger":"manual","status":"success"}',
        '{"trigger":"schedule","status":"failed"}',
    ],
    "dashboard_shared": ['{"channel":"email"}', '{"channel":"link"}', '{"channel":"slack"}'],
    "data_exported": ['{"format":"csv"}', '{"format":"xlsx"}', '{"format":"pdf"}'],
    "api_request": [
        '{"endpoint":"/v1/reports","status":200}',
        '{"endpoint":"/v1/events","status":200}',
        '{"endpoint":"/v1/users","status":200}',
        '{"endpoint":"/v1/events","status":429}',
    ],
    "error_shown": ['{"code":"E_TIMEOUT"}', '{"code":"E_PERMISSION"}', '{"code":"E_INTERNAL"}'],
    "integration_connected": [
        '{"provider":"salesforce"}',
        '{"provider":"hubspot"}',
        '{"provider":"slack"}',
        '{"provider":"snowflake"}',
    ],
    "integration_removed": [
        '{"provider":"salesforce"}',
        '{"provider":"hubspot"}',
        '{"provider":"slack"}',
        '{"provider":"snowflake"}',
    ],
    "teammate_invited": ['{"role":"admin"}', '{"role":"member"}', '{"role":"viewer"}'],  # by invitee role
}
_TEMPLATES = [t for name in EVENT_NAMES for t in PROPERTIES.get(name, [])]
_TEMPLATE_COUNT = np.array([len(PROPERTIES.get(name, [])) for name in EVENT_NAMES])
_TEMPLATE_OFFSET = np.cumsum(_TEMPLATE_COUNT) - _TEMPLATE_COUNT


@dataclass(frozen=True)
class ActivityModel:
    """How health and traits turn into activity (logit / log scale coefficients)."""

    # Which users use the product at all in a week: the account's active share of its users.
    share_intercept: float = 1.2  # ~77 % of a typical healthy account's users are active
    share_health: float = 2.0
    notice_penalty: float = 1.2  # after deciding not to renew, the team moves away
    rank_jitter: float = 0.08  # who is in the active set changes a little from week to week
    # Whether an active user shows up on a given (week)day.
    day_intercept: float = -0.6
    day_health: float = 0.5
    onboarding_penalty: float = 1.2  # new users start slowly (decays over ~10 days)
    actions_intercept: float = 0.25  # log of non-login actions per active day
    actions_health: float = 0.3
    extra_session_rate: float = 0.3
    feature_health: float = 1.0  # feature breadth shrinks when unhealthy
    core_health: float = 0.25
    error_health: float = 0.45
    removal_health: float = 0.8
    api_without_user: float = 0.4  # share of API calls made with a service token (no user)
    late_share: float = 0.004  # events that arrive hours to two days late


@dataclass
class EventChunk:
    """Events of one account chunk, sorted by occurred_at; ids not yet assigned."""

    a_lo: int  # the chunk's accounts are [a_lo, a_hi) and their users [u_lo, u_hi)
    a_hi: int
    u_lo: int
    u_hi: int
    acct: np.ndarray
    user: np.ndarray  # -1: no user
    name: np.ndarray
    feature: np.ndarray  # -1: none
    template: np.ndarray  # -1: no properties
    occurred_us: np.ndarray
    received_us: np.ndarray

    def __len__(self) -> int:
        return len(self.acct)


def generate_events(
    a_lo: int,
    a_hi: int,
    acc: Accounts,
    users: Users,
    window: Window,
    paths: HealthPaths,
    acct_end_us: np.ndarray,
    notice: np.ndarray,
    day_factor: np.ndarray,
    model: ActivityModel,
    rng: np.random.Generator,
) -> EventChunk:
    """All events of accounts [a_lo, a_hi).

    `notice` (accounts in the chunk x weeks) marks weeks after an account decided not to renew.
    """
    n_weeks = window.n_weeks
    u_lo, u_hi = users.acct_offset[a_lo], users.acct_offset[a_hi]
    u_all = np.arange(u_lo, u_hi)
    uacct = users.acct[u_all]
    start_us = np.maximum(users.created_us[u_all], window.start_us)
    end_us = np.minimum(users.deactivated_us[u_all], acct_end_us[uacct])
    d_first = window.us_to_day(start_us)
    d_last = np.minimum(-(-(end_us - window.start_us) // DAY_US), window.n_days)  # exclusive
    exists = d_last > d_first

    # Who uses the product at all in a week: the account's active share follows health; its users
    # are ranked (a persistent order, jittered a little each week) and the top share of them form
    # the active set. Active users, seat utilization and their trends therefore move with health
    # without saturating over 30 days. Worked out per user-week, before expanding to days.
    n_uw = np.where(exists, (d_last - 1) // 7 - d_first // 7 + 1, 0)
    uw_user = np.repeat(u_all, n_uw)
    uw_week = np.repeat(d_first // 7, n_uw) + _ranks_within(n_uw)
    a = users.acct[uw_user]
    h = paths.h[a, uw_week]
    share_logit = (
        model.share_intercept
        + acc.usage_propensity[a]
        + model.share_health * (h - 1)
        - model.notice_penalty * notice[a - a_lo, uw_week]
    )
    rank = rng.random(u_all.size)[uw_user - u_lo] + model.rank_jitter * rng.standard_normal(uw_user.size, np.float32)
    in_set = rank < 1 / (1 + np.exp(-share_logit))
    uw_user, uw_week = uw_user[in_set], uw_week[in_set]

    # Each day of an active week: does the person show up (weekday rhythm, holidays, onboarding)?
    ud_user = np.repeat(uw_user, 7)
    ud_day = np.repeat(7 * uw_week, 7) + np.tile(np.arange(7), uw_user.size)
    inside = (ud_day >= d_first[ud_user - u_lo]) & (ud_day < d_last[ud_user - u_lo])
    ud_user, ud_day = ud_user[inside], ud_day[inside]
    a = users.acct[ud_user]
    h = paths.h[a, ud_day // 7]
    tenure_days = ud_day - window.us_to_day(users.created_us[ud_user])
    logit = (
        model.day_intercept
        + users.propensity[ud_user]
        + model.day_health * (h - 1)
        - model.onboarding_penalty * np.exp(-tenure_days / 10.0)
    )
    p_active = day_factor[acc.region[a], ud_day] / (1 + np.exp(-logit))
    active = rng.random(ud_user.size, np.float32) < p_active
    ud_user, ud_day, a, h = ud_user[active], ud_day[active], a[active], h[active]

    # Session start in local business hours, converted to UTC.
    local_hour = 7.0 + 11.0 * rng.beta(2.0, 2.4, ud_user.size)
    t0 = window.day_to_us(ud_day) + ((local_hour + REGION_UTC_OFFSET_HOURS[acc.region[a]]) * HOUR_US).astype(np.int64)

    # Logins: one per active day plus extra sessions later that day.
    n_sess = 1 + rng.poisson(model.extra_session_rate, ud_user.size)
    li = np.repeat(np.arange(ud_user.size), n_sess)
    first_sess = np.r_[True, li[1:] != li[:-1]]
    login_ts = t0[li] + np.where(first_sess, 0, (rng.uniform(0.5, 8.0, li.size) * HOUR_US).astype(np.int64))

    # Other actions: how many (health, account and person intensity), which, and on what feature.
    lam = np.exp(
        model.actions_intercept
        + acc.usage_intensity[a]
        + 0.25 * users.propensity[ud_user]
        + model.actions_health * (h - 1)
        + 0.1 * acc.plan[a]
    )
    n_act = rng.poisson(lam)
    ai = np.repeat(np.arange(ud_user.size), n_act)
    act_ts = t0[ai] + (np.minimum(rng.exponential(1.2, ai.size), 10.0) * HOUR_US).astype(np.int64)
    aw = (a[ai] - a_lo) * n_weeks + ud_day[ai] // 7
    mix_cdf, feat_cdf = _weekly_mixes(a_lo, a_hi, acc, paths, notice, model)
    act_name = _draw(mix_cdf, aw, rng)

    # Outages: users of hit accounts run into errors that day.
    out = (paths.shock_kind == SHOCK_KINDS.index("outage")) & (paths.shock_acct >= a_lo) & (paths.shock_acct < a_hi)
    hit = np.zeros((a_hi - a_lo, window.n_days), dtype=bool)
    hit[paths.shock_acct[out] - a_lo, paths.shock_day[out]] = True
    on_outage = np.flatnonzero(hit[a - a_lo, ud_day])
    n_err = np.zeros(ud_user.size, dtype=np.int64)
    n_err[on_outage] = rng.poisson(2.5, on_outage.size)
    ei = np.repeat(np.arange(ud_user.size), n_err)
    err_ts = t0[ei] + (rng.uniform(0, 4, ei.size) * HOUR_US).astype(np.int64)

    parts = [
        (a[li], ud_user[li], np.full(li.size, E["session_started"]), login_ts),
        (a[ai], ud_user[ai], act_name, act_ts),
        (a[ei], ud_user[ei], np.full(ei.size, E["error_shown"]), err_ts),
        *_happenings(a_lo, a_hi, acc, users, window, paths, rng),
    ]
    acct_ = np.concatenate([p[0] for p in parts])
    user = np.concatenate([p[1] for p in parts])
    name = np.concatenate([p[2] for p in parts]).astype(np.int64)
    ts = np.concatenate([p[3] for p in parts])
    invitee_role = np.concatenate([p[4] if len(p) > 4 else np.full(p[0].size, -1) for p in parts])

    # Feature: fixed per event name, or drawn from the features the account uses that week.
    feature = EVENT_FEATURE[name]
    free = feature == FREE_FEATURE
    if free.any():
        w = np.minimum(window.us_to_day(ts[free]), window.n_days - 1) // 7
        feature[free] = _draw(feat_cdf, (acct_[free] - a_lo) * n_weeks + np.maximum(w, 0), rng)

    # Only while the account is a customer and the person a user (every event here has a user yet).
    has_user = user >= 0
    local = np.where(has_user, user - u_lo, 0)
    acct_lo = np.maximum(acc.created_us[a_lo:a_hi], window.start_us)
    lo = np.where(has_user, start_us[local], acct_lo[acct_ - a_lo])
    hi = np.where(has_user, end_us[local], acct_end_us[a_lo:a_hi][acct_ - a_lo])
    keep = (ts >= lo) & (ts < hi)

    # API calls often use a service token rather than a person.
    api = np.flatnonzero(name == E["api_request"])
    user[api[rng.random(api.size, np.float32) < model.api_without_user]] = -1

    # Received a little later (seconds; a few devices sync hours or days late). Events not yet
    # received when the data ends are not in the data.
    delay = (np.exp(rng.standard_normal(ts.size, np.float32) + np.float32(np.log(1.5))) * SECOND_US).astype(np.int64)
    late = np.flatnonzero(rng.random(ts.size, np.float32) < model.late_share)
    delay[late] = (rng.uniform(1, 48, late.size) * HOUR_US).astype(np.int64)
    received = ts + delay
    keep &= received < window.cutoff_us

    template = np.where(
        _TEMPLATE_COUNT[name] > 0,
        _TEMPLATE_OFFSET[name] + (rng.random(name.size, np.float32) * _TEMPLATE_COUNT[name]).astype(np.int64),
        -1,
    )
    # An invitation's properties name the role the invitee gets (templates are in ROLES order).
    template = np.where(invitee_role >= 0, _TEMPLATE_OFFSET[E["teammate_invited"]] + invitee_role, template)

    order = np.argsort(ts[keep])
    sel = np.flatnonzero(keep)[order]
    return EventChunk(
        a_lo=a_lo,
        a_hi=a_hi,
        u_lo=int(u_lo),
        u_hi=int(u_hi),
        acct=acct_[sel],
        user=user[sel],
        name=name[sel],
        feature=feature[sel],
        template=template[sel],
        occurred_us=ts[sel],
        received_us=received[sel],
    )


def _ranks_within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each c in counts, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _weekly_mixes(
    a_lo: int, a_hi: int, acc: Accounts, paths: HealthPaths, notice: np.ndarray, model: ActivityModel
) -> tuple[np.ndarray, np.ndarray]:
    """Per account-week cumulative distributions of action names and of features in use."""
    h = np.nan_to_num(paths.h[a_lo:a_hi], nan=1.0)[:, :, None] - 1  # (A, W, 1)
    aff = acc.feature_affinity[a_lo:a_hi][:, None, :]  # (A, 1, F)
    feat_w = 1 / (1 + np.exp(-2.5 * (aff + model.feature_health * h)))  # (A, W, F)
    mix = np.broadcast_to(BASE_MIX, h.shape[:2] + (len(EVENT_NAMES),)).copy()
    fixed = EVENT_FEATURE >= 0
    mix[..., fixed] *= feat_w[..., EVENT_FEATURE[fixed]]
    mix[..., CORE] *= np.exp(model.core_health * h)
    mix[..., E["error_shown"]] *= np.exp(-model.error_health * h[..., 0])
    mix[..., E["integration_removed"]] *= np.exp(-model.removal_health * h[..., 0])
    mix[..., E["data_exported"]] *= 1 + 2.0 * notice  # leaving customers take their data with them
    return _cdf(mix.reshape(-1, mix.shape[-1])), _cdf(feat_w.reshape(-1, feat_w.shape[-1]))


def _cdf(weights: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return cum


def _draw(cdf: np.ndarray, row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per element from the distribution in `cdf[row]`, without a (n, k) temporary.

    Row r's cumulative probabilities are laid out on [r, r + 1] in one sorted array, so a single
    searchsorted of r + u (u uniform in [0, 1)) finds the category.
    """
    k = cdf.shape[1]
    flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()
    return np.searchsorted(flat, row + rng.random(row.size), side="right") - row * k


def _happenings(
    a_lo: int, a_hi: int, acc: Accounts, users: Users, window: Window, paths: HealthPaths, rng: np.random.Generator
) -> list[tuple[np.ndarray, ...]]:
    """Events tied to discrete happenings rather than daily usage: (account, user, name, time[, role])."""
    out = []
    # Invitations: every invited user was invited by an active teammate shortly before joining.
    u = np.arange(users.acct_offset[a_lo], users.acct_offset[a_hi])
    u = u[users.invited[u] & (users.created_us[u] >= window.start_us)]
    ts = users.created_us[u] - (rng.uniform(0.05, 20, u.size) * HOUR_US).astype(np.int64)
    ts = np.maximum(ts, acc.created_us[users.acct[u]])
    inviter = pick_active_users(users, users.acct[u], ts, rng)
    out.append((users.acct[u], inviter, np.full(u.size, E["teammate_invited"]), ts, users.role[u]))

    # New accounts connect integrations during onboarding.
    new = np.arange(a_lo, a_hi)[~acc.existing[a_lo:a_hi]]
    k = 1 + rng.poisson(1.2, new.size)
    a = np.repeat(new, k)
    ts = acc.created_us[a] + (rng.gamma(2.0, 4.0, a.size) * DAY_US).astype(np.int64)
    out.append((a, pick_active_users(users, a, ts, rng), np.full(a.size, E["integration_connected"]), ts))

    # A failed integration: errors pile up for a day or two, then someone removes it (or more).
    fail = paths.shock_kind == SHOCK_KINDS.index("integration_failed")
    fail &= (paths.shock_acct >= a_lo) & (paths.shock_acct < a_hi)
    fa = paths.shock_acct[fail]
    removal = window.day_to_us(paths.shock_day[fail]) + ((9 + REGION_UTC_OFFSET_HOURS[acc.region[fa]]) * HOUR_US)
    removal = removal.astype(np.int64)
    k = 1 + rng.poisson(0.6, fa.size)
    a = np.repeat(fa, k)
    ts = np.repeat(removal, k) + (rng.uniform(0, 8, a.size) * HOUR_US).astype(np.int64)
    out.append((a, pick_active_users(users, a, ts, rng), np.full(a.size, E["integration_removed"]), ts))
    k = rng.poisson(6.0, fa.size)
    a = np.repeat(fa, k)
    ts = np.repeat(removal, k) - (rng.uniform(0, 48, a.size) * HOUR_US).astype(np.int64)
    out.append((a, pick_active_users(users, a, ts, rng), np.full(a.size, E["error_shown"]), ts))
    return out


def events_table(
    chunk: EventChunk, first_event_number: int, acc: Accounts, users: Users, names: tuple[str, ...] = EVENT_NAMES
) -> dict[str, pa.Array | np.ndarray]:
    """The `events` raw table for one chunk, with ids continuing from `first_event_number`.

    `names` is the vocabulary `chunk.name` indexes (EVENT_NAMES plus any shape-specific events)."""
    return {
        "event_id": text.prefixed_ids("evt_", first_event_number + np.arange(len(chunk)), 10),
        # Dictionaries limited to the chunk's accounts and users keep the Parquet dictionary pages small.
        "account_id": text.take(acc.id_array.slice(chunk.a_lo, chunk.a_hi - chunk.a_lo), chunk.acct - chunk.a_lo),
        "event_name": text.take(names, chunk.name),
        "occurred_at": chunk.occurred_us,
        "user_id": text.take(
            users.id_array.slice(chunk.u_lo, chunk.u_hi - chunk.u_lo),
            np.where(chunk.user >= 0, chunk.user - chunk.u_lo, -1),
        ),
        "feature": text.take(FEATURES, chunk.feature),
        "received_at": chunk.received_us,
        "properties": text.take(_TEMPLATES, chunk.template),
    }

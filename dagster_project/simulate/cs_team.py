"""The customer-success team inside the simulation: it sees health decline, works playbooks, and helps.

Each week, from the health at the week's start (the decline the warehouse would see in the data),
the team raises its own alerts: a noticeable fall over the last one or two weeks, or a fall below a
trouble level. The severity picks the playbook, as the warehouse's alerts do (health/alerts.py):
minor -> in-app nudge, moderate -> CS outreach, major -> technical remediation + renewal
prioritization. An account raises at most one alert per `cooldown_weeks`.

Every alert's account-horizon block is in the playbook group or the holdout, by the same salted hash
as the warehouse (`holdout_group` calls core/holdout.py's `assign_groups`; a unit test keeps
the two equal). Holdout alerts get no outreach. The team has a weekly capacity (actions per 100
accounts); it works the most severe alerts first, lets the rest wait one week and then drops them,
so in busy weeks some alerts are never worked. It works at most one alert per account and block.

A worked alert is one `cs_activities` row. When it ends `completed` or `escalated`, the account's
latent health gets a bump delta at the completion week, which then mean-reverts like any deviation:
that is the playbook's true effect, and it changes everything observable and the churn after it.
delta depends on the playbook and the account's problem (`PROBLEMS`, see `CSTeamModel.effect`):
outreach helps adoption problems much more than budget ones, remediation is strongest for failed
integrations and outages, the nudge is weak. `playbook_effect` scales every delta; at 0 the health
paths are exactly those of a company without the team (its draws come from its own stream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy.special import ndtri

from dagster_project.core.holdout import HOLDOUT, assign_groups, horizon_block
from dagster_project.simulate import text
from dagster_project.simulate.accounts import Accounts
from dagster_project.simulate.config import DAY_US, HOUR_US, Window

PLAYBOOKS = ("in-app nudge", "CS outreach", "technical remediation + renewal prioritization")
NUDGE, OUTREACH, REMEDIATION = 0, 1, 2  # index = alert severity: minor, moderate, major
# Why an account is declining: the last shock of the recent weeks, else its traits.
PROBLEMS = ("champion_left", "integration_failed", "outage", "low_adoption", "budget")
LOW_ADOPTION, BUDGET = 3, 4
OUTCOMES = ("completed", "no_response", "declined", "escalated")
COMPLETED, NO_RESPONSE, DECLINED, ESCALATED = 0, 1, 2, 3
FEEDBACK = ("useful", "not_useful")
USEFUL_REASONS = ("customer re-engaged", "renewal call booked", "fixed the blocker", "found a new champion")
NOT_USEFUL_REASONS = ("account was not at risk", "customer already knew", "budget decision, not product")

# The warehouse's holdout (core/holdout.py): blocks of horizon_days from this Monday.


@dataclass(frozen=True)
class CSTeamModel:
    """How the team alerts, how much it can do, how it responds, and what each playbook is worth."""

    minor_drop: float = 0.55  # fall of health over the last 1-2 weeks that raises an alert
    moderate_drop: float = 0.7
    major_drop: float = 1.1
    trouble_level: float = 0.0  # falling below it is at least moderate
    crisis_level: float = -0.6  # falling below it is major
    alert_level: float = 0.4  # a fall that leaves health above it goes unnoticed (still a healthy account)
    cooldown_weeks: int = 4
    problem_memory_weeks: int = 8  # a shock explains a decline for this many weeks
    low_adoption_utilization: float = 0.75  # below it (or a low usage propensity) a shock-free decline is adoption
    actions_per_100_accounts: float = 2.0  # weekly capacity
    max_wait_weeks: int = 1  # an alert not worked by then is never worked
    response_hours_median: float = 10.0  # before the activity starts; longer when busy
    # Per playbook: P(completed, no_response, declined, escalated) and the median days to close.
    outcome_probs: tuple[tuple[float, ...], ...] = (
        (0.75, 0.22, 0.03, 0.0),
        (0.70, 0.15, 0.08, 0.07),
        (0.65, 0.08, 0.07, 0.20),
    )
    close_days_median: tuple[float, float, float] = (0.5, 3.0, 6.0)
    # Mean health bump of a completed playbook (rows) for an account with each problem (columns:
    # champion_left, integration_failed, outage, low_adoption, budget). Health is in logit-like units
    # (the stationary sd of an account's health is about 0.64).
    effect: tuple[tuple[float, ...], ...] = (
        (0.12, 0.08, 0.05, 0.18, 0.03),
        (1.10, 0.80, 0.25, 1.00, 0.12),
        (0.70, 1.50, 1.25, 0.50, 0.15),
    )
    effect_noise_sd: float = 0.35  # lognormal spread of one account's bump around the mean
    feedback_share: float = 0.3  # of closed activities, the share where the CSM leaves feedback
    at_risk_level: float = 0.3  # health below it: the account really was at risk


def holdout_group(account_ids: np.ndarray, dates: np.ndarray, share: float, salt: str, horizon_days: int) -> tuple:
    """(is_holdout, block) per alert: the warehouse's own salted account-block hash (core/holdout.py),
    so the simulated team and the warehouse put every account-block in the same group."""
    groups = assign_groups(account_ids, np.asarray(dates, dtype="datetime64[D]"), share, salt, horizon_days)
    return groups == HOLDOUT, horizon_block(np.asarray(dates, dtype="datetime64[D]"), horizon_days)


@dataclass
class CSWork:
    """Everything the team did. Alerts and activities are parallel arrays; days are simulation days."""

    problem: np.ndarray  # (n, n_weeks) index into PROBLEMS: why the account would be declining that week
    capacity: int  # activities the team can start per week
    alert_acct: np.ndarray
    alert_week: np.ndarray  # the alert is raised on this week's Monday
    alert_playbook: np.ndarray  # index into PLAYBOOKS
    alert_problem: np.ndarray
    alert_holdout: np.ndarray  # bool
    alert_block: np.ndarray  # horizon block of the holdout
    alert_worked: np.ndarray  # index into the activities, -1 if never worked
    act_alert: np.ndarray  # index into the alerts
    act_created_us: np.ndarray
    act_closed_us: np.ndarray  # may lie after the window (still open)
    act_outcome: np.ndarray  # index into OUTCOMES
    act_delta: np.ndarray  # health bump it brings at its completion week (0 without effect)
    act_feedback: np.ndarray  # index into FEEDBACK, -1 without feedback
    act_reason: np.ndarray  # index into the reasons of its feedback, -1 without
    act_closed_week: np.ndarray  # simulation week of the close (the bump lands at its end)


class CSTeam:
    """The team, stepped once per simulated week by `simulate_health` (see the module docstring)."""

    def __init__(
        self,
        acc: Accounts,
        window: Window,
        model: CSTeamModel,
        rng: np.random.Generator,
        playbook_effect: float,
        holdout_share: float,
        holdout_salt: str,
        horizon_days: int,
    ):
        self.acc, self.window, self.model, self.rng = acc, window, model, rng
        self.playbook_effect = playbook_effect
        self.holdout = (holdout_share, holdout_salt, horizon_days)
        n, n_weeks = acc.n, window.n_weeks
        self.capacity = max(1, round(model.actions_per_100_accounts * n / 100))
        self.problem = np.full((n, n_weeks), BUDGET, dtype=np.int64)
        adoption = (acc.utilization < model.low_adoption_utilization) | (acc.usage_propensity < -0.1)
        self.trait_problem = np.where(adoption, LOW_ADOPTION, BUDGET)
        self.last_shock_kind = np.full(n, -1)
        self.last_shock_week = np.full(n, -(10**6))
        self.last_alert_week = np.full(n, -(10**6))
        self.last_worked_block = np.full(n, -1, dtype=np.int64)
        self.prev = np.full((2, n), np.nan)  # health one and two weeks ago
        self.pending = np.zeros((n, n_weeks))  # bumps landing at the end of each week
        self.queue: list[int] = []  # waiting alerts (indices)
        self.worked: list[tuple[np.ndarray, np.ndarray]] = []  # (alerts, their activities)
        self.alerts: dict[str, list] = {k: [] for k in ("acct", "week", "playbook", "problem", "holdout", "block")}
        self.acts: dict[str, list] = {
            k: [] for k in ("alert", "created_us", "closed_us", "outcome", "delta", "feedback", "reason")
        }

    def step(self, t: int, h: np.ndarray, shock_kind: np.ndarray) -> np.ndarray:
        """Alert on week t's health, work the queue, remember this week's shocks; returns the bumps
        (health units per account) that land at the end of week t."""
        m = self.model
        started = ~np.isnan(h)
        recent = t - self.last_shock_week <= m.problem_memory_weeks
        self.problem[:, t] = np.where(recent, self.last_shock_kind, self.trait_problem)
        self._raise_alerts(t, h, started)
        self._work(t, h)
        hit = shock_kind >= 0
        self.last_shock_kind[hit], self.last_shock_week[hit] = shock_kind[hit], t
        self.prev = np.stack([h, self.prev[0]])
        return self.pending[:, t]

    def _raise_alerts(self, t: int, h: np.ndarray, started: np.ndarray) -> None:
        m = self.model
        with np.errstate(invalid="ignore"):
            before = np.fmax(self.prev[0], self.prev[1])
            drop = np.nan_to_num(before - h)
            below = lambda level: (h < level) & (self.prev[0] >= level)  # noqa: E731 (crossed this week)
            severity = np.select(
                [(drop >= m.major_drop) | below(m.crisis_level), (drop >= m.moderate_drop) | below(m.trouble_level)],
                [REMEDIATION, OUTREACH],
                np.where(drop >= m.minor_drop, NUDGE, -1),
            )
        severity[~started | (h >= m.alert_level) | (t - self.last_alert_week < m.cooldown_weeks)] = -1
        idx = np.flatnonzero(severity >= 0)
        if not idx.size:
            return
        self.last_alert_week[idx] = t
        date = np.datetime64(self.window.start_date, "D") + 7 * t
        holdout, block = holdout_group(self.acc.account_id[idx], np.full(idx.size, date), *self.holdout)
        first = len(self.alerts["acct"])
        for key, values in zip(
            self.alerts, (idx, np.full(idx.size, t), severity[idx], self.problem[idx, t], holdout, block)
        ):
            self.alerts[key].extend(values.tolist())
        # Playbook alerts of an account-block not yet worked join the queue.
        self.queue += [
            first + i for i in range(idx.size) if not holdout[i] and self.last_worked_block[idx[i]] != block[i]
        ]

    def _work(self, t: int, h: np.ndarray) -> None:
        m, rng, a = self.model, self.rng, self.alerts
        if not self.queue:
            return
        q = np.array(self.queue)
        q = q[self.last_worked_block[np.array(a["acct"])[q]] != np.array(a["block"])[q]]
        order = np.lexsort((np.array(a["week"])[q], -np.array(a["playbook"])[q]))  # most severe, then oldest
        q = q[order]
        load = q.size / self.capacity
        todo, rest = q[: self.capacity], q[self.capacity :]
        self.queue = [i for i in rest.tolist() if t - a["week"][i] < m.max_wait_weeks]
        if not todo.size:
            return
        acct = np.array(a["acct"])[todo]
        playbook = np.array(a["playbook"])[todo]
        problem = np.array(a["problem"])[todo]
        waited = np.array(a["week"])[todo] < t
        # Start: hours after the Monday-morning alert (or, for an alert that waited, after Monday
        # morning of this week), longer when the queue is long; never past this week's end.
        u_delay, u_outcome, u_close, u_fb, u_kind, u_reason = rng.random((6, todo.size))
        z_effect = rng.normal(size=todo.size)
        monday_us = self.window.day_to_us(7 * t) + 8 * HOUR_US
        delay_h = m.response_hours_median * (1 + 0.5 * load) * np.exp(0.9 * _probit(u_delay))
        delay_h = np.minimum(delay_h + np.where(waited, 24.0, 0.0), 150.0)
        created_us = monday_us + (delay_h * HOUR_US).astype(np.int64)
        cum = np.cumsum(np.array(m.outcome_probs)[playbook], axis=1)
        outcome = (u_outcome[:, None] > cum).sum(axis=1).clip(0, len(OUTCOMES) - 1)
        close_days = np.array(m.close_days_median)[playbook] * np.exp(0.6 * _probit(u_close))
        close_days = np.select([outcome == ESCALATED, outcome == NO_RESPONSE], [3 * close_days, 14.0], close_days)
        closed_us = created_us + (close_days * DAY_US).astype(np.int64)
        sd = m.effect_noise_sd
        effective = (outcome == COMPLETED) | (outcome == ESCALATED)
        delta = np.array(m.effect)[playbook, problem] * np.exp(sd * z_effect - sd**2 / 2) * self.playbook_effect
        delta = np.where(effective, delta, 0.0)
        closed_week = self.window.us_to_day(closed_us) // 7
        lands = closed_week < self.window.n_weeks
        np.add.at(self.pending, (acct[lands], closed_week[lands]), delta[lands])
        # Feedback on some closed activities: not useful more often where the account was fine.
        at_risk = h[acct] < m.at_risk_level
        gives = (u_fb < m.feedback_share) & (outcome != NO_RESPONSE)
        p_not_useful = np.where(at_risk & effective, 0.2, np.where(at_risk, 0.5, 0.7))
        not_useful = u_kind < p_not_useful
        feedback = np.where(gives, not_useful.astype(np.int64), -1)
        reason = np.where(
            not_useful,
            np.where(~at_risk, 0, 1 + (u_reason < 0.5 + 0.4 * (problem == BUDGET))),
            (u_reason * len(USEFUL_REASONS)).astype(np.int64),
        )
        reason = np.where(gives, reason, -1)

        first = len(self.acts["alert"])
        self.last_worked_block[acct] = np.array(a["block"])[todo]
        self.worked.append((todo, first + np.arange(todo.size)))
        for key, values in zip(self.acts, (todo, created_us, closed_us, outcome, delta, feedback, reason)):
            self.acts[key].extend(values.tolist())

    def result(self) -> CSWork:
        """The alerts and activities of the whole window."""
        a, w = self.alerts, self.acts
        worked = np.full(len(a["acct"]), -1, dtype=np.int64)
        for alerts, acts in self.worked:
            worked[alerts] = acts

        def arr(values: list, dtype: type = np.int64) -> np.ndarray:
            return np.array(values, dtype=dtype)

        return CSWork(
            problem=self.problem,
            capacity=self.capacity,
            alert_acct=arr(a["acct"]),
            alert_week=arr(a["week"]),
            alert_playbook=arr(a["playbook"]),
            alert_problem=arr(a["problem"]),
            alert_holdout=arr(a["holdout"], bool),
            alert_block=arr(a["block"]),
            alert_worked=worked,
            act_alert=arr(w["alert"]),
            act_created_us=arr(w["created_us"]),
            act_closed_us=arr(w["closed_us"]),
            act_outcome=arr(w["outcome"]),
            act_delta=arr(w["delta"], float),
            act_feedback=arr(w["feedback"]),
            act_reason=arr(w["reason"]),
            act_closed_week=self.window.us_to_day(arr(w["closed_us"])) // 7,
        )


def _probit(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of uniforms (the draws stay one uniform per use)."""
    return ndtri(np.clip(u, 1e-9, 1 - 1e-9))


def _kept(work: CSWork, window: Window, churn_day: np.ndarray) -> np.ndarray:
    """Activities written: started inside the window while the account was still a customer."""
    acct = work.alert_acct[work.act_alert]
    return (work.act_created_us < window.cutoff_us) & (window.us_to_day(work.act_created_us) < churn_day[acct])


def cs_activities_table(work: CSWork, acc: Accounts, window: Window, churn_day: np.ndarray) -> dict:
    """The `cs_activities` raw table, in the order the activities started.

    `alert_id` is NULL: the team's alerts are its own, not the warehouse's; the warehouse matches an
    activity to the account's alert by account and time. An activity still open at the window's end
    has no completed_at, outcome or feedback.
    """
    rows = np.flatnonzero(_kept(work, window, churn_day))
    rows = rows[np.argsort(work.act_created_us[rows], kind="stable")]
    acct = work.alert_acct[work.act_alert[rows]]
    closed = work.act_closed_us[rows] < window.cutoff_us
    feedback = np.where(closed, work.act_feedback[rows], -1)
    reasons = [
        (NOT_USEFUL_REASONS if f else USEFUL_REASONS)[r] if f >= 0 else None
        for f, r in zip(feedback.tolist(), work.act_reason[rows].tolist())
    ]
    return {
        "activity_id": text.prefixed_ids("csa_", np.arange(1, rows.size + 1), 6),
        "account_id": text.take(acc.id_array, acct),
        "playbook": text.take(PLAYBOOKS, work.alert_playbook[work.act_alert[rows]]),
        "created_at": work.act_created_us[rows],
        "alert_id": pa.nulls(rows.size, pa.string()),
        "owner_id": text.prefixed_ids("csm_", acc.csm[acct], 2),
        "completed_at": pa.array(work.act_closed_us[rows], pa.int64(), mask=~closed),
        "outcome": text.take(OUTCOMES, np.where(closed, work.act_outcome[rows], -1)),
        "feedback": text.take(FEEDBACK, feedback),
        "feedback_reason": pa.array(reasons, pa.string()),
    }


def episodes_table(
    work: CSWork,
    acc: Accounts,
    window: Window,
    churn_day: np.ndarray,
    arr_usd: np.ndarray | None,
    churn_effect: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    horizon_days: int,
) -> dict:
    """Ground truth per alert episode: the first team alert of an account (while a customer) in a
    horizon block, its group, whether and how it was worked, and the true effect of that work.

    `arr_usd` (n, n_weeks) is the ARR at each week's start (None: no contracts, NULL);
    `churn_effect(acct, week, delta, horizon_days)` is the oracle's `playbook_churn_effect`.
    """
    day = 7 * work.alert_week
    customer = day < churn_day[work.alert_acct]
    kept = _kept(work, window, churn_day)
    worked = _at(kept, work.alert_worked, False)
    order = np.lexsort((work.alert_week, work.alert_block, work.alert_acct))
    order = order[customer[order]]
    acct, block = work.alert_acct[order], work.alert_block[order]
    new_episode = np.r_[True, (acct[1:] != acct[:-1]) | (block[1:] != block[:-1])][: order.size]
    episode = np.cumsum(new_episode) - 1
    first = order[new_episode]
    # The alert of the episode that was worked, if any (at most one per account-block).
    worked_alert = np.full(first.size, -1)
    w = worked[order]
    worked_alert[episode[w]] = order[w]
    is_worked = worked_alert >= 0
    chosen = np.where(is_worked, worked_alert, first)
    act = np.where(is_worked, work.alert_worked[chosen], -1)

    ep_acct, ep_week, ep_day = work.alert_acct[first], work.alert_week[first], day[first]
    treated_week = _at(work.act_closed_week, act, window.n_weeks) + 1
    applied = is_worked & (treated_week < window.n_weeks)
    delta = np.where(applied, _at(work.act_delta, act, 0.0), 0.0)
    effect = churn_effect(ep_acct, treated_week, delta, ep_day + horizon_days - 7 * treated_week)
    start = np.datetime64(window.start_date, "D")
    treated_day = _at(window.us_to_day(work.act_created_us), act, 0)
    churned = churn_day[ep_acct] < ep_day + horizon_days
    return {
        "account_id": text.take(acc.id_array, ep_acct),
        "alert_date": pa.array(start + ep_day, pa.date32()),
        "horizon_block": work.alert_block[first],
        "treatment_group": text.take(("playbook", "holdout"), work.alert_holdout[first].astype(np.int64)),
        "playbook": text.take(PLAYBOOKS, work.alert_playbook[chosen]),
        "worked": is_worked,
        "treated_date": pa.array(start + treated_day, pa.date32(), mask=~is_worked),
        "outcome": text.take(OUTCOMES, _at(work.act_outcome, act, -1)),
        "true_health_effect": delta,
        "true_churn_effect_90d": np.where(applied, effect, 0.0),
        "churned_within_horizon": churned,
        "arr_at_alert_usd": pa.nulls(first.size, pa.float64()) if arr_usd is None else arr_usd[ep_acct, ep_week],
        "problem_type": text.take(PROBLEMS, work.alert_problem[first]),
    }


def _at(values: np.ndarray, idx: np.ndarray, fill: object) -> np.ndarray:
    """values[idx], and `fill` where idx is -1."""
    values = np.asarray(values)
    if not values.size:
        return np.full(np.shape(idx), fill, dtype=np.asarray(fill).dtype)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], fill)

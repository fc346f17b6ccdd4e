"""The customer accounts: segment, firmographics, initial contract and hidden traits.

Some accounts already exist when the window starts (created up to a few years earlier; their events
start at the window start), the rest sign up during the window, a bit more often later (the company
grows), so there is a steady flow of onboarding accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from dagster_project.simulate import text
from dagster_project.simulate.calendar import REGION_UTC_OFFSET_HOURS, REGIONS
from dagster_project.simulate.config import HOUR_US, SimulationConfig, Stage, Window, stage_rng

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = np.array([0.60, 0.30, 0.10])
PLANS = ("starter", "growth", "enterprise")
# List price per seat and month (USD); annual contracts get ANNUAL_DISCOUNT off.
PLAN_PRICE = np.array([15.0, 35.0, 60.0])
ANNUAL_DISCOUNT = 0.85
INDUSTRIES = ("software", "fintech", "healthcare", "retail", "manufacturing", "education", "media", "logistics")
INDUSTRY_SHARE = np.array([0.24, 0.14, 0.12, 0.12, 0.11, 0.10, 0.09, 0.08])
REGION_SHARE = np.array([0.45, 0.30, 0.15, 0.10])
N_CSMS = 10
FEATURES = ("reports", "workflows", "dashboards", "alerts", "admin", "integrations", "api", "exports")
# Mean affinity per feature: everyone uses reports, fewer use the API (enterprise more, see below).
FEATURE_AFFINITY_MEAN = np.array([2.2, 0.9, 1.3, 0.4, 1.0, 0.6, -0.4, 0.5])

# Per segment: seats (lognormal median, sigma, min), P(annual billing), plan mix, employees (median).
SEATS_MEDIAN = np.array([7.0, 32.0, 140.0])
SEATS_SIGMA = np.array([0.55, 0.5, 0.55])
SEATS_MIN = np.array([2, 10, 50])
P_ANNUAL = np.array([0.12, 0.6, 0.92])
PLAN_MIX = np.array([[0.65, 0.35, 0.0], [0.15, 0.70, 0.15], [0.0, 0.25, 0.75]])
EMPLOYEES_MEDIAN = np.array([45.0, 600.0, 6000.0])
# Latent health baseline by segment: bigger customers are better onboarded and more committed.
HEALTH_BASELINE_MEAN = np.array([0.9, 1.1, 1.3])
HEALTH_BASELINE_SD = 0.75
TRIAL_DAYS = 14


@dataclass
class Accounts:
    """All accounts as parallel numpy arrays (index = account number - 1)."""

    account_id: np.ndarray  # str
    account_name: list[str]
    domain: list[str]
    segment: np.ndarray  # index into SEGMENTS
    industry: np.ndarray
    region: np.ndarray  # index into REGIONS
    employee_count: np.ndarray
    csm: np.ndarray  # 1..N_CSMS
    created_us: np.ndarray
    created_day: np.ndarray  # simulation day of created_at (negative: before the window)
    existing: np.ndarray  # bool: created before the window
    trial: np.ndarray  # bool: started with a free trial (only accounts created in the window)
    anchor_day: np.ndarray  # first day of the first paid period; renewals are its monthly anniversaries
    interval_months: np.ndarray  # 1 (monthly) or 12 (annual billing)
    plan: np.ndarray  # initial plan index
    seats: np.ndarray  # initial seats
    price_mult: np.ndarray  # negotiated discount on the list price
    utilization: np.ndarray  # share of seats the account fills with users
    usage_propensity: np.ndarray  # how active its users are, independent of health (logit shift)
    usage_intensity: np.ndarray  # events per active day, independent of health (log shift)
    feature_affinity: np.ndarray  # (n, len(FEATURES))
    health_baseline: np.ndarray  # long-run mean of latent health
    onboarding_gap: np.ndarray  # how far below baseline a new account starts
    updated_us: np.ndarray

    @property
    def n(self) -> int:
        return len(self.segment)

    @cached_property
    def id_array(self) -> pa.Array:
        """account_id as an Arrow array, for `text.take`."""
        return pa.array(self.account_id, pa.string())

    def mrr(self, plan: np.ndarray, seats: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Monthly recurring revenue (USD) of accounts `idx` at the given plan and seats."""
        sl = slice(None) if idx is None else idx
        annual = self.interval_months[sl] == 12
        price = PLAN_PRICE[plan] * self.price_mult[sl] * np.where(annual, ANNUAL_DISCOUNT, 1.0)
        return np.round(seats * price, 2)


def generate_accounts(config: SimulationConfig, window: Window) -> Accounts:
    """Draw every account of the company (existing at the window start and new sign-ups)."""
    rng = stage_rng(config.seed, Stage.ACCOUNTS)
    n = config.n_accounts

    # Creation dates: existing accounts have up to ~5 years of tenure; new ones sign up during the window.
    new_share = float(np.clip(0.022 * config.months, 0.05, 0.6))
    n_new = int(round(n * new_share))
    tenure_days = np.minimum(20 + rng.exponential(520, n - n_new), 1800).astype(np.int64)
    new_day = np.floor(window.n_days * rng.random(n_new) ** 0.85).astype(np.int64)
    created_day = np.sort(np.concatenate([-tenure_days, new_day]))  # account numbers follow signup order
    existing = created_day < 0

    segment = rng.choice(3, n, p=SEGMENT_SHARE)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
    industry = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_SHARE)
    local_hour = rng.uniform(8, 18, n)
    utc_hour = (local_hour + REGION_UTC_OFFSET_HOURS[region]) % 24
    created_us = window.day_to_us(created_day) + (utc_hour * HOUR_US).astype(np.int64)

    employee_count = np.maximum(np.round(EMPLOYEES_MEDIAN[segment] * rng.lognormal(0, 0.6, n)), 5).astype(np.int32)
    seats = np.maximum(np.round(SEATS_MEDIAN[segment] * rng.lognormal(0, SEATS_SIGMA[segment])), SEATS_MIN[segment])
    seats = np.minimum(seats, np.maximum(employee_count, SEATS_MIN[segment])).astype(np.int64)
    plan = _draw_plan(rng, segment)
    interval_months = np.where(rng.random(n) < P_ANNUAL[segment], 12, 1)
    price_mult = np.where(segment == 0, 1.0, np.round(rng.uniform(0.75, 1.0, n), 2))

    # Trials only for self-serve style sign-ups during the window.
    trial = (~existing) & (segment < 2) & (rng.random(n) < 0.5)
    anchor_day = created_day + np.where(trial, TRIAL_DAYS, 0)

    # CSMs: enterprise and mid-market accounts go to csm 1-6, SMB accounts to a pooled team (7-10).
    csm = np.where(segment > 0, rng.integers(1, 7, n), rng.integers(7, N_CSMS + 1, n))

    affinity = FEATURE_AFFINITY_MEAN + rng.normal(0, 1.0, (n, len(FEATURES)))
    affinity[:, FEATURES.index("api")] += 0.8 * segment  # bigger customers integrate via the API

    health_baseline = HEALTH_BASELINE_MEAN[segment] + rng.normal(0, HEALTH_BASELINE_SD, n)
    onboarding_gap = rng.gamma(2.0, 0.5, n)  # mean 1.0; a long tail of onboardings that go badly

    # updated_at: the CRM record was last touched at some point after creation.
    span = np.maximum(window.cutoff_us - 1 - created_us, 0)
    updated_us = created_us + (span * rng.random(n) ** 0.5).astype(np.int64)

    names, domains = _company_names(rng, n)
    return Accounts(
        account_id=np.array(text.prefixed_ids("acc_", np.arange(1, n + 1), 6).to_pylist()),
        account_name=names,
        domain=domains,
        segment=segment,
        industry=industry,
        region=region,
        employee_count=employee_count,
        csm=csm,
        created_us=created_us,
        created_day=created_day,
        existing=existing,
        trial=trial,
        anchor_day=anchor_day,
        interval_months=interval_months,
        plan=plan,
        seats=seats,
        price_mult=price_mult,
        utilization=rng.beta(14, 4, n),
        usage_propensity=rng.normal(0, 0.2, n),
        usage_intensity=rng.normal(0, 0.25, n),
        feature_affinity=affinity,
        health_baseline=health_baseline,
        onboarding_gap=onboarding_gap,
        updated_us=updated_us,
    )


def _draw_plan(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    cum = PLAN_MIX.cumsum(axis=1)[segment]
    return (rng.random(len(segment))[:, None] > cum).sum(axis=1).clip(0, 2)


def _company_names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """Unique company names ("Blue Harbor Labs") and their e-mail domains ("blueharbor.example")."""
    a, b = text.capitalized(text.COMPANY_WORDS_A), text.capitalized(text.COMPANY_WORDS_B)
    n_pairs = len(a) * len(b)
    pair = rng.permutation(n_pairs)[np.arange(n) % n_pairs]
    round_ = np.arange(n) // n_pairs  # beyond the vocabulary, numbered variants keep names unique
    suffix = rng.integers(0, len(text.COMPANY_SUFFIXES), n)
    names, domains = [], []
    for p, r, s in zip(pair.tolist(), round_.tolist(), suffix.tolist()):
        stem = f"{a[p // len(b)]} {b[p % len(b)]}" + (f" {r + 1}" if r else "")
        names.append(f"{stem} {text.COMPANY_SUFFIXES[s]}")
        domains.append(stem.lower().replace(" ", "") + ".example")
    return names, domains


def accounts_table(acc: Accounts) -> dict[str, pa.Array | np.ndarray]:
    """The `accounts` raw table as columns (converted to the contract schema by the writer)."""
    return {
        "account_id": acc.account_id,
        "created_at": acc.created_us,
        "account_name": np.array(acc.account_name),
        "industry": text.take(INDUSTRIES, acc.industry),
        "employee_count": acc.employee_count,
        "region": text.take(REGIONS, acc.region),
        "csm_owner_id": text.prefixed_ids("csm_", acc.csm, 2),
        "updated_at": acc.updated_us,
    }

"""The built-in company simulator: a seeded generator of the raw tables plus the ground truth.

    from dagster_project.simulate import SimulationConfig, generate
    rows = generate(SimulationConfig(n_accounts=500, months=18, seed=42), Path("data/landing"))

or `ahw simulate --accounts 500 --months 18 --seed 42 --out data/landing`. `shape` (shapes.py) picks
which tables the company brings and how it churns: all seven with contracts (the default), no
tickets/NPS/invoices, accounts and events only, or one-off purchases (docs/simulator.md).

Writes `<out>/<table>/part-NNNNN.parquet` with exactly the columns and types of
`dagster_project.core.contract`, `<out>/_ground_truth/account_weeks.parquet` (latent health, weekly
churn hazard, the true 90-day churn probability and a playbook's true uplift per account-week, for
oracle evaluation) and `<out>/_ground_truth/cs_episodes.parquet` (the simulated CS team's alert
episodes: group, treatment and its true effect).

Stages, each with its own random stream (`config.stage_rng`), so the output depends only on the config:

    accounts.py   segments, firmographics, initial contract, hidden traits
    cs_team.py    the CS team: its alerts, the holdout, capacity, cs_activities, the playbooks' effect
    health.py     latent health per account-week (baseline, random walk, onboarding, shocks) and the
                  churn model (renewal decisions taken weeks ahead, mid-term exits, payment failures)
    lifecycle.py  renewal calendar, churn, expansion and contraction, charges (or, without
                  contracts, the weekly dropout)
    users.py      teams: onboarding invites, turnover, seat changes, departing champions
    activity.py   product events per chunk of accounts (usage follows health)
    billing.py    invoices and the subscription history
    purchases.py  one-off purchases (the purchases shape): invoices and `order_placed` events
    support.py    tickets and NPS answers
    oracle.py     the ground truth (90-day probability of the shape's churn label on a health grid)
    writer.py     Parquet output; faults.py: data-fault injection for the data-quality tests
"""

from dagster_project.simulate.config import SimulationConfig
from dagster_project.simulate.generator import EPISODES_KEY, GROUND_TRUTH_KEY, generate

__all__ = ["EPISODES_KEY", "GROUND_TRUTH_KEY", "SimulationConfig", "generate"]

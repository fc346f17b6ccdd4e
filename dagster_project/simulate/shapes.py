"""The shapes of company the simulator can produce: which raw tables it brings and how it churns.

A real company brings what it has. The same simulated company (accounts, latent health, users,
product usage) is written in one of these shapes:

    all_sources              every table; subscriptions with contracts and the CS team's activities (the default)
    no_tickets_nps_invoices  accounts, users, events, subscriptions: contracts, no support or billing data
    accounts_events          accounts and events only: a usage product without contracts
    purchases                accounts, users, events and invoices of one-off purchases, no subscriptions

Contract shapes churn when a subscription ends (renewal decisions, mid-term exits, non-payment).
The others have no contract to end: an account leaves the product (a weekly dropout hazard that
rises as its health falls) and simply stops using it, or stops buying. What the pipeline calls churn
then follows the data: a silence of `ACTIVITY_CHURN_DAYS` days (activity), or no purchase in the
horizon (dormancy). `churn_definition` names the definition whose label the ground truth's
`true_churn_prob_90d` predicts for the shape (see docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass

# Matches dbt's `activity_churn_days` default: the silence after which the activity definition
# counts an account as churned. The usage shape's oracle assumes it.
ACTIVITY_CHURN_DAYS = 30

ALL_TABLES = ("accounts", "users", "events", "subscriptions", "invoices", "tickets", "nps_responses", "cs_activities")


@dataclass(frozen=True)
class Shape:
    """Which raw tables a simulated company writes, and the churn process and definition behind it."""

    name: str
    tables: tuple[str, ...]
    contracts: bool  # churn ends a subscription; otherwise the account drops out of the product
    purchases: bool  # invoices are one-off purchases (and each purchase is an `order_placed` event)
    churn_definition: str  # the pipeline's churn definition whose label the oracle predicts
    description: str


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in [
        Shape(
            name="all_sources",
            tables=ALL_TABLES,
            contracts=True,
            purchases=False,
            churn_definition="contractual",
            description="every raw table: a subscription business with support, billing and surveys",
        ),
        Shape(
            name="no_tickets_nps_invoices",
            tables=("accounts", "users", "events", "subscriptions"),
            contracts=True,
            purchases=False,
            churn_definition="contractual",
            description="subscriptions and usage, but no tickets, NPS answers or invoices",
        ),
        Shape(
            name="accounts_events",
            tables=("accounts", "events"),
            contracts=False,
            purchases=False,
            churn_definition="activity",
            description="a usage product without contracts: accounts and product events only",
        ),
        Shape(
            name="purchases",
            tables=("accounts", "users", "events", "invoices"),
            contracts=False,
            purchases=True,
            churn_definition="dormancy",
            description="one-off purchases instead of subscriptions: accounts, users, events, invoices",
        ),
    ]
}
DEFAULT_SHAPE = "all_sources"


def get_shape(name: str) -> Shape:
    """The shape called `name`; a clear error listing the shapes otherwise."""
    if name not in SHAPES:
        raise ValueError(f"unknown simulator shape {name!r}: choose one of {', '.join(SHAPES)}")
    return SHAPES[name]

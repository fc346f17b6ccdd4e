"""The raw data contract (SPEC section 3): the one place that knows raw table names,
their columns, types, primary keys and allowed values.

The simulator writes it, ingestion validates against it, and data-quality checks read
their critical columns from it. Column types are DuckDB types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RAW_SCHEMA = "raw"

# A billing interval is free text: "N <unit>(s)" with an optional "every", e.g. '6 months',
# '1 year', '2 weeks', 'every 3 months', or one word: 'month', 'monthly', 'annual', 'quarterly'.
# Matched against lower(trim(value)); group 1 is N (absent = 1), group 2 the unit. The dbt macro
# billing_interval_months (dbt_project/macros/billing.sql) normalizes the same text to months with
# the same pattern (tests/unit/ingest/test_billing_interval.py keeps the two equal).
BILLING_INTERVAL_PATTERN = (
    "^(?:every +)?([1-9][0-9]*)? *-? *"
    "(day|daily|week|weekly|month|monthly|quarter|quarterly|year|yearly|annual|annually)s?$"
)


@dataclass(frozen=True)
class RawTable:
    """One raw table of the contract."""

    name: str
    primary_key: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    mandatory: bool = False  # a company must provide this table
    account_fk: bool = True  # has account_id referencing accounts
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # columns whose values must match a pattern (a regular expression on lower(trim(value)))
    formats: dict[str, str] = field(default_factory=dict)
    # each row is a state of an account's history (a subscription state, an invoice): losing one
    # changes that history, so quarantining such a row blocks the load instead of warning
    state_history: bool = False

    @property
    def columns(self) -> dict[str, str]:
        """All contract columns, required first, with their DuckDB types."""
        return {**self.required, **self.optional}

    @property
    def qualified_name(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}"


TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        RawTable(
            name="accounts",
            primary_key="account_id",
            mandatory=True,
            account_fk=False,
            required={"account_id": "VARCHAR", "created_at": "TIMESTAMP"},
            optional={
                "account_name": "VARCHAR",
                "industry": "VARCHAR",
                "employee_count": "INTEGER",
                "region": "VARCHAR",
                "csm_owner_id": "VARCHAR",
                "updated_at": "TIMESTAMP",
            },
        ),
        RawTable(
            name="users",
            primary_key="user_id",
            required={"user_id": "VARCHAR", "account_id": "VARCHAR", "created_at": "TIMESTAMP"},
            optional={"email": "VARCHAR", "role": "VARCHAR", "deactivated_at": "TIMESTAMP"},
            enums={"role": ("admin", "member", "viewer")},
        ),
        RawTable(
            name="events",
            primary_key="event_id",
            mandatory=True,
            required={
                "event_id": "VARCHAR",
                "account_id": "VARCHAR",
                "event_name": "VARCHAR",
                "occurred_at": "TIMESTAMP",
            },
            optional={
                "user_id": "VARCHAR",
                "feature": "VARCHAR",
                "received_at": "TIMESTAMP",
                "properties": "VARCHAR",
            },
        ),
        RawTable(
            name="subscriptions",
            primary_key="subscription_id",
            state_history=True,
            required={
                "subscription_id": "VARCHAR",
                "account_id": "VARCHAR",
                "status": "VARCHAR",
                "mrr": "DOUBLE",
                "valid_from": "TIMESTAMP",
            },
            optional={
                "plan": "VARCHAR",
                "seats": "INTEGER",
                "currency": "VARCHAR",
                "billing_interval": "VARCHAR",
                "valid_to": "TIMESTAMP",
                "current_period_end": "TIMESTAMP",
                "canceled_at": "TIMESTAMP",
            },
            enums={"status": ("trialing", "active", "past_due", "canceled")},
            formats={"billing_interval": BILLING_INTERVAL_PATTERN},
        ),
        RawTable(
            name="invoices",
            primary_key="invoice_id",
            state_history=True,
            required={
                "invoice_id": "VARCHAR",
                "account_id": "VARCHAR",
                "amount_due": "DOUBLE",
                "issued_at": "TIMESTAMP",
            },
            optional={
                "subscription_id": "VARCHAR",
                "amount_paid": "DOUBLE",
                "status": "VARCHAR",
                "due_at": "TIMESTAMP",
                "paid_at": "TIMESTAMP",
                "currency": "VARCHAR",
            },
            enums={"status": ("paid", "open", "overdue", "void", "uncollectible")},
        ),
        RawTable(
            name="tickets",
            primary_key="ticket_id",
            required={"ticket_id": "VARCHAR", "account_id": "VARCHAR", "created_at": "TIMESTAMP"},
            optional={
                "requester_user_id": "VARCHAR",
                "priority": "VARCHAR",
                "category": "VARCHAR",
                "status": "VARCHAR",
                "first_response_at": "TIMESTAMP",
                "solved_at": "TIMESTAMP",
                "satisfaction": "VARCHAR",
                "subject": "VARCHAR",
            },
            enums={
                "priority": ("low", "normal", "high", "urgent"),
                "category": ("bug", "how_to", "billing", "integration", "feature_request"),
                "status": ("open", "pending", "solved", "closed"),
                "satisfaction": ("good", "bad"),
            },
        ),
        RawTable(
            name="nps_responses",
            primary_key="response_id",
            required={
                "response_id": "VARCHAR",
                "account_id": "VARCHAR",
                "score": "INTEGER",
                "responded_at": "TIMESTAMP",
            },
            optional={"user_id": "VARCHAR", "comment": "VARCHAR"},
        ),
        RawTable(
            name="cs_activities",
            primary_key="activity_id",
            required={
                "activity_id": "VARCHAR",
                "account_id": "VARCHAR",
                "playbook": "VARCHAR",
                "created_at": "TIMESTAMP",
            },
            optional={
                # the `alert_id` that marts.mart_health_alerts publishes, when the activity answers one
                "alert_id": "VARCHAR",
                "owner_id": "VARCHAR",
                "completed_at": "TIMESTAMP",
                "outcome": "VARCHAR",
                "feedback": "VARCHAR",
                "feedback_reason": "VARCHAR",
            },
            enums={
                "outcome": ("completed", "no_response", "declined", "escalated"),
                "feedback": ("useful", "not_useful"),
            },
        ),
    ]
}

# Simulator-only ground truth, written beside the landing tables (never part of a company's data).
# Tables that reference accounts are loaded, quarantined and checked after the ones they reference:
# orphans are found against raw.accounts.
ACCOUNT_TABLES = [name for name, table in TABLES.items() if not table.account_fk]
ACCOUNT_FK_TABLES = [name for name, table in TABLES.items() if table.account_fk]
LOAD_ORDER = ACCOUNT_TABLES + ACCOUNT_FK_TABLES

GROUND_TRUTH_DIR = "_ground_truth"
GROUND_TRUTH_TABLE = "account_weeks"
GROUND_TRUTH_COLUMNS = {
    "account_id": "VARCHAR",
    "week_start_date": "DATE",
    "latent_health": "DOUBLE",
    "churn_hazard": "DOUBLE",
    "true_churn_prob_90d": "DOUBLE",
    # the health bump a completed "CS outreach" would bring this week (the account's current problem),
    # and P(churn in 90 days | health) - P(churn in 90 days | health + that bump)
    "playbook_effect_health": "DOUBLE",
    "true_uplift_90d": "DOUBLE",
}
# One row per alert episode of the simulated CS team: its first alert of an account in a horizon block.
GROUND_TRUTH_EPISODES_TABLE = "cs_episodes"
GROUND_TRUTH_EPISODES_COLUMNS = {
    "account_id": "VARCHAR",
    "alert_date": "DATE",
    "horizon_block": "INTEGER",
    "treatment_group": "VARCHAR",  # playbook / holdout
    "playbook": "VARCHAR",
    "worked": "BOOLEAN",
    "treated_date": "DATE",  # the day the worked activity started, NULL if not worked
    "outcome": "VARCHAR",
    "true_health_effect": "DOUBLE",  # the bump applied to latent health, 0 if none
    "true_churn_effect_90d": "DOUBLE",  # P(churn by alert_date + 90 d without it) - P(with it)
    "churned_within_horizon": "BOOLEAN",
    "arr_at_alert_usd": "DOUBLE",  # NULL without contracts
    "problem_type": "VARCHAR",  # why the account was declining (simulate/cs_team.py PROBLEMS)
}

"""Runs the simulation stages in order and writes the landing files and the ground truth.

accounts -> latent health (with the CS team working its alerts) -> contract lifecycle (renewals,
churn, expansion) -> users -> invoices and subscription history -> tickets, NPS -> CS activities ->
events (per chunk of accounts) -> ground truth (account-weeks and CS episodes).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.core.contract import (
    GROUND_TRUTH_COLUMNS,
    GROUND_TRUTH_DIR,
    GROUND_TRUTH_EPISODES_COLUMNS,
    GROUND_TRUTH_EPISODES_TABLE,
    GROUND_TRUTH_TABLE,
    TABLES,
)
from dagster_project.simulate import text
from dagster_project.simulate.accounts import accounts_table, generate_accounts
from dagster_project.simulate.activity import EVENT_NAMES, ActivityModel, events_table, generate_events
from dagster_project.simulate.billing import build_subscriptions, generate_invoices, invoices_table, subscriptions_table
from dagster_project.simulate.calendar import day_factors
from dagster_project.simulate.config import ACCOUNT_CHUNK, SimulationConfig, Stage, make_window, stage_rng
from dagster_project.simulate.cs_team import OUTREACH, CSTeam, CSTeamModel, cs_activities_table, episodes_table
from dagster_project.simulate.health import ChurnModel, DropoutModel, HealthModel, simulate_health
from dagster_project.simulate.lifecycle import CHURN_RENEWAL, contract_schedule, dropout_schedule, simulate_lifecycle
from dagster_project.simulate.oracle import dropout_ground_truth, ground_truth, playbook_churn_effect
from dagster_project.simulate.purchases import (
    PURCHASE_EVENT_NAMES,
    PurchaseModel,
    generate_purchases,
    purchase_invoices,
    purchase_traits,
    with_order_events,
)
from dagster_project.simulate.shapes import ACTIVITY_CHURN_DAYS, get_shape
from dagster_project.simulate.support import generate_nps, generate_tickets, tickets_table
from dagster_project.simulate.users import account_end_us, generate_users, users_table
from dagster_project.simulate.writer import TableWriter, arrow_schema, clear_folders, to_arrow


def landing_schema(table: str) -> pa.Schema:
    """Arrow schema of a contract table's landing files."""
    return arrow_schema(TABLES[table].columns)


GROUND_TRUTH_KEY = f"{GROUND_TRUTH_DIR}/{GROUND_TRUTH_TABLE}"
EPISODES_KEY = f"{GROUND_TRUTH_DIR}/{GROUND_TRUTH_EPISODES_TABLE}"
_GROUND_TRUTH_SCHEMAS = {GROUND_TRUTH_KEY: GROUND_TRUTH_COLUMNS, EPISODES_KEY: GROUND_TRUTH_EPISODES_COLUMNS}


class _Outputs:
    """Writers for every output table, with the fault hook in front of them."""

    def __init__(self, out_dir: Path, seed: int):
        self.out_dir, self.seed = out_dir, seed
        self.writers: dict[str, TableWriter] = {}
        self._table_of: dict[str, str] = {}  # writer key -> table (a table may have a separate file)

    def emit(
        self, table: str, columns: dict, schema_columns: dict[str, str] | None = None, file_name: str | None = None
    ) -> None:
        """Write one batch of a contract table (or, with schema_columns, of the ground truth)."""
        self.emit_batch(table, to_arrow(table, columns, self._writer(table, schema_columns, file_name).schema))

    def _writer(
        self,
        table: str,
        schema_columns: dict[str, str] | None = None,
        file_name: str | None = None,
        key: str | None = None,
    ) -> TableWriter:
        key = key or table
        if key not in self.writers:
            schema = arrow_schema(schema_columns or TABLES[table].columns)
            folder = self.out_dir / (GROUND_TRUTH_DIR if schema_columns else table)
            unique = (TABLES[table].primary_key,) if table in TABLES else ()
            self.writers[key] = TableWriter(folder, schema, file_name=file_name, unique_columns=unique)
            self._table_of[key] = table
        return self.writers[key]

    def emit_batch(self, table: str, batch: pa.Table, file_name: str | None = None) -> None:
        """Write one Arrow batch of a table; with file_name, to that single file of the table's folder."""
        key = f"{table}:{file_name}" if file_name else table
        schema_columns = _GROUND_TRUTH_SCHEMAS.get(table)
        self._writer(table, schema_columns, file_name, key)
        self.writers[key].write(batch)

    def close(self) -> dict[str, int]:
        """Close every file; rows written per table (a table's separate files count toward it)."""
        rows: dict[str, int] = {}
        for key, w in self.writers.items():
            w.close()
            table = self._table_of[key]
            rows[table] = rows.get(table, 0) + w.rows
        return rows


def generate(config: SimulationConfig, out_dir: Path) -> dict[str, int]:
    """Simulate the company and write the raw tables of its shape and the ground truth under `out_dir`.

    Existing files of every contract table are replaced (a table the shape does not bring is
    removed, not written). Returns rows written per table (the ground truth under the keys
    `_ground_truth/account_weeks` and `_ground_truth/cs_episodes`). Deterministic for a config with an
    explicit end_date.
    """
    out_dir = Path(out_dir)
    shape = get_shape(config.shape)
    window = make_window(config)
    seed = config.seed
    health_model = HealthModel()
    activity_model = ActivityModel(actions_intercept=ActivityModel.actions_intercept + math.log(config.event_volume))

    acc = generate_accounts(config, window)
    team_model = CSTeamModel()
    team = CSTeam(
        acc,
        window,
        team_model,
        stage_rng(seed, Stage.CS_TEAM),
        playbook_effect=config.playbook_effect,
        holdout_share=config.holdout_share,
        holdout_salt=config.holdout_salt,
        horizon_days=config.horizon_days,
    )
    paths = simulate_health(acc, window, health_model, stage_rng(seed, Stage.HEALTH), team)
    work = team.result()
    if shape.contracts:
        churn_model = ChurnModel()
        sched = contract_schedule(acc, window, churn_model)
        life = simulate_lifecycle(acc, window, paths, sched, churn_model, stage_rng(seed, Stage.LIFECYCLE))
    else:
        dropout = DropoutModel()
        churn_model = dropout.churn_model()
        sched = dropout_schedule(acc, window, dropout)
        life = simulate_lifecycle(acc, window, paths, sched, churn_model, stage_rng(seed, Stage.DROPOUT))
    users = generate_users(acc, window, life, paths, stage_rng(seed, Stage.USERS))
    end_us = account_end_us(life, window)
    tables: dict[str, dict] = {}
    purchases = None
    if shape.contracts:
        invoices = generate_invoices(acc, window, paths, life, stage_rng(seed, Stage.BILLING))
        subs = build_subscriptions(acc, window, life, invoices)
        tables["subscriptions"] = subscriptions_table(subs, acc)
        tables["invoices"] = invoices_table(invoices, subs, acc)
        tickets = generate_tickets(acc, users, window, paths, life, end_us, stage_rng(seed, Stage.TICKETS))
        tables["tickets"] = tickets_table(tickets, acc, users)
        tables["nps_responses"] = generate_nps(acc, users, window, paths, life, end_us, stage_rng(seed, Stage.NPS))
    if shape.purchases:
        rng = stage_rng(seed, Stage.PURCHASES)
        purchase_model = PurchaseModel()
        traits = purchase_traits(acc, purchase_model, rng)
        purchases = generate_purchases(acc, users, window, paths, life, traits, purchase_model, rng)
        tables["invoices"] = invoices_table(purchase_invoices(acc, window, paths, purchases, rng), None, acc)

    tables["cs_activities"] = cs_activities_table(work, acc, window, life.churn_day)

    # Only now, with everything but the events simulated, replace the old files of these tables.
    clear_folders(out_dir, [*TABLES, GROUND_TRUTH_DIR])
    landing = _Outputs(out_dir, seed)
    landing.emit("accounts", accounts_table(acc))
    if "users" in shape.tables:
        landing.emit("users", users_table(users, acc))
    for table in ("subscriptions", "invoices", "tickets", "nps_responses"):
        if table in shape.tables:
            landing.emit(table, tables[table])

    factors = day_factors(window)
    notice = (life.committed_at_start & (life.churn_kind == CHURN_RENEWAL)[:, None]).astype(float)
    names = PURCHASE_EVENT_NAMES if purchases is not None else EVENT_NAMES
    n_events = 0
    for chunk, a_lo in enumerate(range(0, acc.n, ACCOUNT_CHUNK)):
        a_hi = min(a_lo + ACCOUNT_CHUNK, acc.n)
        ev = generate_events(
            a_lo,
            a_hi,
            acc,
            users,
            window,
            paths,
            end_us,
            notice[a_lo:a_hi],
            factors,
            activity_model,
            stage_rng(seed, Stage.ACTIVITY, chunk),
        )
        if purchases is not None:
            ev = with_order_events(ev, purchases, window, stage_rng(seed, Stage.PURCHASES, chunk + 1))
        batch = to_arrow("events", events_table(ev, n_events + 1, acc, users, names), landing_schema("events"))
        if config.last_day_file:
            last_day = pa.scalar(window.day_to_us(window.n_days - 1).item(), pa.int64()).cast(pa.timestamp("us"))
            delivered_last = pc.greater_equal(batch["received_at"], last_day)
            landing.emit_batch("events", batch.filter(delivered_last), file_name=f"received-{window.end_date}.parquet")
            batch = batch.filter(pc.invert(delivered_last))
        landing.emit_batch("events", batch)
        n_events += len(ev)

    # After the events: written before them, it changes the byte layout (not the values) of the events'
    # files, and with playbook_effect 0 every other file must stay what a company without the team writes.
    if "cs_activities" in shape.tables:
        landing.emit("cs_activities", tables["cs_activities"])

    # What a completed "CS outreach" would bring each account-week, for the uplift ground truth.
    outreach_delta = np.array(team_model.effect[OUTREACH])[work.problem] * config.playbook_effect
    oracle_shape: dict = {}
    if shape.contracts:
        gt = ground_truth(acc, window, paths, sched, life, health_model, churn_model, playbook_delta=outreach_delta)
    else:
        oracle_shape = {
            "silence_days": 0 if shape.purchases else ACTIVITY_CHURN_DAYS,
            "purchases": (traits, purchase_model) if shape.purchases else None,
        }
        gt = dropout_ground_truth(
            acc, window, paths, sched, life, health_model, churn_model, playbook_delta=outreach_delta, **oracle_shape
        )
    week_start = np.datetime64(window.start_date, "D") + 7 * gt["week"]
    landing.emit(
        GROUND_TRUTH_KEY,
        {
            "account_id": text.take(acc.id_array, gt["acct"]),
            "week_start_date": pa.array(week_start, pa.date32()),
            "latent_health": gt["latent_health"],
            "churn_hazard": gt["churn_hazard"],
            "true_churn_prob_90d": gt["true_churn_prob_90d"],
            "playbook_effect_health": gt["playbook_effect_health"],
            "true_uplift_90d": gt["true_uplift_90d"],
        },
        schema_columns=GROUND_TRUTH_COLUMNS,
        file_name=f"{GROUND_TRUTH_TABLE}.parquet",
    )

    def churn_effect(acct: np.ndarray, week: np.ndarray, delta: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        return playbook_churn_effect(
            acct, week, delta, horizon, acc, paths, sched, life, health_model, churn_model, **oracle_shape
        )

    arr_usd = 12 * acc.mrr(life.plan_w, life.seats_w, np.arange(acc.n)[:, None]) if shape.contracts else None
    landing.emit(
        EPISODES_KEY,
        episodes_table(work, acc, window, life.churn_day, arr_usd, churn_effect, config.horizon_days),
        schema_columns=GROUND_TRUTH_EPISODES_COLUMNS,
        file_name=f"{GROUND_TRUTH_EPISODES_TABLE}.parquet",
    )
    return landing.close()

"""The company simulator writes the raw contract exactly, deterministically, and with the causal
structure the churn model relies on (health drives usage and churn; nothing happens after churn)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dagster_project.core.contract import GROUND_TRUTH_COLUMNS, GROUND_TRUTH_DIR, GROUND_TRUTH_TABLE, TABLES
from dagster_project.simulate import EPISODES_KEY, GROUND_TRUTH_KEY, SimulationConfig, generate
from dagster_project.simulate.__main__ import main
from dagster_project.simulate.activity import EVENT_NAMES
from dagster_project.simulate.config import make_window
from dagster_project.simulate.writer import ARROW_TYPES

END = dt.date(2026, 3, 15)
# The company these checks were written against: its CS team works alerts, but the playbooks do
# nothing (their effects are tested in test_cs_team.py).
CONFIG = SimulationConfig(n_accounts=60, months=6, seed=7, end_date=END, playbook_effect=0.0)
CUTOFF = pd.Timestamp(END) + pd.Timedelta(days=1)


def _read(out: Path) -> dict[str, pd.DataFrame]:
    tables = {name: pd.read_parquet(out / name) for name in TABLES}
    tables["ground_truth"] = pd.read_parquet(out / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_TABLE}.parquet")
    return tables


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("landing")
    return out, generate(CONFIG, out)


@pytest.fixture(scope="module")
def tables(landing) -> dict[str, pd.DataFrame]:
    return _read(landing[0])


@pytest.fixture(scope="module")
def churn_at(tables) -> pd.Series:
    """Churn timestamp per churned account (valid_from of its canceled subscription row)."""
    subs = tables["subscriptions"]
    return subs[subs.status == "canceled"].groupby("account_id").valid_from.min()


def test_same_config_gives_identical_tables_and_another_seed_does_not(landing, tables, tmp_path):
    again = tmp_path / "again"
    generate(CONFIG, again)
    for name, df in _read(again).items():
        pd.testing.assert_frame_equal(df, tables[name], obj=name)

    other = tmp_path / "other"
    generate(dataclasses.replace(CONFIG, seed=8), other)
    assert not _read(other)["events"].equals(tables["events"])


def test_returns_rows_per_table(landing, tables):
    _, rows = landing
    assert set(rows) == {*TABLES, GROUND_TRUTH_KEY, EPISODES_KEY}
    for name in TABLES:
        assert rows[name] == len(tables[name]) > 0, name
    assert rows[GROUND_TRUTH_KEY] == len(tables["ground_truth"])
    assert rows["accounts"] == CONFIG.n_accounts


@pytest.mark.parametrize("name", [*TABLES, "ground_truth"])
def test_files_have_exactly_the_contract_columns_and_types(landing, name):
    out, _ = landing
    if name == "ground_truth":
        files, columns = [out / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_TABLE}.parquet"], GROUND_TRUTH_COLUMNS
    else:
        files, columns = sorted((out / name).glob("part-*.parquet")), TABLES[name].columns
    assert files and files[0].name in ("part-00000.parquet", f"{GROUND_TRUTH_TABLE}.parquet")
    for f in files:
        schema = pq.read_schema(f)
        assert schema.names == list(columns), f
        assert [schema.field(c).type for c in columns] == [ARROW_TYPES[t] for t in columns.values()], f


@pytest.mark.parametrize("name", list(TABLES))
def test_required_columns_are_complete_and_primary_keys_unique(tables, name):
    df, table = tables[name], TABLES[name]
    assert df[list(table.required)].notna().all().all()
    assert df[table.primary_key].is_unique
    for column, allowed in table.enums.items():
        assert set(df[column].dropna()) <= set(allowed), column


def test_references_resolve(tables):
    accounts = set(tables["accounts"].account_id)
    for name in [*(n for n, t in TABLES.items() if t.account_fk), "ground_truth"]:
        assert set(tables[name].account_id) <= accounts, name
    users = set(tables["users"].user_id)
    assert set(tables["events"].user_id.dropna()) <= users
    assert set(tables["tickets"].requester_user_id.dropna()) <= users
    assert set(tables["nps_responses"].user_id.dropna()) <= users
    assert set(tables["invoices"].subscription_id.dropna()) <= set(tables["subscriptions"].subscription_id)
    # A user's e-mail is at its account's domain.
    users_df = tables["users"].merge(tables["accounts"][["account_id", "account_name"]], on="account_id")
    assert users_df.email.str.match(r"^[a-z]+\.[a-z]+\d?@[a-z0-9]+\.example$").all()


def test_value_domains(tables):
    events = tables["events"]
    assert set(events.event_name) <= set(EVENT_NAMES)
    assert {"session_started", "report_created", "error_shown", "teammate_invited"} <= set(events.event_name)
    assert (events.received_at >= events.occurred_at).all()
    assert tables["nps_responses"].score.between(0, 10).all()
    subs, inv = tables["subscriptions"], tables["invoices"]
    assert (subs.mrr >= 0).all() and (subs.seats >= 1).all() and set(subs.currency) == {"USD"}
    assert (inv.amount_due >= 0).all() and (inv.amount_paid <= inv.amount_due).all()
    assert (inv.paid_at.isna() | (inv.paid_at >= inv.issued_at)).all()
    assert inv[inv.status == "paid"].paid_at.notna().all()
    tickets = tables["tickets"]
    assert (tickets.first_response_at.isna() | (tickets.first_response_at >= tickets.created_at)).all()
    assert (tickets.solved_at.isna() | (tickets.solved_at >= tickets.first_response_at)).all()
    assert tickets[tickets.status.isin(["solved", "closed"])].solved_at.notna().all()


def test_no_timestamp_after_the_end_date(tables):
    for name, df in tables.items():
        for column in df.select_dtypes("datetime").columns:
            if column not in ("current_period_end", "due_at"):  # scheduled dates may lie ahead
                assert (df[column].dropna() < CUTOFF).all(), f"{name}.{column}"


def test_nothing_happens_after_churn_or_outside_a_users_life(tables, churn_at):
    assert len(churn_at) > 0
    for name, column in [
        ("events", "occurred_at"),
        ("tickets", "created_at"),
        ("nps_responses", "responded_at"),
        ("invoices", "issued_at"),
        ("users", "created_at"),
        ("cs_activities", "created_at"),
    ]:
        df = tables[name].merge(churn_at.rename("churn_at"), left_on="account_id", right_index=True)
        assert (df[column] < df.churn_at).all(), name
    start = pd.Timestamp(make_window(CONFIG).start_date)
    events = tables["events"].merge(tables["accounts"][["account_id", "created_at"]], on="account_id")
    assert (events.occurred_at >= events.created_at).all() and (events.occurred_at >= start).all()
    ev = (
        tables["events"]
        .dropna(subset=["user_id"])
        .merge(tables["users"][["user_id", "created_at", "deactivated_at"]], on="user_id")
    )
    assert (ev.occurred_at >= ev.created_at).all()
    assert (ev.deactivated_at.isna() | (ev.occurred_at < ev.deactivated_at)).all()


def test_subscription_history_is_a_clean_sequence_of_states(tables):
    subs = tables["subscriptions"].sort_values(["account_id", "valid_from"])
    for _, rows in subs.groupby("account_id"):
        assert rows.valid_from.is_monotonic_increasing and rows.valid_from.is_unique
        assert (rows.valid_to.iloc[:-1].to_numpy() == rows.valid_from.iloc[1:].to_numpy()).all()
        assert pd.isna(rows.valid_to.iloc[-1])
        canceled = rows[rows.status == "canceled"]
        if len(canceled):  # churn: one final row, no revenue, canceled_at = churn date, nothing after it
            assert len(canceled) == 1 and canceled.index[0] == rows.index[-1]
            last = rows.iloc[-1]
            assert last.mrr == 0 and last.canceled_at == last.valid_from
        assert rows.iloc[:-1].canceled_at.isna().all() if len(canceled) else rows.canceled_at.isna().all()
    active = subs[subs.status == "active"]
    assert (active.mrr > 0).all() and (active.current_period_end > active.valid_from).all()
    assert set(subs.billing_interval) == {"month", "year"}


def test_ground_truth_covers_every_account_week(tables, churn_at):
    gt = tables["ground_truth"]
    window = make_window(CONFIG)
    start = pd.Timestamp(window.start_date)
    weeks = pd.DatetimeIndex(window.week_start_dates())
    assert (pd.to_datetime(gt.week_start_date).dt.dayofweek == 0).all()
    assert not gt.duplicated(["account_id", "week_start_date"]).any()
    expected = set()
    for acc in tables["accounts"].itertuples():
        first = max(acc.created_at, start).normalize()
        first -= pd.Timedelta(days=first.dayofweek)
        last = weeks[-1]
        if acc.account_id in churn_at.index:
            churn = churn_at[acc.account_id]
            last = churn.normalize() - pd.Timedelta(days=churn.dayofweek)
        expected |= {(acc.account_id, w) for w in weeks if first <= w <= last}
    actual = set(zip(gt.account_id, pd.to_datetime(gt.week_start_date)))
    assert actual == expected
    for column in ("churn_hazard", "true_churn_prob_90d"):
        assert gt[column].between(0, 1).all(), column
    assert gt.latent_health.notna().all()
    # The 90 days starting with a week include that week.
    assert (gt.true_churn_prob_90d >= gt.churn_hazard - 1e-9).all()


def test_churn_and_expansion_happen(tables, churn_at):
    subs = tables["subscriptions"].sort_values(["account_id", "valid_from"])
    previous = subs.groupby("account_id").mrr.shift()
    assert ((subs.status == "active") & (subs.mrr > previous)).any(), "no expansion"
    assert len(churn_at) >= 2, "no churn"
    assert (subs.status == "past_due").any() and (subs.status == "trialing").any()


def test_accounts_that_churn_were_less_healthy_in_the_weeks_before(tables, churn_at):
    gt = tables["ground_truth"].assign(week=lambda d: pd.to_datetime(d.week_start_date))
    gt = gt.merge(churn_at.rename("churn_at"), left_on="account_id", right_index=True, how="left")
    before = gt[gt.churn_at.notna() & (gt.week < gt.churn_at) & (gt.week >= gt.churn_at - pd.Timedelta(weeks=8))]
    others = gt[gt.churn_at.isna()]
    assert before.latent_health.mean() < others.latent_health.mean() - 0.5
    # ... and it showed: fewer events per account-week than accounts that stay.
    ev = tables["events"].assign(week=lambda d: d.occurred_at.dt.to_period("W-SUN").dt.start_time)
    per_week = ev.groupby(["account_id", "week"]).size().rename("events").reset_index()
    per_week = per_week.merge(gt[["account_id", "week", "churn_at", "latent_health"]], on=["account_id", "week"])
    assert np.corrcoef(np.log1p(per_week.events), per_week.latent_health)[0, 1] > 0.2


def test_default_end_date_is_the_clocks_yesterday(monkeypatch):
    monkeypatch.setenv("AHW_NOW", "2027-03-10T05:00:00")
    window = make_window(SimulationConfig())
    assert window.end_date == dt.date(2027, 3, 9)
    assert window.start_date.weekday() == 0


def test_cli_replaces_the_tables_it_writes_and_nothing_else(tmp_path, capsys):
    stale = tmp_path / "events" / "part-00042.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    keep = tmp_path / "my_notes" / "keep.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    assert (
        main(["--accounts", "20", "--months", "2", "--seed", "3", "--end-date", "2026-01-31", "--out", str(tmp_path)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "events" in printed and "elapsed" in printed
    assert not stale.exists() and keep.exists()
    assert (tmp_path / "accounts" / "part-00000.parquet").exists()
    assert (tmp_path / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_TABLE}.parquet").exists()


def test_event_volume_scales_the_events_and_nothing_the_health_drives(landing, tables, tmp_path):
    """The benchmark knob: more product actions per active user-day, same company otherwise."""
    out = tmp_path / "busy"
    rows = generate(dataclasses.replace(CONFIG, event_volume=3.0), out)
    busy = _read(out)
    assert rows["events"] > 1.8 * landing[1]["events"]
    for name in ("accounts", "users", "subscriptions", "invoices", "ground_truth"):
        pd.testing.assert_frame_equal(busy[name], tables[name], obj=name)
    with pytest.raises(ValueError, match="event_volume"):
        SimulationConfig(event_volume=0)


def test_last_day_file_holds_the_events_received_on_the_last_day(landing, tables, tmp_path):
    out = tmp_path / "delivery"
    rows = generate(dataclasses.replace(CONFIG, last_day_file=True), out)
    delivery = pd.read_parquet(out / "events" / f"received-{END}.parquet")
    history = pd.concat([pd.read_parquet(p) for p in sorted((out / "events").glob("part-*.parquet"))])
    assert rows["events"] == landing[1]["events"] == len(delivery) + len(history)
    assert (delivery.received_at >= pd.Timestamp(END)).all() and (history.received_at < pd.Timestamp(END)).all()
    # late arrivals: some events delivered on the last day happened on an earlier day
    assert (delivery.occurred_at < pd.Timestamp(END)).any()
    pd.testing.assert_frame_equal(
        pd.concat([history, delivery]).sort_values("event_id").reset_index(drop=True),
        tables["events"].sort_values("event_id").reset_index(drop=True),
    )

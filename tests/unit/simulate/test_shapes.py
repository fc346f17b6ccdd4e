"""The simulator's company shapes: each writes exactly its tables, deterministically, the default shape
is unchanged, purchases look like purchases, and the ground truth predicts the shape's churn label."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dagster_project.core.contract import GROUND_TRUTH_DIR, GROUND_TRUTH_TABLE, TABLES
from dagster_project.simulate import EPISODES_KEY, GROUND_TRUTH_KEY, SimulationConfig, generate
from dagster_project.simulate.__main__ import main
from dagster_project.simulate.config import make_window
from dagster_project.simulate.purchases import ORDER_EVENT
from dagster_project.simulate.shapes import ACTIVITY_CHURN_DAYS, SHAPES

END = dt.date(2026, 3, 15)
CUTOFF = pd.Timestamp(END) + pd.Timedelta(days=1)
EXPECTED_TABLES = {
    "all_sources": {
        "accounts",
        "users",
        "events",
        "subscriptions",
        "invoices",
        "tickets",
        "nps_responses",
        "cs_activities",
    },
    "no_tickets_nps_invoices": {"accounts", "users", "events", "subscriptions"},
    "accounts_events": {"accounts", "events"},
    "purchases": {"accounts", "users", "events", "invoices"},
}
# Content fingerprints of the default company (60 accounts, 6 months, seed 7, ending END), taken
# before the shapes existed: the default shape must keep producing exactly this data when its CS
# team's playbooks do nothing (playbook_effect 0; _ground_truth: the columns account_weeks had then).
DEFAULT_FINGERPRINTS = {
    "_ground_truth": "5f1a261f163126b2",
    "accounts": "eb357252c84619d0",
    "events": "ba4dddd9e8fe28f6",
    "invoices": "42b32220080be746",
    "nps_responses": "d39cb39411ac3b72",
    "subscriptions": "a96e3ad3058dd1db",
    "tickets": "b45ab7d068d2a025",
    "users": "b03403cf5ec44c2e",
}


def _config(shape: str, **kw) -> SimulationConfig:
    return SimulationConfig(**{"n_accounts": 60, "months": 6, "seed": 7, "end_date": END, "shape": shape, **kw})


def _fingerprint(folder: Path, columns: list[str] | None = None) -> str:
    """Hash of a table's rows (floats rounded, so last-bit differences between CPUs do not count)."""
    df = pd.read_parquet(folder, columns=columns)
    floats = df.select_dtypes("float").columns
    df[floats] = df[floats].round(6)
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()[:16]


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    tables = {p.name: pd.read_parquet(p) for p in out.iterdir() if p.is_dir() and p.name in TABLES}
    tables["ground_truth"] = pd.read_parquet(out / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_TABLE}.parquet")
    return tables


@pytest.fixture(scope="module")
def companies(tmp_path_factory) -> dict[str, tuple[Path, dict[str, int]]]:
    out = {}
    for shape in SHAPES:
        folder = tmp_path_factory.mktemp(shape)
        out[shape] = folder, generate(_config(shape), folder)
    return out


def test_every_shape_is_named_in_this_test():
    assert set(SHAPES) == set(EXPECTED_TABLES)


@pytest.mark.parametrize("shape", list(EXPECTED_TABLES))
def test_each_shape_writes_exactly_its_tables(companies, shape):
    out, rows = companies[shape]
    assert set(rows) == EXPECTED_TABLES[shape] | {GROUND_TRUTH_KEY, EPISODES_KEY}
    written = {p.name for p in out.iterdir() if p.is_dir()}
    assert written == EXPECTED_TABLES[shape] | {GROUND_TRUTH_DIR}
    tables = _tables(out)
    for name in EXPECTED_TABLES[shape]:
        assert rows[name] == len(tables[name]) > 0, name
        assert list(tables[name].columns) == list(TABLES[name].columns), name
        assert tables[name][TABLES[name].primary_key].is_unique, name
    assert set(SHAPES[shape].tables) == EXPECTED_TABLES[shape]


def test_a_shape_removes_the_tables_it_does_not_bring(tmp_path):
    generate(_config("all_sources"), tmp_path)
    generate(_config("accounts_events"), tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"accounts", "events", GROUND_TRUTH_DIR}


def test_default_shape_is_the_company_it_always_was(companies, tmp_path):
    assert SimulationConfig().shape == "all_sources"
    inert = tmp_path / "inert"
    generate(_config("all_sources", playbook_effect=0.0), inert)
    found = {p.name: _fingerprint(p) for p in inert.iterdir() if p.is_dir() and p.name in DEFAULT_FINGERPRINTS}
    found[GROUND_TRUTH_DIR] = _fingerprint(
        inert / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_TABLE}.parquet",
        ["account_id", "week_start_date", "latent_health", "churn_hazard", "true_churn_prob_90d"],
    )
    assert found == DEFAULT_FINGERPRINTS
    # ... and without naming the shape, the same files with the same rows.
    out, _ = companies["all_sources"]
    default = tmp_path / "default"
    generate(SimulationConfig(n_accounts=60, months=6, seed=7, end_date=END), default)
    assert sorted(p.relative_to(default) for p in default.rglob("*")) == sorted(
        p.relative_to(out) for p in out.rglob("*")
    )
    for name, df in _tables(out).items():
        pd.testing.assert_frame_equal(_tables(default)[name], df, obj=name)


@pytest.mark.parametrize("shape", ["no_tickets_nps_invoices", "accounts_events", "purchases"])
def test_each_shape_is_deterministic_per_seed(companies, shape, tmp_path):
    out, _ = companies[shape]
    generate(_config(shape), tmp_path / "again")
    first, again = _tables(out), _tables(tmp_path / "again")
    for name, df in first.items():
        pd.testing.assert_frame_equal(again[name], df, obj=name)
    generate(_config(shape, seed=8), tmp_path / "other")
    assert not _tables(tmp_path / "other")["events"].equals(first["events"])


def test_shapes_share_the_company_and_differ_only_in_what_they_bring(companies):
    accounts = {s: _tables(companies[s][0])["accounts"] for s in SHAPES}
    for shape in SHAPES:
        pd.testing.assert_frame_equal(accounts[shape], accounts["all_sources"], obj=shape)
    full, lean = _tables(companies["all_sources"][0]), _tables(companies["no_tickets_nps_invoices"][0])
    for name in ("users", "events", "subscriptions", "ground_truth"):
        pd.testing.assert_frame_equal(lean[name], full[name], obj=name)


def test_purchases_are_one_off_invoices_with_an_order_event(companies):
    tables = _tables(companies["purchases"][0])
    inv, events = tables["invoices"], tables["events"]
    assert inv.subscription_id.isna().all() and (inv.amount_due > 0).all()
    assert set(inv.status) <= {"paid", "open", "overdue"} and (inv.status == "paid").mean() > 0.8
    assert (inv.paid_at.isna() | (inv.paid_at >= inv.issued_at)).all()
    # Every invoice is an order placed in the product at that moment, by a user of the account (or none found).
    orders = events[events.event_name == ORDER_EVENT]
    pd.testing.assert_frame_equal(
        orders[["account_id", "occurred_at"]].sort_values(["account_id", "occurred_at"]).reset_index(drop=True),
        inv[["account_id", "issued_at"]]
        .rename(columns={"issued_at": "occurred_at"})
        .sort_values(["account_id", "occurred_at"])
        .reset_index(drop=True),
    )
    users = tables["users"].set_index("user_id")
    buyers = orders.dropna(subset=["user_id"])
    assert len(buyers) > 0.9 * len(orders)
    assert (users.loc[buyers.user_id, "account_id"].to_numpy() == buyers.account_id.to_numpy()).all()
    # Not a billing calendar: order sizes vary within an account, and accounts buy at their own rates.
    per_account = inv.groupby("account_id")
    assert (per_account.amount_due.nunique() > 1).mean() > 0.8
    counts = per_account.size()
    assert counts.std() / counts.mean() > 0.5
    gaps = per_account.issued_at.diff().dt.total_seconds().dropna() / 86_400
    assert gaps.std() / gaps.mean() > 0.8  # irregular, like Poisson arrivals (a calendar gives ~0)


def test_accounts_without_contracts_drop_out_and_go_quiet(companies):
    """After an account drops out (ground truth: certain churn, no hazard left) it neither uses the
    product nor buys; before, it does."""
    for shape in ("accounts_events", "purchases"):
        tables = _tables(companies[shape][0])
        gt = tables["ground_truth"].assign(week=lambda d: pd.to_datetime(d.week_start_date))
        gone = gt[(gt.churn_hazard == 0) & (gt.true_churn_prob_90d == 1)].groupby("account_id").week.min()
        assert len(gone) > 0, shape
        last = {"events": tables["events"].groupby("account_id").occurred_at.max()}
        if shape == "purchases":
            last["invoices"] = tables["invoices"].groupby("account_id").issued_at.max()
        for name, last_at in last.items():
            joined = pd.concat([gone.rename("gone"), last_at.rename("last")], axis=1, join="inner")
            assert (joined["last"] < joined["gone"]).all(), (shape, name)
        # Accounts still there at the end were active in the last month.
        stayed = set(tables["accounts"].account_id) - set(gone.index)
        recent = tables["events"][tables["events"].occurred_at >= CUTOFF - pd.Timedelta(days=30)]
        assert len(stayed & set(recent.account_id)) > 0.8 * len(stayed), shape


@pytest.fixture(scope="module")
def purchases_year(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("purchases_year")
    generate(_config("purchases", n_accounts=150, months=12), out)
    return _tables(out)


def test_purchase_rate_falls_as_an_account_disengages(purchases_year):
    inv, gt = purchases_year["invoices"], purchases_year["ground_truth"]
    week = (inv.issued_at.dt.normalize() - pd.to_timedelta(inv.issued_at.dt.day_of_week, unit="D")).dt.date
    per_week = inv.assign(week_start_date=week).groupby(["account_id", "week_start_date"]).size().rename("orders")
    alive = gt[gt.churn_hazard > 0].set_index(["account_id", "week_start_date"])
    alive = alive.join(per_week).fillna({"orders": 0})
    # Within accounts (their own rates differ): fewer orders in weeks of lower health.
    centred = alive.groupby(level=0).transform(lambda s: s - s.mean())
    assert np.corrcoef(centred.latent_health, centred.orders)[0, 1] > 0.15


def test_purchases_oracle_is_the_probability_of_no_purchase_in_90_days(purchases_year):
    """Dormancy: the ground truth predicts 'no purchase in the 90 days from the week's start'."""
    inv, gt = purchases_year["invoices"], purchases_year["ground_truth"]
    gt = gt.assign(start=pd.to_datetime(gt.week_start_date))
    gt = gt[gt.start + pd.Timedelta(days=90) <= CUTOFF].reset_index(drop=True)
    pairs = gt[["account_id", "start"]].reset_index().merge(inv[["account_id", "issued_at"]], on="account_id")
    bought = pairs[(pairs.issued_at >= pairs.start) & (pairs.issued_at < pairs.start + pd.Timedelta(days=90))]
    no_purchase = ~gt.index.isin(bought["index"])
    p = gt.true_churn_prob_90d.to_numpy()
    assert roc_auc_score(no_purchase, p) > 0.9
    assert abs(p.mean() - no_purchase.mean()) < 0.03
    uncertain = (p > 0.05) & (p < 0.95)
    assert abs(p[uncertain].mean() - no_purchase[uncertain].mean()) < 0.05


def test_usage_oracle_counts_dropouts_that_become_activity_churn(companies):
    """Activity: a dropout is churn once the silence lasts ACTIVITY_CHURN_DAYS; the ground truth is
    certain for dropped-out weeks and, for the others, ranks the accounts that will go quiet first."""
    tables = _tables(companies["accounts_events"][0])
    gt = tables["ground_truth"].assign(start=lambda d: pd.to_datetime(d.week_start_date))
    last = tables["events"].groupby("account_id").occurred_at.max().dt.normalize().rename("last")
    gt = gt.join(last, on="account_id")
    gt = gt[gt.start + pd.Timedelta(days=90) <= CUTOFF]
    silent = gt["last"] + pd.Timedelta(days=ACTIVITY_CHURN_DAYS)
    quiet_for_good = (silent >= gt.start) & (silent < gt.start + pd.Timedelta(days=90))
    on_grid = gt["last"] + pd.Timedelta(days=ACTIVITY_CHURN_DAYS) >= gt.start
    assert roc_auc_score(quiet_for_good[on_grid], gt.true_churn_prob_90d[on_grid]) > 0.85


@pytest.mark.parametrize("months", [6, 9, 12, 18])
@pytest.mark.parametrize("shape", list(EXPECTED_TABLES))
def test_histories_of_6_to_18_months(shape, months, tmp_path):
    config = _config(shape, n_accounts=30, months=months)
    rows = generate(config, tmp_path)
    window = make_window(config)
    assert months * 28 <= window.n_days <= months * 31 + 7
    events = pd.read_parquet(tmp_path / "events")
    assert events.occurred_at.min() >= pd.Timestamp(window.start_date) and events.occurred_at.max() < CUTOFF
    assert rows[GROUND_TRUTH_KEY] > 0 and rows["events"] > 0


def test_unknown_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown simulator shape 'crm'.*all_sources.*purchases"):
        SimulationConfig(shape="crm")


def test_cli_shape_flag_and_environment_default(tmp_path, monkeypatch, capsys):
    args = ["--accounts", "15", "--months", "2", "--seed", "3", "--end-date", "2026-01-31"]
    assert main([*args, "--shape", "accounts_events", "--out", str(tmp_path / "flag")]) == 0
    assert "churn definition: activity" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "flag").iterdir()} == {"accounts", "events", GROUND_TRUTH_DIR}
    monkeypatch.setenv("AHW_SIM_SHAPE", "purchases")
    assert main([*args, "--out", str(tmp_path / "env")]) == 0
    assert "shape purchases" in capsys.readouterr().out
    assert (tmp_path / "env" / "invoices").is_dir() and not (tmp_path / "env" / "subscriptions").exists()

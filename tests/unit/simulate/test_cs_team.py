"""The simulated CS team: it works only playbook-group alerts, within its weekly capacity, writes
cs_activities as the contract says, agrees with the warehouse on the holdout, and its playbooks have
a true effect that is positive, differs by problem, and vanishes at playbook_effect 0."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.core.contract import (
    GROUND_TRUTH_DIR,
    GROUND_TRUTH_EPISODES_COLUMNS,
    GROUND_TRUTH_EPISODES_TABLE,
    GROUND_TRUTH_TABLE,
    TABLES,
)
from dagster_project.core.holdout import HOLDOUT, assign_groups
from dagster_project.simulate import SimulationConfig, generate
from dagster_project.simulate.__main__ import main
from dagster_project.simulate.accounts import generate_accounts
from dagster_project.simulate.config import Stage, make_window, stage_rng
from dagster_project.simulate.cs_team import OUTREACH, PROBLEMS, CSTeam, CSTeamModel, holdout_group
from dagster_project.simulate.health import HealthModel, simulate_health

END = dt.date(2026, 3, 15)
CONFIG = SimulationConfig(n_accounts=200, months=12, seed=3, end_date=END, holdout_share=0.2, holdout_salt="test")


def _read(out: Path) -> dict[str, pd.DataFrame]:
    gt = out / GROUND_TRUTH_DIR
    return {
        "accounts": pd.read_parquet(out / "accounts"),
        "cs_activities": pd.read_parquet(out / "cs_activities"),
        "episodes": pd.read_parquet(gt / f"{GROUND_TRUTH_EPISODES_TABLE}.parquet"),
        "account_weeks": pd.read_parquet(gt / f"{GROUND_TRUTH_TABLE}.parquet"),
    }


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("cs_team")
    generate(CONFIG, out)
    return _read(out)


@pytest.fixture(scope="module")
def inert(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("cs_team_inert")
    generate(dataclasses.replace(CONFIG, playbook_effect=0.0), out)
    return _read(out)


def _team(config: SimulationConfig) -> tuple[CSTeam, np.ndarray]:
    """The team and the health paths it leaves behind, as the generator runs them."""
    window = make_window(config)
    acc = generate_accounts(config, window)
    team = CSTeam(
        acc,
        window,
        CSTeamModel(),
        stage_rng(config.seed, Stage.CS_TEAM),
        playbook_effect=config.playbook_effect,
        holdout_share=config.holdout_share,
        holdout_salt=config.holdout_salt,
        horizon_days=config.horizon_days,
    )
    paths = simulate_health(acc, window, HealthModel(), stage_rng(config.seed, Stage.HEALTH), team)
    return team, paths.h


def test_same_seed_gives_the_same_activities_and_episodes(company, tmp_path):
    generate(CONFIG, tmp_path)
    again = _read(tmp_path)
    for name in ("cs_activities", "episodes"):
        pd.testing.assert_frame_equal(again[name], company[name], obj=name)


def test_without_effect_the_health_is_that_of_a_company_without_the_team(inert):
    config = dataclasses.replace(CONFIG, n_accounts=80, months=6, playbook_effect=0.0)
    window = make_window(config)
    acc = generate_accounts(config, window)
    alone = simulate_health(acc, window, HealthModel(), stage_rng(config.seed, Stage.HEALTH))
    team, with_team = _team(config)
    np.testing.assert_array_equal(with_team, alone.h)
    assert len(team.result().act_alert) > 0  # the team did work, to no effect
    assert (inert["episodes"].true_health_effect == 0).all()
    assert (inert["episodes"].true_churn_effect_90d == 0).all()
    assert (inert["account_weeks"][["playbook_effect_health", "true_uplift_90d"]] == 0).all().all()


def test_the_team_and_the_warehouse_put_every_account_block_in_the_same_group():
    rng = np.random.default_rng(0)
    accounts = np.array([f"acc_{i:06d}" for i in rng.integers(1, 5000, 400)])
    dates = np.datetime64("2024-01-01") + rng.integers(0, 900, 400)
    for share, horizon in [(0.1, 90), (0.3, 30), (0.0, 90)]:
        holdout, _ = holdout_group(accounts, dates, share, "salt", horizon)
        expected = assign_groups(accounts, pd.to_datetime(dates), share, "salt", horizon) == HOLDOUT
        np.testing.assert_array_equal(holdout, expected)


def test_holdout_account_blocks_get_no_activity(company):
    team, _ = _team(CONFIG)
    work = team.result()
    worked = work.alert_worked >= 0
    assert work.alert_holdout.any() and worked.any()
    assert not (worked & work.alert_holdout).any()
    episodes = company["episodes"]
    holdout = episodes[episodes.treatment_group == "holdout"]
    assert len(holdout) > 0 and not holdout.worked.any() and holdout.treated_date.isna().all()
    assert (holdout[["true_health_effect", "true_churn_effect_90d"]] == 0).all().all()
    # The warehouse, assigning the episodes' account and alert date, finds the same groups.
    groups = assign_groups(episodes.account_id, episodes.alert_date, CONFIG.holdout_share, "test", 90)
    assert (groups == episodes.treatment_group).all()
    # At most one worked alert per account and block.
    assert not episodes[episodes.worked].duplicated(["account_id", "horizon_block"]).any()


def test_capacity_is_respected_every_week_and_busy_weeks_leave_alerts_unworked(company):
    team, _ = _team(CONFIG)
    acts = company["cs_activities"]
    start = pd.Timestamp(make_window(CONFIG).start_date)
    per_week = ((acts.created_at - start).dt.days // 7).value_counts()
    assert per_week.max() <= team.capacity == round(CSTeamModel().actions_per_100_accounts * CONFIG.n_accounts / 100)
    assert (per_week == team.capacity).any()
    playbook = company["episodes"][company["episodes"].treatment_group == "playbook"]
    assert 0.5 < playbook.worked.mean() < 1.0


def test_activities_conform_to_the_contract(company):
    acts, contract = company["cs_activities"], TABLES["cs_activities"]
    assert list(acts.columns) == list(contract.columns) and len(acts) > 50
    assert acts[list(contract.required)].notna().all().all()
    assert acts.activity_id.is_unique
    for column, allowed in contract.enums.items():
        assert set(acts[column].dropna()) <= set(allowed), column
    assert set(acts.playbook) <= {"in-app nudge", "CS outreach", "technical remediation + renewal prioritization"}
    assert acts.alert_id.isna().all()  # the warehouse joins them to its alerts by account and time
    owner = company["accounts"].set_index("account_id").csm_owner_id
    assert (acts.owner_id.to_numpy() == owner.loc[acts.account_id].to_numpy()).all()
    closed = acts[acts.completed_at.notna()]
    assert (closed.completed_at >= closed.created_at).all()
    assert acts[acts.completed_at.isna()].outcome.isna().all() and closed.outcome.notna().all()
    assert (closed.outcome == "completed").mean() > 0.5 and closed.outcome.nunique() == 4
    assert 0.15 < closed.feedback.notna().mean() < 0.4
    assert (acts.feedback.notna() == acts.feedback_reason.notna()).all()
    assert acts.created_at.is_monotonic_increasing


def test_episodes_have_the_ground_truth_columns(company):
    episodes = company["episodes"]
    assert list(episodes.columns) == list(GROUND_TRUTH_EPISODES_COLUMNS)
    assert not episodes.duplicated(["account_id", "horizon_block"]).any()
    assert set(episodes.treatment_group) == {"playbook", "holdout"}
    assert set(episodes.problem_type) <= set(PROBLEMS)
    assert (episodes.arr_at_alert_usd > 0).all()
    no_effect = episodes.outcome.isin(["declined", "no_response"]) | ~episodes.worked
    assert (episodes[no_effect].true_health_effect == 0).all()
    assert (episodes.true_health_effect >= 0).all()


def test_playbooks_lower_churn_and_help_adoption_problems_more_than_budget_ones(company):
    episodes = company["episodes"]
    worked = episodes[episodes.worked]
    assert worked.true_churn_effect_90d.min() > -1e-6
    assert 0.003 < worked.true_churn_effect_90d.mean() < 0.1
    by_problem = worked.groupby("problem_type")[["true_health_effect", "true_churn_effect_90d"]].mean()
    adoption = worked[worked.problem_type.isin(["champion_left", "low_adoption"])]
    budget = worked[worked.problem_type == "budget"]
    assert adoption.true_health_effect.mean() > 3 * budget.true_health_effect.mean()
    assert adoption.true_churn_effect_90d.mean() > budget.true_churn_effect_90d.mean()
    assert by_problem.true_health_effect.max() > 3 * by_problem.true_health_effect.min()
    # The per account-week uplift: a "CS outreach" bump for the account's problem of the week.
    weeks = company["account_weeks"]
    effect = CSTeamModel().effect[OUTREACH]
    assert set(weeks.playbook_effect_health.round(9)) <= {0.0, *(round(e, 9) for e in effect)}
    assert weeks.true_uplift_90d.min() > -1e-6 and weeks.true_uplift_90d.max() > 0.05


def test_reduced_shapes_have_the_team_but_not_its_table(tmp_path):
    generate(dataclasses.replace(CONFIG, n_accounts=60, months=6, shape="accounts_events"), tmp_path)
    assert not (tmp_path / "cs_activities").exists()
    episodes = pd.read_parquet(tmp_path / GROUND_TRUTH_DIR / f"{GROUND_TRUTH_EPISODES_TABLE}.parquet")
    assert episodes.worked.any() and (episodes.true_health_effect > 0).any()
    assert episodes.arr_at_alert_usd.isna().all()  # no contracts, no ARR


def test_cli_playbook_effect_flag_and_limits(tmp_path, capsys):
    args = ["--accounts", "15", "--months", "2", "--seed", "3", "--end-date", "2026-01-31"]
    assert main([*args, "--playbook-effect", "0", "--out", str(tmp_path)]) == 0
    assert "_ground_truth/cs_episodes" in capsys.readouterr().out
    with pytest.raises(ValueError, match="playbook_effect"):
        SimulationConfig(playbook_effect=-1)

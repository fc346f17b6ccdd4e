"""Does the playbook-vs-holdout comparison find a real effect, and only a real one? Over many
simulated companies.

    ahw experiment                              # 10 seeds, 300 accounts x 12 months, effect on and off
    ahw experiment --seeds 20 --accounts 500 --csv /tmp/experiment.csv

For each seed and playbook effect (the simulator's `playbook_effect`: 1 = the calibrated true
effect, 0 = playbooks do nothing) it simulates a company, takes the simulator's alert episodes
(`_ground_truth/cs_episodes`: an account's first alert in a horizon block, its group from the
same salted hash the warehouse uses, and whether the account churned within the horizon) whose
horizon ended inside the simulated window, and runs the warehouse's own estimator on them
(`health.outcomes.playbook_outcomes`: Newcombe interval of the playbook-minus-holdout churn rate,
Bonferroni-corrected verdicts). The true average effect is the simulator's: minus the mean, over
the playbook episodes, of the drop in 90-day churn probability that the episode's treatment caused
(0 for episodes the team never worked), i.e. the effect of being assigned to the playbook group.

The episodes are the simulator's alerts, not the warehouse's: this measures the estimator and the
randomization on many companies in minutes, where a full pipeline per company would take hours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import pandas as pd

from dagster_project.core.contract import GROUND_TRUTH_DIR
from dagster_project.core.holdout import PLAYBOOK
from dagster_project.core.settings import get_settings
from dagster_project.health.outcomes import ALL_PLAYBOOKS, playbook_outcomes
from dagster_project.simulate import SimulationConfig, generate

EPISODES_FILE = "cs_episodes.parquet"
END_DATE = dt.date(2026, 11, 29)


def episodes_frame(episodes: pd.DataFrame, end_date: dt.date, horizon_days: int) -> pd.DataFrame:
    """The simulator's episodes whose horizon ended by `end_date`, shaped like mart_alert_outcomes."""
    frame = episodes.copy()
    frame["alert_date"] = pd.to_datetime(frame["alert_date"])
    frame = frame[frame["alert_date"] + pd.Timedelta(days=horizon_days) <= pd.Timestamp(end_date)]
    worked = frame["worked"].astype(bool)
    return pd.DataFrame(
        {
            "alert_id": frame["account_id"] + ":" + frame["alert_date"].dt.strftime("%Y-%m-%d"),
            "account_id": frame["account_id"],
            "alert_date": frame["alert_date"],
            "rule_playbook": frame["playbook"],
            "treatment_group": frame["treatment_group"],
            "is_episode_start": True,
            "churned_within_horizon": frame["churned_within_horizon"].astype("boolean"),
            "actions": worked.astype(int),
            "engaged": pd.array(worked, dtype="boolean"),
            "met_respond_by": pd.array([None] * len(frame), dtype="boolean"),
            "arr_usd": frame["arr_usd"] if "arr_usd" in frame else 0.0,
            "true_churn_effect_90d": frame["true_churn_effect_90d"],
        }
    ).reset_index(drop=True)


def one_company(seed: int, accounts: int, months: int, effect: float, horizon_days: int) -> dict:
    """Simulate one company and compare the estimate with the truth."""
    with tempfile.TemporaryDirectory(prefix="ahw-experiment-") as tmp:
        config = SimulationConfig(
            n_accounts=accounts, months=months, seed=seed, end_date=END_DATE, playbook_effect=effect
        )
        generate(config, Path(tmp))
        episodes = pd.read_parquet(Path(tmp) / GROUND_TRUTH_DIR / EPISODES_FILE)
    frame = episodes_frame(episodes, END_DATE, horizon_days)
    table = playbook_outcomes(frame)
    total = table[(table["playbook"] == ALL_PLAYBOOKS) & table["cohort_month"].isna()].iloc[0]
    playbook_rows = table[table["cohort_month"].isna() & (table["playbook"] != ALL_PLAYBOOKS)]
    treated = frame[frame["treatment_group"] == PLAYBOOK]
    truth = -float(treated["true_churn_effect_90d"].mean()) if len(treated) else float("nan")
    low, high = total["churn_difference_low"], total["churn_difference_high"]
    return {
        "seed": seed,
        "playbook_effect": effect,
        "episodes_playbook": int(total["known_playbook"]),
        "episodes_holdout": int(total["known_holdout"]),
        "churn_playbook": total["churn_rate_playbook"],
        "churn_holdout": total["churn_rate_holdout"],
        "difference": total["churn_difference"],
        "low": low,
        "high": high,
        "true_effect": truth,
        "covered": bool(pd.notna(low) and low <= truth <= high),
        "covers_zero": bool(pd.notna(low) and low <= 0 <= high),
        "playbooks_called_working": ", ".join(playbook_rows.loc[playbook_rows["verdict"] == "works", "playbook"]),
        "verdict_all": total["verdict"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ahw experiment", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--effects", type=float, nargs="+", default=[1.0, 0.0])
    parser.add_argument("--csv", type=Path, help="also write the per-company table here")
    args = parser.parse_args(argv)
    horizon = get_settings().churn_horizon_days
    rows = []
    for effect in args.effects:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = one_company(seed, args.accounts, args.months, effect, horizon)
            rows.append(row)
            print(
                f"effect {effect:g} seed {seed:>3}: playbook {row['episodes_playbook']:>4} holdout "
                f"{row['episodes_holdout']:>3}  diff {row['difference']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"
                f"  true {row['true_effect']:+.3f}  covered {row['covered']}  working: "
                f"{row['playbooks_called_working'] or '-'}",
                flush=True,
            )
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    print()
    for effect, part in table.groupby("playbook_effect", sort=False):
        print(
            f"effect {effect:g}: interval covers the true effect in {int(part['covered'].sum())} of {len(part)}; "
            f"covers 0 in {int(part['covers_zero'].sum())} of {len(part)}; a playbook called working in "
            f"{int((part['playbooks_called_working'] != '').sum())} of {len(part)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

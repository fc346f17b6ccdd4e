"""The uplift model: from playbook and holdout episodes, how much outreach lowers each account's
churn (`ml.uplift`), backtested walk-forward into `marts.mart_uplift_performance`. The
`mart_account_health` asset scores the current accounts with it (`uplift_score`)."""

import dagster as dg
import pandas as pd

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import markdown_table, mart_spec_metadata, rounded, table_metadata
from dagster_project.defs.models.training import trained_check, trained_check_spec
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import schemas
from dagster_project.ml import uplift
from dagster_project.ml.dataset import NothingToLearn
from dagster_project.ml.snapshots import oracle_scores, read_snapshots

KEY = ["models", "uplift_model"]
PERFORMANCE = "mart_uplift_performance"
TRUE_UPLIFT = "true_uplift_90d"


@dg.multi_asset(
    group_name="models",
    specs=[
        dg.AssetSpec(
            KEY,
            kinds={"python", "scikitlearn"},
            deps=[dg.AssetKey(["marts", "mart_alert_outcomes"]), dg.AssetKey(["marts", "ml_account_snapshots"])],
            description="Uplift model: how much a playbook lowers each account's churn probability, learned from "
            "playbook and holdout episodes (a T-learner or an S-learner on the logistic churn model, whichever has "
            "the higher backtest Qini). Skipped, with its reason, until the holdout has enough known episodes.",
        ),
        dg.AssetSpec(
            ["marts", PERFORMANCE],
            kinds={"duckdb", "python"},
            deps=[dg.AssetKey(KEY)],
            metadata=mart_spec_metadata(PERFORMANCE),
            description="Walk-forward backtest of the uplift model: Qini coefficient and uplift@10 % per fold and "
            "pooled; on simulated companies also the oracle and the churners a top-10 % list saves.",
        ),
    ],
    check_specs=[trained_check_spec(KEY)],
)
def uplift_model(context: dg.AssetExecutionContext):
    settings = get_settings()
    directory = settings.artifacts_dir / "uplift"
    with connect(settings, read_only=True) as con:
        alert_outcomes = con.sql("SELECT * FROM marts.mart_alert_outcomes").df()
        risk = con.sql("SELECT account_id, as_of_date, churn_probability FROM marts.mart_account_health_history").df()
    snapshots, families = read_snapshots(dbt_project.manifest_path)
    rows = uplift.episode_rows(alert_outcomes, snapshots)
    risk["as_of_date"] = pd.to_datetime(risk["as_of_date"])
    rows = rows.merge(risk, on=["account_id", "as_of_date"], how="left")
    truth = oracle_scores(rows, TRUE_UPLIFT)
    if truth is not None:
        rows[TRUE_UPLIFT] = truth.to_numpy()
    features = sorted(families)
    try:
        scored = {
            kind: uplift.walk_forward(rows, features, settings.churn_horizon_days, kind=kind)
            for kind in uplift.LEARNERS
        }
        table = uplift.backtest_table(scored, TRUE_UPLIFT, "churn_probability")
        chosen = uplift.choose_learner(table)
        model = uplift.fit_uplift(rows, features, chosen)
    except NothingToLearn as skipped:
        (directory / uplift.UPLIFT_FILE).unlink(missing_ok=True)  # no stale scores
        with connect(settings) as con:
            schemas.write_mart(con, PERFORMANCE, schemas.empty(PERFORMANCE))
        context.log.warning(f"uplift model skipped: {skipped}")
        yield dg.MaterializeResult(
            asset_key=KEY,
            metadata={"skipped_because": str(skipped), "episodes": len(rows)},
            check_results=[trained_check("uplift", False, str(skipped))],
        )
        yield dg.MaterializeResult(asset_key=["marts", PERFORMANCE], metadata={"dagster/row_count": 0})
        return

    now = clock.now()
    table = table.assign(chosen=table["learner"] == chosen, evaluated_at=now)
    for column in schemas.columns(PERFORMANCE):
        if column not in table:
            table[column] = None
    with connect(settings) as con:
        schemas.write_mart(con, PERFORMANCE, table[schemas.columns(PERFORMANCE)])
    pooled = table[table["fold"].isna() & table["chosen"]].iloc[0].to_dict()
    arms = rows["treated"].value_counts()
    model.save(
        directory,
        {
            "trained_at": now.isoformat(),
            "learner": chosen,
            "episodes_playbook": int(arms.get(True, 0)),
            "episodes_holdout": int(arms.get(False, 0)),
            "features": features,
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEY,
        metadata={
            "artifact": dg.MetadataValue.path(str(directory / uplift.UPLIFT_FILE)),
            "learner": chosen,
            "backtest": markdown_table(
                table[table["fold"].isna()].drop(columns=["fold", "origin_date", "evaluated_at"])
            ),
            "episodes_playbook": int(arms.get(True, 0)),
            "episodes_holdout": int(arms.get(False, 0)),
            **{
                f"backtest_{k}": rounded(v) if isinstance(v, float) else v
                for k, v in pooled.items()
                if k not in ("fold", "origin_date", "learner", "chosen", "evaluated_at") and pd.notna(v)
            },
        },
        check_results=[trained_check("uplift", True, "trained")],
    )
    yield dg.MaterializeResult(asset_key=["marts", PERFORMANCE], metadata=table_metadata(f"marts.{PERFORMANCE}"))

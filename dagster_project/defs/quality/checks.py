"""Data-quality SLAs (SPEC section 6) as Dagster asset checks.

(No `from __future__ import annotations`: Dagster reads the `context` annotation at definition time.)

Three check steps, each running its Great Expectations suites once (GX is slow to import) and
appending every measure to marts.mart_data_quality:

- `raw_accounts_quality` and `raw_data_quality` on every `["raw", <table>]` asset: completeness,
  duplicate keys and referential
  integrity are blocking (nothing downstream materializes when one fails); validity warns (the bad
  rows are already in quarantine, bad optional values NULL); on raw.subscriptions and raw.invoices
  also state_history (blocking: a quarantined state changes an account's history); on raw.events
  also freshness (warns at 36 h, blocks at 72 h) and volume (warns).
- `staging_data_quality` on the staging models: keys unique and present, and no row lost
  (raw = staged + removed duplicates). Not blocking: the dbt step has already built everything.
- `training_gate` on ml_account_snapshots: blocking, so churn_model and the scores keep their last
  good version when the feature snapshots are broken.

Thresholds come from expectations/sla.yml; the logic is in dagster_project/quality/.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.core.contract import ACCOUNT_FK_TABLES, ACCOUNT_TABLES
from dagster_project.defs.transform.assets import dbt_models
from dagster_project.quality import run
from dagster_project.quality.checks import Verdict
from dagster_project.quality.sla import BLOCK, load_sla
from dagster_project.quality.suites import STAGING_MODELS

CHECK_DESCRIPTIONS = {
    "completeness": "Critical fields (required contract columns) non-null, as landed (raw + quarantined). Blocking.",
    "duplicate_keys": "Duplicate primary keys below the SLA rate; below it staging removes them. Blocking.",
    "referential_integrity": "Rows reference a known account; orphans are quarantined. Blocking.",
    "validity": "No future timestamps, amounts >= 0, NPS 0-10, known enum values, parseable billing intervals, "
    "ends not before starts; "
    "rows with a bad required value are quarantined, bad optional values are set to NULL (rows kept). Warns.",
    run.STATE_HISTORY_CHECK: "No subscription state or invoice quarantined (orphans excepted): without the row the "
    "account's history would change. Blocking.",
    run.FRESHNESS_CHECK: "Newest event vs run time: warns after the SLA hours, blocks after the block hours.",
    run.VOLUME_CHECK: "Recent daily event counts within the SLA band of the trailing same-weekday median. Warns.",
}
NON_BLOCKING = {"validity", run.VOLUME_CHECK}


def model_key(model: str) -> dg.AssetKey:
    """The Dagster asset key of a dbt model, whatever key convention the dbt translator uses."""
    return get_asset_key_for_model([dbt_models], model)


SNAPSHOT_MODEL = "ml_account_snapshots"


def _result(asset_key: dg.AssetKey, check_name: str, v: Verdict, extra: dict | None = None) -> dg.AssetCheckResult:
    metadata = {k: val for k, val in v.metadata.items() if k != "details" and val is not None}
    metadata["details"] = dg.MetadataValue.md(v.metadata["details"])
    metadata.update(extra or {})
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=v.passed,
        severity=dg.AssetCheckSeverity.ERROR if v.severity == BLOCK else dg.AssetCheckSeverity.WARN,
        description=v.description,
        metadata=metadata,
    )


# raw.accounts is checked in its own step: the other raw tables load after it (orphans are found
# against it), so its blocking checks must not wait for them.


def _raw_specs(tables: list[str]) -> list[dg.AssetCheckSpec]:
    sla = load_sla()
    specs = []
    for table in tables:
        for name in run.raw_check_names(table):
            description = CHECK_DESCRIPTIONS[name]
            if name == run.FRESHNESS_CHECK:
                description += f" ({sla.freshness_warn_after_hours:g} h / {sla.freshness_block_after_hours:g} h)"
            specs.append(
                dg.AssetCheckSpec(
                    name, asset=dg.AssetKey(["raw", table]), description=description, blocking=name not in NON_BLOCKING
                )
            )
    return specs


def _raw_checks(context: dg.AssetCheckExecutionContext, tables: list[str]):
    result = run.run_raw_checks(context.run.run_id, tables)
    context.log.info(f"{result.history_rows} rows appended to marts.mart_data_quality")
    for (table, check), verdict in result.verdicts.items():
        yield _result(dg.AssetKey(["raw", table]), check, verdict)


@dg.multi_asset_check(
    specs=_raw_specs(ACCOUNT_TABLES),
    name="raw_accounts_quality",
    compute_kind="great_expectations",
    description="GX suite of raw.accounts (as landed).",
)
def raw_accounts_quality(context: dg.AssetCheckExecutionContext):
    yield from _raw_checks(context, ACCOUNT_TABLES)


@dg.multi_asset_check(
    specs=_raw_specs(ACCOUNT_FK_TABLES),
    name="raw_data_quality",
    compute_kind="great_expectations",
    description="GX suites of the raw tables that reference accounts (as landed), plus freshness and volume.",
)
def raw_data_quality(context: dg.AssetCheckExecutionContext):
    yield from _raw_checks(context, ACCOUNT_FK_TABLES)


@dg.multi_asset_check(
    specs=[
        spec
        for model in STAGING_MODELS.values()
        for spec in (
            dg.AssetCheckSpec(
                run.STAGING_KEYS_CHECK,
                asset=model_key(model),
                description="Primary key unique and non-null, account_id present (GX suite).",
            ),
            dg.AssetCheckSpec(
                run.STAGING_RECONCILIATION_CHECK,
                asset=model_key(model),
                description="No valid row lost: raw rows = staged rows + duplicates removed by staging.",
            ),
        )
    ],
    name="staging_data_quality",
    compute_kind="great_expectations",
    description="GX suites of the staging models plus row reconciliation with raw and quarantine.",
)
def staging_data_quality(context: dg.AssetCheckExecutionContext):
    result = run.run_staging_checks(context.run.run_id)
    for (model, check), verdict in result.verdicts.items():
        yield _result(model_key(model), check, verdict)


@dg.asset_check(
    asset=model_key(SNAPSHOT_MODEL),
    name=run.GATE_CHECK,
    blocking=True,
    compute_kind="great_expectations",
    description="Training gate (GX suite marts.ml_account_snapshots): keys unique and present, censored rows "
    "unlabelled, enough labelled rows. Blocks churn_model and scoring when it fails.",
)
def training_gate(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    result = run.run_snapshot_gate(context.run.run_id)
    ((_, verdict),) = result.verdicts.items()
    return _result(model_key(SNAPSHOT_MODEL), run.GATE_CHECK, verdict)

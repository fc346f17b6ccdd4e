"""One pass of each group of checks: GX suites + SQL measures -> verdicts + history rows.

Called by the Dagster asset checks (one step per group, so GX is imported once per group) and
usable without Dagster: `ahw checks raw` validates the current warehouse.
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass

from dagster_project.core import clock
from dagster_project.core.contract import TABLES
from dagster_project.core.settings import Settings, get_settings
from dagster_project.core.warehouse import connect
from dagster_project.quality import checks, gx_runtime, suites
from dagster_project.quality.checks import Outcome, Verdict
from dagster_project.quality.sla import load_sla

# Check names on the raw table assets, and the SLA whose outcomes each one groups.
RAW_CHECKS = {
    "completeness": "completeness",
    "duplicate_keys": "duplicates",
    "referential_integrity": "referential_integrity",
    "validity": "validity",
}
STATE_HISTORY_CHECK = "state_history"
FRESHNESS_CHECK = "freshness"
VOLUME_CHECK = "volume"
STAGING_KEYS_CHECK = "keys_unique_and_present"
STAGING_RECONCILIATION_CHECK = "rows_reconcile"
GATE_CHECK = "training_gate"


@dataclass
class GroupResult:
    """Verdicts keyed by (table, check name), and how many history rows were written."""

    verdicts: dict[tuple[str, str], Verdict]
    outcomes: list[Outcome]
    history_rows: int


def raw_check_names(table: str) -> list[str]:
    names = [n for n in RAW_CHECKS if n != "referential_integrity" or TABLES[table].account_fk]
    if TABLES[table].state_history:
        names.append(STATE_HISTORY_CHECK)
    sla = load_sla()
    if table == sla.freshness_table:
        names.append(FRESHNESS_CHECK)
    if table == sla.volume_table:
        names.append(VOLUME_CHECK)
    return names


def run_raw_checks(
    run_id: str, tables: list[str] | None = None, settings: Settings | None = None, build_docs: bool = True
) -> GroupResult:
    """Validate raw tables (as landed: raw + quarantined; default all) plus freshness and volume."""
    s = settings or get_settings()
    sla, now = load_sla(), clock.now()
    specs = suites.expected_suites(sla)
    selected = [TABLES[t] for t in (tables or list(TABLES))]
    gx_runs = gx_runtime.validate(
        [t.qualified_name for t in selected], {suites.RUN_TIME_PARAMETER: now}, run_id, s, build_docs=build_docs
    )
    verdicts: dict[tuple[str, str], Verdict] = {}
    all_outcomes: list[Outcome] = []
    with connect(s) as con:
        for table in selected:
            name = table.qualified_name
            outcomes = checks.outcomes_from_suite(name, gx_runs[name].results, list(specs[name].key_columns))
            for o in outcomes:
                if o.sla == "duplicates":
                    checks.add_duplicate_details(con, table, o)
                elif o.sla == "referential_integrity":
                    checks.add_orphan_details(con, table, o)
            groups = {check: [o for o in outcomes if o.sla == sla_name] for check, sla_name in RAW_CHECKS.items()}
            groups["validity"] += checks.nulled_outcomes(con, table, sla)
            if table.state_history:
                groups[STATE_HISTORY_CHECK] = [checks.state_history_outcome(con, table, sla, s.landing_dir)]
            if table.name == sla.freshness_table:
                groups[FRESHNESS_CHECK] = checks.freshness_outcomes(con, sla, now)
            if table.name == sla.volume_table:
                groups[VOLUME_CHECK] = [checks.volume_outcome(con, sla, now)]
            for check in raw_check_names(table.name):
                verdicts[(table.name, check)] = checks.verdict(groups[check], f"{check} of {name}")
                all_outcomes += groups[check]
        all_outcomes += checks.quarantine_outcomes(con, [t.name for t in selected])
        written = checks.append_history(con, run_id, now, all_outcomes)
    return GroupResult(verdicts=verdicts, outcomes=all_outcomes, history_rows=written)


def run_staging_checks(run_id: str, settings: Settings | None = None, build_docs: bool = True) -> GroupResult:
    """Keys of every staging model, and the row reconciliation raw = staged + removed duplicates."""
    s = settings or get_settings()
    sla, now = load_sla(), clock.now()
    specs = suites.expected_suites(sla)
    gx_runs = gx_runtime.validate(
        suites.staging_suite_names(), {suites.RUN_TIME_PARAMETER: now}, run_id, s, build_docs=build_docs
    )
    verdicts: dict[tuple[str, str], Verdict] = {}
    all_outcomes: list[Outcome] = []
    with connect(s) as con:
        for table in TABLES.values():
            model = suites.STAGING_MODELS[table.name]
            name = f"{suites.STAGING_SCHEMA}.{model}"
            keys = checks.outcomes_from_suite(name, gx_runs[name].results, list(specs[name].key_columns))
            for o in keys:
                if o.sla == "duplicates" and not o.passed:  # which keys, only when there are any
                    checks.add_duplicate_details(con, table, o, rows_sql=specs[name].query)
            recon = [checks.reconciliation_outcome(con, table)]
            verdicts[(model, STAGING_KEYS_CHECK)] = checks.verdict(keys, f"keys of {name}")
            verdicts[(model, STAGING_RECONCILIATION_CHECK)] = checks.verdict(recon, f"row reconciliation of {name}")
            all_outcomes += keys + recon
        written = checks.append_history(con, run_id, now, all_outcomes)
    return GroupResult(verdicts=verdicts, outcomes=all_outcomes, history_rows=written)


def run_snapshot_gate(run_id: str, settings: Settings | None = None, build_docs: bool = True) -> GroupResult:
    """The training gate on marts.ml_account_snapshots."""
    s = settings or get_settings()
    sla, now = load_sla(), clock.now()
    spec = suites.expected_suites(sla)[suites.SNAPSHOT_TABLE]
    gx_runs = gx_runtime.validate([spec.name], {suites.RUN_TIME_PARAMETER: now}, run_id, s, build_docs=build_docs)
    outcomes = checks.outcomes_from_suite(spec.name, gx_runs[spec.name].results, list(spec.key_columns))
    with connect(s) as con:
        written = checks.append_history(con, run_id, now, outcomes)
    verdicts = {("ml_account_snapshots", GATE_CHECK): checks.verdict(outcomes, f"training gate on {spec.name}")}
    return GroupResult(verdicts=verdicts, outcomes=outcomes, history_rows=written)


def main(argv: list[str] | None = None) -> None:
    """CLI: run one group of checks against the configured warehouse and print the verdicts."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("group", choices=["raw", "staging", "gate"])
    args = parser.parse_args(argv)
    fn = {"raw": run_raw_checks, "staging": run_staging_checks, "gate": run_snapshot_gate}[args.group]
    result = fn(f"cli-{uuid.uuid4().hex[:8]}")
    for (table, check), v in result.verdicts.items():
        print(f"{'PASS' if v.passed else 'FAIL(' + v.severity + ')'}  {table}.{check}: {v.description}")
    print(
        f"{result.history_rows} rows appended to {checks.HISTORY_TABLE}; "
        f"Data Docs: {gx_runtime.data_docs_dir()}/index.html"
    )

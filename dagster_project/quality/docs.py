"""The SLA table of docs/data_quality.md, rendered from expectations/sla.yml.

`ahw sla-docs` rewrites the table between the markers; a test fails while
the document and the SLA file disagree, so the docs never state a threshold the checks do not use.
"""

from __future__ import annotations

import argparse

from dagster_project.core.contract import TABLES
from dagster_project.core.settings import REPO_ROOT
from dagster_project.quality.sla import Sla, load_sla

DOC_PATH = REPO_ROOT / "docs" / "data_quality.md"
START, END = "<!-- sla-table:start (generated from expectations/sla.yml) -->", "<!-- sla-table:end -->"


def _pct(rate: float) -> str:
    return f"{rate * 100:g} %"


def render_sla_table(sla: Sla | None = None) -> str:
    """Markdown: each SLA, its threshold, what a failure does, and the check that enforces it."""
    s = sla or load_sla()
    rows = [
        (
            "completeness of critical fields (contract's required columns)",
            f">= {_pct(s.min_non_null_rate)} non-null",
            "block; null rows quarantined",
            "`completeness` on each `raw/<table>` (GX `expect_column_values_to_not_be_null`)",
        ),
        (
            "duplicate primary keys in raw tables",
            f"< {_pct(s.max_duplicate_rate)} of rows",
            "block; below it staging removes them",
            "`duplicate_keys` on each `raw/<table>`; `rows_reconcile` on each staging model",
        ),
        (
            "referential integrity (rows -> known account)",
            f">= {_pct(s.min_known_account_rate)}",
            "block; orphans quarantined",
            "`referential_integrity` on each `raw/<table>` with an account_id",
        ),
        (
            f"freshness (newest {s.freshness_table}.{s.freshness_column} vs run time)",
            f"<= {s.freshness_warn_after_hours:g} h (block after {s.freshness_block_after_hours:g} h)",
            "warn, then block",
            f"`freshness` on `raw/{s.freshness_table}`",
        ),
        (
            "validity (no future timestamps, amounts >= 0, NPS "
            + "/".join(f"{lo:g}-{hi:g}" for cols in s.ranges.values() for lo, hi in cols.values())
            + ", known enums, billing intervals that parse, ends not before starts)",
            f">= {_pct(s.min_valid_rate)} valid",
            "a bad required value quarantines its row with a reason; a bad optional value becomes NULL "
            "(row kept, counted); warn below the rate",
            "`validity` on each `raw/<table>`; quarantine in the ingest assets",
        ),
        (
            "state history (subscription states, invoices) not changed by the quarantine",
            f"<= {s.state_history_max_quarantined_rows} quarantined rows (orphans excepted)",
            "block",
            "`state_history` on " + " and ".join(f"`raw/{t.name}`" for t in TABLES.values() if t.state_history),
        ),
        (
            f"volume (daily {s.volume_table} vs median of the same weekday, {s.volume_trailing_weeks} weeks)",
            f"within ±{_pct(s.volume_max_relative_deviation)} (last {s.volume_recent_days} days; "
            f"days expecting < {s.volume_min_baseline_rows} rows not judged)",
            "warn",
            f"`volume` on `raw/{s.volume_table}`",
        ),
        (
            "training gate on marts.ml_account_snapshots",
            f"keys unique and present, >= {s.snapshot_min_labelled_rows} labelled rows",
            "block churn_model and scoring",
            "`training_gate` on `marts/ml_account_snapshots`",
        ),
    ]
    lines = ["| SLA | threshold | on failure | enforced by |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def update_doc() -> bool:
    """Rewrite the generated table in docs/data_quality.md; True when it changed."""
    text = DOC_PATH.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render_sla_table()}\n{END}{tail}"
    if new != text:
        DOC_PATH.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> None:
    """CLI: refresh the SLA table of docs/data_quality.md from expectations/sla.yml."""
    argparse.ArgumentParser(description=main.__doc__).parse_args(argv)
    print("updated" if update_doc() else "already up to date", DOC_PATH)

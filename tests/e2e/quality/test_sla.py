"""The SLA file is the one declaration of every threshold, and it states SPEC section 6."""

from __future__ import annotations

import pytest

from dagster_project.core.contract import TABLES
from dagster_project.quality.sla import SlaConfigError, load_sla


def test_sla_file_states_spec_section_6():
    sla = load_sla()
    assert sla.min_non_null_rate == 0.99
    assert sla.max_duplicate_rate == 0.01
    assert sla.min_known_account_rate == 0.99
    assert sla.freshness_warn_after_hours == 36
    assert sla.freshness_block_after_hours > sla.freshness_warn_after_hours
    assert sla.min_valid_rate == 0.99
    assert sla.volume_max_relative_deviation == 0.5
    assert sla.ranges["nps_responses"]["score"] == (0.0, 10.0)
    assert sla.on_failure["completeness"] == "block"
    assert sla.on_failure["volume"] == "warn"


def test_critical_columns_are_the_contracts_required_columns():
    sla = load_sla()
    for name, table in TABLES.items():
        assert sla.critical_columns(name) == tuple(table.required)


def test_bad_sla_file_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "sla.yml"
    bad.write_text("completeness: {min_non_null_rate: 0.99}\n")
    with pytest.raises(SlaConfigError, match=r"sla.yml.*'duplicates'"):
        load_sla(bad)


def test_unknown_column_in_sla_is_rejected(tmp_path):
    from dagster_project.quality.sla import SLA_PATH

    text = SLA_PATH.read_text().replace("invoices: [amount_due, amount_paid]", "invoices: [amount_owed]")
    path = tmp_path / "sla.yml"
    path.write_text(text)
    with pytest.raises(SlaConfigError, match="amount_owed"):
        load_sla(path)


def test_docs_state_the_thresholds_of_the_sla_file():
    from dagster_project.quality.docs import DOC_PATH, render_sla_table

    assert render_sla_table() in DOC_PATH.read_text(), (
        "docs/data_quality.md disagrees with expectations/sla.yml: run `ahw sla-docs`."
    )

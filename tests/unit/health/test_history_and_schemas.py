"""Score history merging (idempotent, backfill) and the declared mart schemas written to DuckDB."""

import duckdb
import pandas as pd
import pytest

from dagster_project.health import schemas
from dagster_project.health.bands import BandEdges
from dagster_project.health.history import dates_to_score, merge_history


def test_first_run_scores_every_snapshot_later_runs_only_new_and_current_dates():
    snaps = pd.to_datetime(["2026-01-04", "2026-01-11", "2026-01-14"])
    assert dates_to_score(snaps, [], snaps.max()) == list(snaps)
    have = pd.to_datetime(["2026-01-04", "2026-01-11", "2026-01-14"])
    assert dates_to_score(snaps, have, snaps.max()) == [pd.Timestamp("2026-01-14")]
    later = pd.to_datetime(["2026-01-04", "2026-01-11", "2026-01-15"])
    assert dates_to_score(later, have, later.max()) == [pd.Timestamp("2026-01-15")]


def _scored(dates, scores, account="a"):
    return pd.DataFrame({"account_id": account, "as_of_date": pd.to_datetime(dates), "health_score": scores})


def test_merge_history_replaces_the_scored_dates_and_is_idempotent():
    edges = BandEdges()
    first = merge_history(pd.DataFrame(), _scored(["2026-01-04", "2026-01-11"], [50, 29]), edges)
    assert first["health_band"].tolist() == ["yellow", "yellow"]  # 29 is not 3 points below the edge
    assert first["score_change_7d"].tolist()[1] == -21
    again = merge_history(first, _scored(["2026-01-11"], [29]), edges)
    pd.testing.assert_frame_equal(again, first)
    rescored = merge_history(first, _scored(["2026-01-11"], [20]), edges)
    assert rescored["health_score"].tolist() == [50, 20] and rescored["health_band"].tolist() == ["yellow", "red"]
    with pytest.raises(ValueError, match="two rows"):
        merge_history(pd.DataFrame(), pd.concat([_scored(["2026-01-04"], [1])] * 2), edges)


def test_write_mart_declares_types_and_descriptions():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    frame = pd.DataFrame(
        {
            "account_id": ["a"],
            "segment_id": [1],
            "segment_name": ["X"],
            "valid_from": [pd.Timestamp("2026-01-04")],
            "valid_to": [pd.NaT],
        }
    )
    assert schemas.write_mart(con, "mart_segment_history", frame) == 1
    got = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() "
        "WHERE table_name = 'mart_segment_history' ORDER BY column_index"
    ).fetchall()
    assert [(n, t) for n, t, _ in got] == [
        ("account_id", "VARCHAR"),
        ("segment_id", "INTEGER"),
        ("segment_name", "VARCHAR"),
        ("valid_from", "DATE"),
        ("valid_to", "DATE"),
    ]
    assert all(comment for _, _, comment in got)
    with pytest.raises(ValueError, match=r"lacks the columns \['valid_to'\] and has unexpected columns \['extra'\]"):
        schemas.write_mart(con, "mart_segment_history", frame.drop(columns="valid_to").assign(extra=1))
    # A failed write leaves the previous table as it was.
    assert con.execute("SELECT count(*) FROM marts.mart_segment_history").fetchall() == [(1,)]


def test_expansion_mart_has_exactly_the_spec_columns():
    assert schemas.columns("mart_expansion_opportunities") == [
        "account_id",
        "score",
        "projected_arr",
        "poc",
        "signals_json",
        "created_date",
        "status",
        "priority_tier",
    ]


def test_no_mart_declares_a_pii_column():
    pii = ("email", "subject", "comment", "account_name", "user_name")
    for mart, cols in schemas.MARTS.items():
        for name, _, _ in cols:
            assert not any(word in name for word in pii), f"{mart}.{name}"

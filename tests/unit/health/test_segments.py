"""Segmentation on a hand-built population with three obvious groups, and segment history."""

import numpy as np
import pandas as pd
import pytest

from dagster_project.health.segments import segment_accounts, segment_changes


def _population(seed=0):
    rng = np.random.default_rng(seed)
    groups = [
        # big and disengaged, small and engaged, mid and steady
        dict(n=30, arr=60000, util=0.15, depth=2, breadth=2, trend=0.6, tickets=15, nps=3, emp=2000, tenure=900),
        dict(n=30, arr=2000, util=0.95, depth=20, breadth=9, trend=1.4, tickets=0, nps=10, emp=20, tenure=200),
        dict(n=30, arr=12000, util=0.55, depth=8, breadth=5, trend=1.0, tickets=4, nps=7, emp=300, tenure=500),
    ]
    rows = []
    for g, spec in enumerate(groups):
        for i in range(spec["n"]):
            jitter = lambda v: v * rng.normal(1, 0.05)  # noqa: E731
            rows.append(
                {
                    "account_id": f"g{g}_{i}",
                    "arr_usd": jitter(spec["arr"]),
                    "seat_utilization_30d": jitter(spec["util"]),
                    "core_actions_per_active_user_30d": jitter(spec["depth"]),
                    "feature_breadth_30d": jitter(spec["breadth"]),
                    "logins_30d_vs_prior_30d": jitter(spec["trend"]),
                    "tickets_90d": jitter(spec["tickets"] + 0.1),
                    "nps_latest_score": jitter(spec["nps"]),
                    "employee_count": jitter(spec["emp"]),
                    "tenure_days": jitter(spec["tenure"]),
                    "churn_probability": 0.1 if g == 0 else 0.02,
                }
            )
    return pd.DataFrame(rows)


def test_three_obvious_groups_are_found_and_named_from_their_profile():
    result = segment_accounts(_population())
    assert result.k == 3
    assert set(result.silhouette_by_k) == {3, 4, 5, 6, 7}
    assert result.silhouette_by_k[3] == max(result.silhouette_by_k.values())
    names = result.assignments.groupby(result.assignments["account_id"].str[:2])["segment_name"].agg(set)
    assert names["g0"] == {"High-value disengaged"}
    assert names["g1"] == {"Emerging champions"}
    assert names["g2"] == {"Mid-market steady"}
    profiles = result.profiles.set_index("segment_name")
    assert profiles["accounts"].sum() == 90
    assert profiles.loc["High-value disengaged", "segment_id"] == 1  # ids ordered by median ARR
    assert profiles.loc["High-value disengaged", "expected_churn_rate_90d"] == pytest.approx(0.1)
    assert profiles.loc["High-value disengaged", "defining_traits"].startswith("ticket-heavy")
    assert profiles.index.is_unique


def test_segmentation_refuses_too_few_or_duplicated_accounts():
    with pytest.raises(ValueError, match="at least 21"):
        segment_accounts(_population().head(10))
    pop = _population()
    with pytest.raises(ValueError, match="one row per account"):
        segment_accounts(pd.concat([pop, pop.head(1)]))


def test_segment_changes_keep_history_and_are_idempotent():
    day1, day2 = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-08")
    first = pd.DataFrame({"account_id": ["a", "b", "c"], "segment_id": [1, 2, 2], "segment_name": ["X", "Y", "Y"]})
    h1 = segment_changes(pd.DataFrame(), first, day1)
    assert len(h1) == 3 and h1["valid_to"].isna().all()
    second = pd.DataFrame({"account_id": ["a", "b", "d"], "segment_id": [1, 1, 2], "segment_name": ["X", "X", "Y"]})
    h2 = segment_changes(h1, second, day2)
    by = {(r.account_id, r.segment_name): r for r in h2.itertuples()}
    assert pd.isna(by[("a", "X")].valid_to) and by[("a", "X")].valid_from == day1  # unchanged: one open row
    assert by[("b", "Y")].valid_to == day2 and pd.isna(by[("b", "X")].valid_to)  # moved: closed + opened
    assert by[("c", "Y")].valid_to == day2  # no longer active: closed
    assert by[("d", "Y")].valid_from == day2
    assert len(h2) == 5
    pd.testing.assert_frame_equal(segment_changes(h2, second, day2), h2)


def test_segment_tables_carry_each_segments_profile_onto_its_accounts():
    from dagster_project.health.segments import segment_tables

    result = segment_accounts(_population())
    accounts, profiles = segment_tables(result, pd.Timestamp("2026-11-22"))
    assert len(accounts) == 90 and len(profiles) == result.k
    assert (profiles["silhouette"] == result.silhouette_by_k[result.k]).all()
    joined = accounts.merge(profiles, on="segment_id")
    assert (joined["segment_accounts"] == joined["accounts"]).all()
    assert (joined["segment_defining_traits"] == joined["defining_traits"]).all()
    assert (accounts["as_of_date"] == pd.Timestamp("2026-11-22")).all()

"""Feature matrix preparation: column validation, categorical encoding shared by train and score."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.dataset import labelled_rows, latest_snapshot, learn_categories, prepare_matrix


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "as_of_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08"]),
            "logins_30d": pd.array([3, None, 7, 1], dtype="Int64"),
            "mrr": [decimal.Decimal("10.5"), decimal.Decimal("20"), None, decimal.Decimal("1")],
            "plan": ["growth", "starter", None, "growth"],
            "region": pd.Categorical(["emea", "amer", "emea", "apac"]),
            "is_annual": [True, False, True, False],
            "churned_within_90d": pd.array([0, 1, None, None], dtype="Int64"),
        }
    )


def test_numeric_columns_become_float_with_nan():
    X = prepare_matrix(frame(), ["logins_30d", "mrr", "is_annual"])
    assert (X.dtypes == "float64").all()
    assert np.isnan(X["logins_30d"].iloc[1]) and np.isnan(X["mrr"].iloc[2])
    assert X["mrr"].iloc[0] == 10.5 and X["is_annual"].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_categories_are_learned_sorted_and_reused():
    df = frame()
    categories = learn_categories(df, ["logins_30d", "plan", "region"])
    assert categories == {"plan": ["growth", "starter"], "region": ["amer", "apac", "emea"]}
    X = prepare_matrix(df, ["plan", "region"])
    assert list(X["plan"].cat.categories) == ["growth", "starter"]
    assert X["plan"].isna().tolist() == [False, False, True, False]  # missing stays missing, not "nan"

    # At scoring time the training levels are reused, so codes match; unseen levels become missing.
    scoring = df.assign(plan=["enterprise", "starter", "growth", "growth"])
    Xs = prepare_matrix(scoring, ["plan"], categories)
    assert list(Xs["plan"].cat.categories) == ["growth", "starter"]
    assert Xs["plan"].cat.codes.tolist() == [-1, 1, 0, 0]


def test_prepare_matrix_is_idempotent():
    categories = learn_categories(frame(), ["plan", "logins_30d"])
    X = prepare_matrix(frame(), ["plan", "logins_30d"], categories)
    pd.testing.assert_frame_equal(prepare_matrix(X, ["plan", "logins_30d"], categories), X)


def test_missing_column_is_named_with_the_fix():
    with pytest.raises(ValueError, match=r"ml_account_snapshots has no column 'logins_7d'.*dbt"):
        prepare_matrix(frame(), ["logins_30d", "logins_7d"])


def test_text_in_a_numeric_feature_is_rejected():
    with pytest.raises(ValueError, match="'plan' holds text"):
        prepare_matrix(frame(), ["plan"], categories={})


def test_timestamp_feature_is_rejected():
    with pytest.raises(ValueError, match="timestamp"):
        prepare_matrix(frame(), ["as_of_date"])


def test_empty_or_duplicated_feature_list_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        prepare_matrix(frame(), [])
    with pytest.raises(ValueError, match="more than once"):
        prepare_matrix(frame(), ["plan", "plan"])


def test_labelled_rows_drop_censored_and_cast_to_int():
    rows = labelled_rows(frame(), "churned_within_90d")
    assert rows["account_id"].tolist() == ["a", "b"]
    assert rows["churned_within_90d"].dtype == "int64"


def test_all_censored_and_bad_labels_raise():
    df = frame()
    df["churned_within_90d"] = pd.array([None] * 4, dtype="Int64")
    with pytest.raises(ValueError, match="censored"):
        labelled_rows(df, "churned_within_90d")
    df["churned_within_90d"] = [0, 2, 1, None]
    with pytest.raises(ValueError, match="must be 0, 1 or NULL"):
        labelled_rows(df, "churned_within_90d")


def test_latest_snapshot_keeps_the_newest_date():
    assert latest_snapshot(frame())["account_id"].tolist() == ["c", "d"]

"""From `marts.ml_account_snapshots` rows to a LightGBM feature matrix.

The snapshot mart has one row per account x weekly `as_of_date`: feature columns, and labels that
are NULL while their window is not yet fully observed (censored). This module validates that
frame and builds the matrix the model sees, with categorical columns encoded identically at
training and scoring time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SNAPSHOT_TABLE = "marts.ml_account_snapshots"
ID_COLUMNS = ("account_id", "as_of_date")
# Signal families a feature can belong to (the asset passes feature -> family).
FEATURE_FAMILIES = ("usage", "adoption", "trend", "event_name", "billing", "support", "sentiment", "firmographic")


class NothingToLearn(ValueError):
    """The label has nothing a model can learn from: every row censored, or no positive at all.

    Not an error of the data: a company without subscriptions has no expansion label. Callers skip
    the model and say why.
    """


def require_columns(df: pd.DataFrame, columns: Sequence[str], table: str = SNAPSHOT_TABLE) -> None:
    """Raise a ValueError naming every column of `columns` that `df` lacks, and the fix."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise ValueError(
            f"{table} has no column {names}. The feature list and the dbt model disagree: "
            f"rebuild the dbt model (dbt build --select ml_account_snapshots) or remove the "
            f"column from the feature list. Available columns: {', '.join(map(str, df.columns))}."
        )


def validate_feature_families(features: Sequence[str], feature_families: Mapping[str, str] | None) -> dict[str, str]:
    """The feature -> family mapping restricted to `features`; raises on an unknown family name.

    Features without a family are allowed: they count toward the churn probability and drivers
    but toward no sub-score.
    """
    if not feature_families:
        return {}
    unknown = {f: fam for f, fam in feature_families.items() if fam not in FEATURE_FAMILIES}
    if unknown:
        raise ValueError(
            f"Unknown feature families {unknown}; each feature's family must be one of {', '.join(FEATURE_FAMILIES)}."
        )
    return {f: feature_families[f] for f in features if f in feature_families}


def is_categorical(series: pd.Series) -> bool:
    """True for text-like columns (object, string, category) that LightGBM should treat as categories.

    Object columns that hold numbers (e.g. Decimal values from a warehouse driver) are numeric,
    not categories: treating them as categories would silently throw away their order.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_object_dtype(series.dtype):
        kind = pd.api.types.infer_dtype(series, skipna=True)
        return kind not in {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}
    return pd.api.types.is_string_dtype(series.dtype)


def _as_text(series: pd.Series) -> pd.Series:
    """Values as Python strings with missing values kept missing (so they stay NaN, not 'nan')."""
    # str() once per distinct value, not once per cell: a few levels over many thousand rows.
    codes, levels = pd.factorize(series, use_na_sentinel=True)
    text = np.array([str(level) for level in levels] + [np.nan], dtype=object)
    return pd.Series(text[codes], index=series.index, dtype=object)


def learn_categories(df: pd.DataFrame, features: Sequence[str]) -> dict[str, list[str]]:
    """Sorted category levels of every categorical feature, learned from `df` (the training rows)."""
    require_columns(df, features)
    categories: dict[str, list[str]] = {}
    for name in features:
        if is_categorical(df[name]):
            categories[name] = sorted(_as_text(df[name]).dropna().unique().tolist())
    return categories


def prepare_matrix(
    df: pd.DataFrame,
    features: Sequence[str],
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Return the feature matrix X: the `features` columns in order, numeric as float64,
    categoricals as pandas `category` with fixed levels.

    `categories` is None at training time: levels are learned from `df` (see `learn_categories`).
    At scoring time pass the model's `categories` so the integer codes LightGBM sees match the ones
    it was trained on; a level never seen in training becomes missing, which LightGBM routes like
    any other missing value instead of mistaking it for some other category.
    """
    features = list(features)
    if not features:
        raise ValueError("The feature list is empty: pass at least one column of " + SNAPSHOT_TABLE + ".")
    duplicated = sorted({f for f in features if features.count(f) > 1})
    if duplicated:
        raise ValueError(f"The feature list names {duplicated} more than once; list each feature once.")
    require_columns(df, features)
    if categories is None:
        categories = learn_categories(df, features)

    columns: dict[str, pd.Series | pd.Categorical] = {}
    for name in features:
        col = df[name]
        if name in categories:
            levels = list(categories[name])
            text = _as_text(col)
            # Unseen levels become missing explicitly (pandas 4 will refuse to do it implicitly).
            columns[name] = pd.Categorical(text.where(text.isin(levels)), categories=levels)
        elif is_categorical(col):
            raise ValueError(
                f"{SNAPSHOT_TABLE} column {name!r} holds text (dtype {col.dtype}) but the model was "
                f"trained on it as a number. Fix the column type in the dbt model or retrain."
            )
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            raise ValueError(
                f"{SNAPSHOT_TABLE} column {name!r} is a timestamp; features must be numbers or "
                f"categories. Use a duration instead (e.g. days since the timestamp)."
            )
        else:
            try:
                # Nullable Int64/Float64/boolean use pd.NA, which LightGBM cannot read: go to NaN.
                columns[name] = pd.to_numeric(col, errors="raise").astype("float64")
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{SNAPSHOT_TABLE} column {name!r} (dtype {col.dtype}) is neither numeric nor "
                    f"text: {exc}. Cast it to a number or a string in the dbt model."
                ) from exc
    return pd.DataFrame(columns, index=df.index)


def labelled_rows(df: pd.DataFrame, label: str, horizon_days: int | None = None) -> pd.DataFrame:
    """Rows whose label is observed (not NULL), with the label as int 0/1.

    Censored rows (NULL label: the window after `as_of_date` is not fully observed yet) are never
    trained or evaluated on, because treating them as 0 would teach the model that recent
    accounts do not churn.
    """
    require_columns(df, [*ID_COLUMNS, label])
    observed = df[df[label].notna()]
    if observed.empty:
        horizon = f"{horizon_days}-day " if horizon_days else ""
        raise NothingToLearn(
            f"All {len(df)} rows of {SNAPSHOT_TABLE} have a NULL {label!r}: every label is censored "
            f"(its {horizon}window after as_of_date is not fully observed yet). Load more history: "
            f"training needs snapshots older than the label horizon."
        )
    values = pd.to_numeric(observed[label], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        examples = observed.loc[bad, label].astype(str).unique()[:5].tolist()
        raise ValueError(
            f"{SNAPSHOT_TABLE} column {label!r} must be 0, 1 or NULL; found {examples}. Fix the label in the dbt model."
        )
    out = observed.copy()
    out[label] = values.astype("int64")
    return out


def latest_snapshot(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the newest `as_of_date`: the current snapshot that scoring publishes."""
    require_columns(df, ["as_of_date"])
    if df.empty:
        raise ValueError(f"{SNAPSHOT_TABLE} is empty: there is no snapshot to score.")
    return df[df["as_of_date"] == df["as_of_date"].max()]

"""The data-quality SLAs, read from `expectations/sla.yml` (the one place they are declared).

Pure Python, no Dagster: the suite generator, the quarantine, the asset checks, the tests and the
docs all take their thresholds from `load_sla()`. Nothing is read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from dagster_project.core.contract import TABLES
from dagster_project.core.settings import EXPECTATIONS_DIR

SLA_PATH = EXPECTATIONS_DIR / "sla.yml"
BLOCK = "block"
WARN = "warn"


class SlaConfigError(ValueError):
    """expectations/sla.yml is missing a key or has a value of the wrong kind."""


@dataclass(frozen=True)
class Sla:
    """Every SLA threshold, typed. Field names follow the keys of expectations/sla.yml."""

    min_non_null_rate: float
    max_duplicate_rate: float
    min_known_account_rate: float
    freshness_table: str
    freshness_column: str
    freshness_warn_after_hours: float
    freshness_block_after_hours: float
    min_valid_rate: float
    state_history_max_quarantined_rows: int
    no_future_timestamps: dict[str, tuple[str, ...]]
    non_negative: dict[str, tuple[str, ...]]
    ranges: dict[str, dict[str, tuple[float, float]]]
    not_before: dict[str, dict[str, str]]  # table -> {column: the column of the row it may not precede}
    volume_table: str
    volume_column: str
    volume_max_relative_deviation: float
    volume_trailing_weeks: int
    volume_recent_days: int
    volume_min_baseline_rows: int
    snapshot_min_labelled_rows: int
    descriptions: dict[str, str]
    on_failure: dict[str, str]

    def critical_columns(self, table: str) -> tuple[str, ...]:
        """Columns that must be non-null: the contract's required columns (ids, timestamps, amounts)."""
        return tuple(TABLES[table].required)


def _get(section: dict, key: str, where: str, path: Path):
    if key not in section:
        raise SlaConfigError(f"{path}: '{where}' has no key '{key}'. Add it (see the comments in the file).")
    return section[key]


def _columns_by_table(section: dict, where: str, path: Path) -> dict[str, tuple[str, ...]]:
    out = {}
    for table, columns in (section or {}).items():
        if table not in TABLES:
            raise SlaConfigError(f"{path}: '{where}' names table '{table}', which is not in the raw contract.")
        unknown = [c for c in columns if c not in TABLES[table].columns]
        if unknown:
            raise SlaConfigError(f"{path}: '{where}.{table}' names unknown column(s) {unknown}.")
        out[table] = tuple(columns)
    return out


@lru_cache(maxsize=4)
def load_sla(path: Path = SLA_PATH) -> Sla:
    """Parse and validate the SLA file; errors name the file and the missing or bad key."""
    if not path.exists():
        raise SlaConfigError(f"SLA file {path} does not exist: it declares every data-quality threshold.")
    doc = yaml.safe_load(path.read_text()) or {}
    sections = {}
    for name in (
        "completeness",
        "duplicates",
        "referential_integrity",
        "freshness",
        "validity",
        "state_history",
        "volume",
        "snapshot_gate",
    ):
        sections[name] = _get(doc, name, "top level", path)
    c, d, r, f, v, hist, vol, gate = (sections[n] for n in sections)
    ranges = {}
    for table, cols in (_get(v, "ranges", "validity", path) or {}).items():
        _columns_by_table({table: list(cols)}, "validity.ranges", path)
        ranges[table] = {col: (float(lo), float(hi)) for col, (lo, hi) in cols.items()}
    not_before = {}
    for table, pairs in (_get(v, "not_before", "validity", path) or {}).items():
        _columns_by_table({table: [*pairs, *pairs.values()]}, "validity.not_before", path)
        not_before[table] = {str(col): str(start) for col, start in pairs.items()}
    sla = Sla(
        min_non_null_rate=float(_get(c, "min_non_null_rate", "completeness", path)),
        max_duplicate_rate=float(_get(d, "max_duplicate_rate", "duplicates", path)),
        min_known_account_rate=float(_get(r, "min_known_account_rate", "referential_integrity", path)),
        freshness_table=str(_get(f, "table", "freshness", path)),
        freshness_column=str(_get(f, "column", "freshness", path)),
        freshness_warn_after_hours=float(_get(f, "warn_after_hours", "freshness", path)),
        freshness_block_after_hours=float(_get(f, "block_after_hours", "freshness", path)),
        min_valid_rate=float(_get(v, "min_valid_rate", "validity", path)),
        state_history_max_quarantined_rows=int(_get(hist, "max_quarantined_rows", "state_history", path)),
        no_future_timestamps=_columns_by_table(
            _get(v, "no_future_timestamps", "validity", path), "validity.no_future_timestamps", path
        ),
        non_negative=_columns_by_table(_get(v, "non_negative", "validity", path), "validity.non_negative", path),
        ranges=ranges,
        not_before=not_before,
        volume_table=str(_get(vol, "table", "volume", path)),
        volume_column=str(_get(vol, "column", "volume", path)),
        volume_max_relative_deviation=float(_get(vol, "max_relative_deviation", "volume", path)),
        volume_trailing_weeks=int(_get(vol, "trailing_weeks", "volume", path)),
        volume_recent_days=int(_get(vol, "recent_days", "volume", path)),
        volume_min_baseline_rows=int(_get(vol, "min_baseline_rows", "volume", path)),
        snapshot_min_labelled_rows=int(_get(gate, "min_labelled_rows", "snapshot_gate", path)),
        descriptions={n: " ".join(str(s.get("description", "")).split()) for n, s in sections.items()},
        on_failure={n: str(s.get("on_failure", "")) for n, s in sections.items()},
    )
    for name, rate in [
        ("completeness.min_non_null_rate", sla.min_non_null_rate),
        ("duplicates.max_duplicate_rate", sla.max_duplicate_rate),
        ("referential_integrity.min_known_account_rate", sla.min_known_account_rate),
        ("validity.min_valid_rate", sla.min_valid_rate),
    ]:
        if not 0.0 <= rate <= 1.0:
            raise SlaConfigError(f"{path}: {name} is {rate}; rates are fractions between 0 and 1.")
    if sla.state_history_max_quarantined_rows < 0:
        raise SlaConfigError(f"{path}: state_history.max_quarantined_rows must be >= 0.")
    if sla.freshness_block_after_hours < sla.freshness_warn_after_hours:
        raise SlaConfigError(f"{path}: freshness.block_after_hours must be >= warn_after_hours.")
    for table in (sla.freshness_table, sla.volume_table):
        if table not in TABLES:
            raise SlaConfigError(f"{path}: freshness/volume table '{table}' is not in the raw contract.")
    return sla

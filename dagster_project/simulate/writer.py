"""Writes simulated tables as Parquet with exactly the contract's columns and types.

Tables arrive in batches (one per account chunk for events); each batch is a row group, and a table
rolls over to a new part file every `max_rows_per_file` rows, so memory stays bounded at any scale.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),  # UTC, written timezone-naive as the contract expects
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
}
MAX_ROWS_PER_FILE = 20_000_000


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    """Arrow schema of a contract table ({column: DuckDB type})."""
    return pa.schema([pa.field(name, ARROW_TYPES[t]) for name, t in columns.items()])


def to_arrow(name: str, columns: dict[str, pa.Array | np.ndarray], schema: pa.Schema) -> pa.Table:
    """Columns (numpy or Arrow) as an Arrow table with the contract `schema`; fails loudly on a mismatch.

    String columns may stay dictionary-encoded (see `text.take`); the file still holds plain strings.
    """
    if list(columns) != schema.names:
        raise ValueError(f"simulated table {name!r} has columns {list(columns)}, the contract says {schema.names}")
    arrays = []
    for field in schema:
        value = columns[field.name]
        if isinstance(value, pa.DictionaryArray) and field.type == pa.string() and value.type.value_type == pa.string():
            arr = value
        elif isinstance(value, (pa.Array, pa.ChunkedArray)):
            arr = value if value.type == field.type else value.cast(field.type)
        elif pa.types.is_timestamp(field.type):
            arr = pa.array(np.asarray(value, dtype=np.int64), pa.int64()).cast(field.type)
        else:
            arr = pa.array(value, field.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=schema.names)


class TableWriter:
    """Appends batches of one table to `<folder>/part-NNNNN.parquet` files."""

    def __init__(
        self,
        folder: Path,
        schema: pa.Schema,
        max_rows_per_file: int = MAX_ROWS_PER_FILE,
        file_name: str | None = None,
        unique_columns: tuple[str, ...] = (),
    ):
        self.folder = folder
        self.schema = schema
        # Dictionary-encode repetitive strings only: trying it on unique ids and timestamps costs
        # a lot of write time for nothing.
        self.dictionary_columns = [
            f.name for f in schema if pa.types.is_string(f.type) and f.name not in unique_columns
        ]
        # A fixed file name means a single file (no parts), e.g. the ground truth's account_weeks.parquet.
        self.file_name = file_name
        self.max_rows_per_file = max_rows_per_file if file_name is None else np.iinfo(np.int64).max
        self.rows = 0
        self._part = 0
        self._rows_in_part = 0
        self._writer: pq.ParquetWriter | None = None
        self._file_schema: pa.Schema | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table) -> None:
        if self._file_schema is None:
            self._file_schema = table.schema  # string columns as the first batch has them (plain or dictionary)
        elif table.schema != self._file_schema:
            table = table.cast(self._file_schema)
        if self._writer is None or self._rows_in_part >= self.max_rows_per_file:
            self._roll()
        assert self._writer is not None
        self._writer.write_table(table, row_group_size=1_000_000)
        self.rows += table.num_rows
        self._rows_in_part += table.num_rows

    def _roll(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._part += 1
        path = self.folder / (self.file_name or f"part-{self._part:05d}.parquet")
        # No stored Arrow schema: the Parquet types alone (string, timestamp[us], int32, double, date)
        # are the contract, whatever in-memory encoding the batches had.
        self._writer = pq.ParquetWriter(
            path,
            self._file_schema or self.schema,
            compression="zstd",
            compression_level=1,
            use_dictionary=self.dictionary_columns,
            store_schema=False,
        )
        self._rows_in_part = 0

    def close(self) -> None:
        """Close the current file; a table with no rows still gets one (empty) part file."""
        if self._writer is None:
            self._roll()
        assert self._writer is not None
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def clear_folders(out_dir: Path, names: list[str]) -> None:
    """Delete the given sub-folders of out_dir (the tables about to be rewritten), nothing else."""
    for name in names:
        folder = out_dir / name
        if folder.is_dir():
            shutil.rmtree(folder)

"""Streaming writers of export tables: JSON Lines, CSV and Parquet.

Each writer takes Arrow tables a block at a time and never holds more than one
Parquet row group (:data:`ROW_GROUP`) in memory. Output goes to a binary file object
(a file, or stdout for ``--out -``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any, BinaryIO, Protocol

from newsarchive.export.columns import export_schema

ROW_GROUP = 5_000


class TableWriter(Protocol):
    """What every export writer offers."""

    def write_table(self, table: Any) -> None:
        """Write an Arrow table's rows (only the selected columns are used)."""

    def close(self) -> None:
        """Flush; the file object stays open (the caller owns it)."""


def json_default(value: Any) -> Any:
    """JSON for dates and date-times (ISO 8601, ``Z`` for UTC)."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonlWriter:
    """One JSON object per line, fields in the selected order."""

    def __init__(self, out: BinaryIO, fields: Sequence[str]) -> None:
        self.out = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
        self.fields = list(fields)

    def write_table(self, table: Any) -> None:
        """Write one line per row."""
        dumps = json.JSONEncoder(ensure_ascii=False, default=json_default).encode
        self.out.writelines(dumps(r) + "\n" for r in table.select(self.fields).to_pylist())

    def close(self) -> None:
        """Flush and let go of the file object."""
        self.out.flush()
        self.out.detach()


class CsvWriter:
    """CSV with a header; lists and objects as JSON text, missing values empty."""

    def __init__(self, out: BinaryIO, fields: Sequence[str]) -> None:
        self.out = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        self.fields = list(fields)
        self.writer = csv.writer(self.out)
        self.writer.writerow(self.fields)

    @staticmethod
    def _cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False, default=json_default)
        if isinstance(value, dt.datetime | dt.date):
            return json_default(value)
        return value

    def write_table(self, table: Any) -> None:
        """Write one CSV record per row."""
        columns = [table[f].to_pylist() for f in self.fields]
        cell = self._cell
        self.writer.writerows([cell(v) for v in values] for values in zip(*columns, strict=True))

    def close(self) -> None:
        """Flush and let go of the file object."""
        self.out.flush()
        self.out.detach()


class ParquetWriter:
    """Parquet (zstd), typed columns (:mod:`~newsarchive.export.columns`), one row group
    per :data:`ROW_GROUP` rows."""

    def __init__(self, out: BinaryIO, fields: Sequence[str], row_group: int = ROW_GROUP) -> None:
        import pyarrow.parquet as pq

        self.fields = list(fields)
        self.schema = export_schema(self.fields)
        self.row_group = row_group
        self.pending: list[Any] = []
        self.rows = 0
        self.writer = pq.ParquetWriter(out, self.schema, compression="zstd")

    def _flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            table = pa.concat_tables(self.pending)
            self.writer.write_table(table, row_group_size=self.row_group)
            self.pending, self.rows = [], 0

    def write_table(self, table: Any) -> None:
        """Buffer the rows; write a row group when there are enough."""
        self.pending.append(table.select(self.fields).cast(self.schema))
        self.rows += table.num_rows
        if self.rows >= self.row_group:
            self._flush()

    def close(self) -> None:
        """Write the last row group and the footer."""
        self._flush()
        self.writer.close()


WRITERS: dict[str, type] = {"jsonl": JsonlWriter, "csv": CsvWriter, "parquet": ParquetWriter}

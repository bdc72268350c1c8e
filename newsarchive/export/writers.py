"""Streaming writers of export rows: JSON Lines, CSV and Parquet.

Each writer takes rows one at a time and never holds more than one Parquet
row group (:data:`ROW_GROUP`) in memory. Output goes to a binary file object
(a file, or stdout for ``--out -``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any, BinaryIO, Protocol

ROW_GROUP = 5_000


class RowWriter(Protocol):
    """What every export writer offers."""

    def write(self, row: dict[str, Any]) -> None:
        """Write one row (only the selected fields are used)."""

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

    def write(self, row: dict[str, Any]) -> None:
        """Write one line."""
        record = {f: row.get(f) for f in self.fields}
        self.out.write(json.dumps(record, ensure_ascii=False, default=json_default) + "\n")

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

    def write(self, row: dict[str, Any]) -> None:
        """Write one CSV record."""
        self.writer.writerow([self._cell(row.get(f)) for f in self.fields])

    def close(self) -> None:
        """Flush and let go of the file object."""
        self.out.flush()
        self.out.detach()


def arrow_types() -> dict[str, Any]:
    """The Arrow type of every export field."""
    import pyarrow as pa

    s = pa.string()
    return {
        "collection": s, "url": s, "canonical_url": s, "host": s, "title": s,
        "authors": pa.list_(s), "publisher": s, "published": s, "modified": s,
        "dateline": s, "language": s, "text": s, "text_length": pa.int32(),
        "word_count": pa.int32(), "fingerprint": s,
        "ads": pa.list_(pa.struct([("text", s), ("position", pa.int32()), ("href", s)])),
        "related": pa.list_(
            pa.struct([("title", s), ("url", s), ("summary", s), ("section", s)])
        ),
        "captured": pa.timestamp("us", tz="UTC"), "warc_filename": s,
        "warc_offset": pa.int64(), "warc_length": pa.int64(), "record_id": s,
        "payload_digest": s, "rendered": pa.bool_(), "also_at": pa.list_(s),
    }  # fmt: skip


class ParquetWriter:
    """Parquet (zstd), typed columns, one row group per :data:`ROW_GROUP` rows."""

    def __init__(self, out: BinaryIO, fields: Sequence[str], row_group: int = ROW_GROUP) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = arrow_types()
        self.fields = list(fields)
        self.schema = pa.schema([(f, types[f]) for f in self.fields])
        self.row_group = row_group
        self.batch: list[dict[str, Any]] = []
        self.writer = pq.ParquetWriter(out, self.schema, compression="zstd")

    def _flush(self) -> None:
        import pyarrow as pa

        if self.batch:
            table = pa.Table.from_pylist(self.batch, schema=self.schema)
            self.writer.write_table(table, row_group_size=self.row_group)
            self.batch = []

    def write(self, row: dict[str, Any]) -> None:
        """Buffer the row; write a row group when the batch is full."""
        self.batch.append({f: row.get(f) for f in self.fields})
        if len(self.batch) >= self.row_group:
            self._flush()

    def close(self) -> None:
        """Write the last row group and the footer."""
        self._flush()
        self.writer.close()


WRITERS: dict[str, type] = {"jsonl": JsonlWriter, "csv": CsvWriter, "parquet": ParquetWriter}

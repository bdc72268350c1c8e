"""The export's columns: names, order and Arrow types, one place for every format.

Parquet keeps these types as they are; JSON Lines writes timestamps as ISO 8601
strings (``Z`` for UTC) and lists as arrays; CSV writes timestamps the same
way and lists/structs as JSON text. ``docs/export.md`` lists them for users.
"""

from __future__ import annotations

from typing import Any

#: every column of an article row, in output order
FIELDS = (
    "collection", "url", "canonical_url", "host", "title", "authors", "publisher",
    "published", "modified", "dateline", "language", "language_declared", "text",
    "text_length", "word_count", "fingerprint", "story_id", "ads", "related", "captured",
    "warc_filename", "warc_offset", "warc_length", "record_id", "payload_digest", "rendered",
)  # fmt: skip

#: columns that only some views add: ``--dedupe-stories`` / ``--stories``
VIEW_FIELDS = {"also_at": "dedupe", "versions": "stories"}

ALL_FIELDS = (*FIELDS, *VIEW_FIELDS)


def arrow_types() -> dict[str, Any]:
    """The Arrow type of every export column."""
    import pyarrow as pa

    s = pa.string()
    ts = pa.timestamp("us", tz="UTC")
    return {
        "collection": s, "url": s, "canonical_url": s, "host": s, "title": s,
        "authors": pa.list_(s), "publisher": s, "published": ts, "modified": ts,
        "dateline": s, "language": s, "language_declared": s, "text": s,
        "text_length": pa.int32(), "word_count": pa.int32(), "fingerprint": s, "story_id": s,
        "ads": pa.list_(pa.struct([("text", s), ("position", pa.int32()), ("href", s)])),
        "related": pa.list_(
            pa.struct([("title", s), ("url", s), ("summary", s), ("section", s)])
        ),
        "captured": ts, "warc_filename": s, "warc_offset": pa.int64(),
        "warc_length": pa.int64(), "record_id": s, "payload_digest": s, "rendered": pa.bool_(),
        "also_at": pa.list_(pa.struct([("url", s), ("captured", pa.list_(ts))])),
        "versions": pa.list_(pa.struct([
            ("url", s), ("host", s), ("captured", ts), ("title", s), ("publisher", s),
            ("word_count", pa.int32()), ("record_id", s),
        ])),
    }  # fmt: skip


def export_schema(fields: list[str] | tuple[str, ...]) -> Any:
    """The Arrow schema of an export of ``fields``."""
    import pyarrow as pa

    types = arrow_types()
    return pa.schema([(f, types[f]) for f in fields])

"""Exporting a collection's articles as JSON Lines, CSV or Parquet.

:func:`export_rows` ties the stages together: rows streamed from the sidecar
files (:mod:`~newsarchive.export.rows`), filtered, optionally deduplicated by
story (:mod:`~newsarchive.export.dedupe`), and written by a streaming writer
(:mod:`~newsarchive.export.writers`). A file is written under a temporary name
and renamed at the end, so a failed export never leaves half a file behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from newsarchive.exceptions import ConfigError
from newsarchive.export.dedupe import dedupe_stories
from newsarchive.export.filters import ExportFilter
from newsarchive.export.rows import FIELDS, Progress, iter_articles
from newsarchive.export.writers import WRITERS
from newsarchive.index.collection import Collection


@dataclass
class ExportReport:
    """What an export wrote."""

    format: str
    out: str
    rows: int
    read: int
    files: int


def select_fields(spec: str | None, dedupe: bool) -> list[str]:
    """The ``--fields`` list (comma-separated), checked; default: all."""
    default = [f for f in FIELDS if f != "also_at" or dedupe]
    if not spec:
        return default
    chosen = [f.strip() for f in spec.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FIELDS]
    if unknown:
        raise ConfigError(
            f"--fields: unknown field(s) {', '.join(unknown)}; choose from {', '.join(FIELDS)}"
        )
    if "also_at" in chosen and not dedupe:
        raise ConfigError("--fields also_at needs --dedupe-stories")
    return chosen


@contextlib.contextmanager
def open_output(out: str) -> Iterator[BinaryIO]:
    """``-`` is stdout; a path is written as ``PATH.tmp`` and renamed on success."""
    if out == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name")
    if not path.parent.exists():
        raise ConfigError(f"--out {out}: folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def export_rows(
    coll: Collection,
    fmt: str,
    out: str,
    flt: ExportFilter,
    fields: Sequence[str],
    *,
    dedupe: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the articles of ``coll`` passing ``flt`` to ``out`` in ``fmt``."""
    if fmt not in WRITERS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(WRITERS)} or wacz")
    progress = progress or Progress()
    passes = 0

    def rows() -> Iterator[dict[str, Any]]:
        # With --dedupe-stories rows are read twice; progress counts the last pass.
        nonlocal passes
        passes += 1
        return iter_articles(coll, flt, progress if passes == (2 if dedupe else 1) else None)

    source = dedupe_stories(rows) if dedupe else rows()
    written = 0
    with open_output(out) as fh:
        writer = WRITERS[fmt](fh, fields)
        try:
            for row in source:
                writer.write(row)
                written += 1
                progress.kept = written
        finally:
            writer.close()
    if progress.report is not None:
        progress.report(progress)
    return ExportReport(fmt, out, written, progress.read, progress.files)

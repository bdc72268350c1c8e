"""Exporting a collection's articles as JSON Lines, CSV or Parquet.

:func:`export_rows` ties the stages together: Arrow tables streamed from the
sidecar files and filtered (:mod:`~newsarchive.export.batches`), optionally
reduced to a view across the collection -- latest capture, one row per story
(:mod:`~newsarchive.export.views`) -- and written by a streaming writer
(:mod:`~newsarchive.export.writers`). A file is written under a temporary name
and renamed at the end, so a failed export never leaves half a file behind.
The Python API (:mod:`newsarchive.api`) reads through the same
:func:`select_tables`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from newsarchive.collection import Collection
from newsarchive.exceptions import ConfigError
from newsarchive.export.batches import Progress, iter_tables
from newsarchive.export.columns import ALL_FIELDS, FIELDS
from newsarchive.export.filters import ExportFilter
from newsarchive.export.views import View, apply_view
from newsarchive.export.writers import WRITERS


@dataclass
class ExportReport:
    """What an export wrote."""

    format: str
    out: str
    rows: int
    read: int
    files: int


def select_fields(spec: str | None, view: View | None = None) -> list[str]:
    """The ``--fields`` list (comma-separated), checked; default: all the view has."""
    view = view or View()
    default = [*FIELDS, *([view.extra] if view.extra else [])]
    if not spec:
        return default
    chosen = [f.strip() for f in spec.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in ALL_FIELDS]
    if unknown:
        raise ConfigError(
            f"--fields: unknown field(s) {', '.join(unknown)}; choose from {', '.join(ALL_FIELDS)}"
        )
    for f in chosen:
        if f not in default:
            option = "--dedupe-stories" if f == "also_at" else "--stories"
            raise ConfigError(f"--fields {f} needs {option}")
    return chosen


def select_tables(
    coll: Collection, flt: ExportFilter | None = None, view: View | None = None,
    progress: Progress | None = None,
) -> Iterator[Any]:
    """Arrow tables of the articles of ``coll`` passing ``flt``, reduced to ``view``."""
    return apply_view(iter_tables(coll, flt, progress), view or View())


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
    view: View | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the articles of ``coll`` passing ``flt`` (in ``view``) to ``out`` in ``fmt``."""
    if fmt not in WRITERS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(WRITERS)} or wacz")
    progress = progress or Progress()
    written = 0
    with open_output(out) as fh:
        writer = WRITERS[fmt](fh, fields)
        try:
            for table in select_tables(coll, flt, view, progress):
                writer.write_table(table)
                written += table.num_rows
                progress.kept = written
        finally:
            writer.close()
    if progress.report is not None:
        progress.report(progress)
    return ExportReport(fmt, out, written, progress.read, progress.files)

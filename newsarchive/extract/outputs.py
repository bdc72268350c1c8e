"""The two files the sidecars of one WARC file go to.

For an input ``NAME.warc.gz``:

* ``NAME.sidecars.jsonl.gz`` -- one sidecar per line, one gzip member per line
  (the layout of a collection's ``sidecars/`` folder, so the same readers work);
* ``NAME.sidecars.warc.gz`` -- a ``warcinfo`` record, then one ``metadata``
  record per sidecar (``application/json; profile="newsarchive.sidecar/1"``,
  ``WARC-Refers-To`` the page's response, ``WARC-Target-URI`` the page URL),
  like Common Crawl's WET files but with structure.

Both are written as ``*.open`` and renamed only by :meth:`SidecarFiles.close`,
so nothing half-written passes for a finished file; :meth:`SidecarFiles.discard`
removes them. Records are built by :mod:`newsarchive.capture.records` and
compressed with :func:`newsarchive.capture.writer.gzip_member`, as the crawl's own.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from newsarchive import __version__
from newsarchive.capture import records
from newsarchive.capture.service import SIDECAR_CONTENT_TYPE
from newsarchive.capture.writer import gzip_member
from newsarchive.collection import OPEN_SUFFIX, SIDECAR_SUFFIX, SIDECAR_WARC_SUFFIX
from newsarchive.exceptions import StorageError

JSONL_SUFFIX = SIDECAR_SUFFIX
WARC_SUFFIX = SIDECAR_WARC_SUFFIX
GZIP_LEVEL = 6


class _OpenFile:
    """A file written under ``NAME.open`` and renamed to ``NAME`` when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.open_path = path.with_name(path.name + OPEN_SUFFIX)
        try:
            self.open_path.unlink(missing_ok=True)  # left by a killed earlier run
            self.fh: BinaryIO = open(self.open_path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise StorageError(f"cannot write {self.open_path}: {exc.strerror or exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self.fh.write(data)
        except OSError as exc:
            raise StorageError(f"cannot write {self.open_path}: {exc.strerror or exc}; "
                               "free some space and run extract again") from exc

    def close(self) -> Path:
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            os.replace(self.open_path, self.path)
        except OSError as exc:
            raise StorageError(f"cannot finish {self.path}: {exc.strerror or exc}") from exc
        return self.path

    def discard(self) -> None:
        self.fh.close()
        self.open_path.unlink(missing_ok=True)


class SidecarFiles:
    """Writer of ``STEM.sidecars.jsonl.gz`` (and ``STEM.sidecars.warc.gz``) in ``folder``.

    ``warc=False`` writes the JSON Lines file only (``extract --out -``).
    ``clock`` gives the WARC-Date of the records written (a seam for tests).
    """

    def __init__(self, folder: Path, stem: str, *, warc: bool = True,
                 clock: Any = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.jsonl = _OpenFile(folder / (stem + JSONL_SUFFIX))
        self.warc: _OpenFile | None = None
        self.warcinfo_id: str | None = None
        self.count = 0
        if warc:
            self.warc = _OpenFile(folder / (stem + WARC_SUFFIX))
            info = {"software": f"newsarchive/{__version__} extract",
                    "format": "WARC File Format 1.1",
                    "description": f"clean-text sidecars of {stem}"}
            warcinfo = records.warcinfo_record(self.warc.path.name, info, self.clock())
            self.warcinfo_id = records.record_id_of(warcinfo)
            self.warc.write(gzip_member(warcinfo, GZIP_LEVEL))

    @property
    def paths(self) -> list[Path]:
        """The final paths (valid once closed)."""
        return [f.path for f in (self.jsonl, self.warc) if f is not None]

    def write(self, sidecar: dict[str, Any], refers_to: str) -> None:
        """Append one sidecar; ``refers_to`` is the record id of the page's response."""
        # Serialised once: the JSON line and the metadata record carry the same bytes.
        data = json.dumps(sidecar, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.jsonl.write(gzip_member(data + b"\n", GZIP_LEVEL))
        if self.warc is not None:
            capture = sidecar.get("capture") or {}
            record = records.metadata_record(
                records.own_uri("sidecar", sidecar["url"]), refers_to, data,
                SIDECAR_CONTENT_TYPE, self.clock(),
                {"WARC-Warcinfo-ID": self.warcinfo_id} if self.warcinfo_id else None,
                refers_to_uri=sidecar["url"], refers_to_date=capture.get("fetched_at") or None)
            self.warc.write(gzip_member(record, GZIP_LEVEL))
        self.count += 1

    def close(self) -> list[Path]:
        """Finish both files (rename from ``.open``); returns their paths."""
        return [f.close() for f in (self.jsonl, self.warc) if f is not None]

    def discard(self) -> None:
        """Remove the unfinished files."""
        for f in (self.jsonl, self.warc):
            if f is not None:
                f.discard()

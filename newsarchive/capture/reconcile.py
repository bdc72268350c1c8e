"""After a kill: make the dedup index and the sidecars agree with the WARC files.

The WARC files are the truth. A crawl killed with SIGKILL can leave records on
disk whose payload digest the dedup index never committed (the next copy of
that page would be stored in full again), and article responses whose sidecar
was still being extracted (the next run would treat the page as done).

A marker file, ``DIR/state/unsettled.json``, exists while a run may leave
such a gap: it is written when a crawl starts and removed when it ends with
everything settled. Its ``since`` is the start of the earliest run not yet
reconciled. On start, if it is there, :func:`scan` reads every WARC file
written since then (by modification time):

* every ``response`` record's payload digest goes into the dedup index (the
  first copy stays the original; adding is idempotent);
* every HTML 200 response with no sidecar ``metadata`` record referring to it
  is returned as an :class:`~newsarchive.extract.archive.ArchivedPage`, for
  the sidecar pipeline to extract before the crawl fetches anything (read
  with the page reader the crawl's wiring hands in; without one, no page).

Once those sidecars are written and flushed, :func:`settle` moves ``since`` to
the current run's start, so a run killed again later rescans only its own
files. Local files only: files already uploaded to S3 and removed are not
read again (their digests were committed as each record was written).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from newsarchive.capture.dedup import DigestIndex
from newsarchive.exceptions import WarcError
from newsarchive.layout import STATE_DIR, WARC_GZ, Layout

logger = logging.getLogger(__name__)

MARKER = Path(STATE_DIR) / "unsettled.json"
SIDECAR_PROFILE = "newsarchive.sidecar/1"
#: files modified this close before ``since`` are read too (coarse file-system clocks)
SLACK = 1.0
EMPTY_DIGEST = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"


@dataclass
class Reconciled:
    """What :func:`scan` found."""

    files: int = 0
    digests: int = 0  # response records read (their digests are in the index now)
    pages: list[Any] = field(default_factory=list)  # responses without a sidecar
    problems: list[str] = field(default_factory=list)


def unsettled_since(directory: Path, marker: Path = MARKER) -> float | None:
    """Start of the earliest run not reconciled yet, or None if all is settled."""
    try:
        return float(json.loads((directory / marker).read_text())["since"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0  # unreadable: read everything once


def mark_unsettled(directory: Path, since: float, marker: Path = MARKER) -> None:
    """Write the marker (atomically: a kill leaves the old or the new one)."""
    path = directory / marker
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"since": since, "pid": os.getpid()}))
    os.replace(tmp, path)


def mark_settled(directory: Path, marker: Path = MARKER) -> None:
    """Remove the marker: the run ended with every record's digest and sidecar written."""
    (directory / marker).unlink(missing_ok=True)


def _is_html_200(record: object) -> bool:
    http = getattr(record, "http_headers", None)
    if http is None or http.get_statuscode() != "200":
        return False
    ctype = (http.get_header("Content-Type") or "").lower()
    return not ctype or "html" in ctype


def _scan_records(
    path: Path, dedup: DigestIndex | None, found: Reconciled
) -> tuple[set[str], set[str]]:
    """Add the digests of ``path``; return its HTML 200 responses' ids and the ids its
    sidecar records refer to."""
    from warcio.archiveiterator import ArchiveIterator

    html: set[str] = set()
    settled: set[str] = set()
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            headers = record.rec_headers
            kind = record.rec_type
            if kind == "response":
                record_id = headers.get_header("WARC-Record-ID")
                digest = headers.get_header("WARC-Payload-Digest")
                if dedup is not None and digest and digest != EMPTY_DIGEST:
                    dedup.add(digest, headers.get_header("WARC-Target-URI") or "",
                              headers.get_header("WARC-Date") or "", record_id)
                found.digests += 1
                if _is_html_200(record):
                    html.add(record_id)
            elif kind == "metadata" and SIDECAR_PROFILE in (
                headers.get_header("Content-Type") or ""
            ):
                settled.add(headers.get_header("WARC-Refers-To") or "")
    return html, settled


def scan(directory: Path, since: float, dedup: DigestIndex | None,
         read_pages: Callable[[BinaryIO, str], Iterable[Any]] | None = None,
         pattern: str = "*") -> Reconciled:
    """Reconcile the files written since ``since`` whose names match ``pattern``
    (see the module docstring); ``read_pages(stream, name)`` yields a WARC's
    archived HTML pages (:class:`~newsarchive.extract.archive.PageReader`)."""
    found = Reconciled()
    files = []
    for path in Layout(directory).warcs():
        if not fnmatch.fnmatchcase(path.name, pattern + WARC_GZ):
            continue  # another worker's file (crawl --frontier)
        try:
            if path.stat().st_mtime >= since - SLACK:
                files.append(path)
        except FileNotFoundError:  # uploaded and removed meanwhile
            continue
    responses: dict[str, Path] = {}
    settled: set[str] = set()
    for path in files:
        try:
            html, refers = _scan_records(path, dedup, found)
        except Exception as exc:  # a damaged file must not stop the crawl
            found.problems.append(f"{path.name}: {exc}")
            logger.warning("reconcile: cannot read %s: %s", path, exc)
            continue
        found.files += 1
        responses.update(dict.fromkeys(html, path))
        settled |= refers
    if dedup is not None:
        dedup.commit()
    missing = {rid: path for rid, path in responses.items() if rid not in settled}
    if read_pages is None:
        missing = {}
    for path in sorted(set(missing.values())):
        assert read_pages is not None  # else nothing is missing
        want = {rid for rid, p in missing.items() if p == path}
        try:
            with open(path, "rb") as fh:
                for page in read_pages(fh, path.name):
                    if page.refers_to in want:
                        found.pages.append(page)
        except WarcError as exc:
            found.problems.append(str(exc))
            logger.warning("reconcile: %s", exc)
    if found.files:
        logger.info(
            "reconciled %d WARC files written since an unsettled run: %d responses' digests, "
            "%d archived pages without a sidecar", found.files, found.digests, len(found.pages),
        )
    return found

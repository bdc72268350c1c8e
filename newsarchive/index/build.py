"""Rebuilding a whole collection's indexes and catalog (``newsarchive index``).

The crawl keeps both up to date as files close (:mod:`newsarchive.index.extension`);
this is for collections crawled before, indexes lost, or a store whose files
were uploaded by hand. For an ``s3://`` collection the files are built in a
local temporary folder (WARCs are streamed, never downloaded whole) and put
back in the store beside the WARCs.
"""

from __future__ import annotations

import logging
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from newsarchive.capture.reading import printable
from newsarchive.collection import Collection, Layout, sidecar_name
from newsarchive.exceptions import WarcError
from newsarchive.index.catalog import build_part
from newsarchive.index.cdxj import index_warc
from newsarchive.index.stories import StoryIndex, index_path

logger = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What a rebuild did."""

    collection: str
    warcs: int = 0
    captures: int = 0
    catalog_parts: int = 0
    indexes: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # one line each; damage never stops the run
    failed_files: int = 0  # files with no readable record at all


def index_collection(
    coll: Collection,
    *,
    catalog: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> IndexReport:
    """Index every WARC of ``coll`` and rebuild its catalog; return what was done.

    A damaged file is indexed as far as it can be read (and a file that
    cannot be read at all is skipped); each fault is a line in
    ``report.faults``, and the other files are indexed all the same.

    The story clusters are rebuilt from scratch too, WARC by WARC in name
    (that is, time) order, as the crawl built them.
    """
    report = IndexReport(coll.name)
    warcs = coll.warcs()
    sidecars = {posixpath.basename(s): s for s in coll.sidecar_files()}
    with tempfile.TemporaryDirectory(prefix="newsarchive-index-") as tmp, \
            _fresh_stories(Path(coll.root) if not coll.remote else Path(tmp)) as stories:
        work = Path(coll.root) if not coll.remote else Path(tmp)
        store = None
        if coll.remote:
            from newsarchive.store import store_for

            store = store_for(coll.root)
        for n, warc in enumerate(warcs, 1):
            name = posixpath.basename(warc)
            dest = Layout(work).index_for(name)
            try:
                report.captures += index_warc(warc, dest, report.faults)
            except WarcError as exc:  # a damaged file never stops the others
                report.faults.append(printable(str(exc), 300))
                report.failed_files += 1
                if progress is not None:
                    progress(n, len(warcs), name)
                continue
            report.warcs += 1
            report.indexes.append(str(dest))
            parts: list[Path] = []
            if catalog:
                sidecar = sidecars.get(sidecar_name(name))
                parts = build_part(str(dest), sidecar, Layout(work).catalog_dir, coll.name, name,
                                   stories if catalog else None)
                report.catalog_parts += len(parts)
            if store is not None:
                from newsarchive.store.keys import key_for

                store.put(dest, key_for(dest, "index"))
                for part in parts:
                    store.put(part, part.relative_to(work).as_posix())
            if progress is not None:
                progress(n, len(warcs), name)
    return report


def _fresh_stories(folder: Path) -> StoryIndex:
    """An empty story index in ``folder``'s ``state/`` (any old one removed)."""
    path = index_path(folder)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return StoryIndex(path)

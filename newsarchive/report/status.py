"""``status``: what a collection holds and whether it is healthy, at a glance.

Counted from the collection itself, not from what a crawl said it did: WARC
files (closed, and ``.open`` ones a crawl is writing or a kill left), their
bytes, captures (from the catalog, or the CDXJ indexes when there is none),
articles (from the sidecar files; an ``s3://`` store: the catalog), articles the crawl state saw fetched but no sidecar holds,
uploads pending in the upload journal, and the last run. Health is the quick
form of ``warc check``: every closed WARC file ends at the end of a complete
gzip member (its last one), without decompressing the whole file.
"""

from __future__ import annotations

import logging
import os
import posixpath
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.capture.gzmembers import last_member
from newsarchive.collection import OPEN_SUFFIX, Collection, Layout, sidecar_name
from newsarchive.report.history import load_runs
from newsarchive.report.sidecar_urls import UrlSet, kept_urls, scan_sidecars

logger = logging.getLogger(__name__)

TAIL_BYTES = 1 << 20  # the end of a WARC file read to check its last gzip member


@dataclass
class Status:
    """The numbers of ``status --json``."""

    collection: str
    location: str
    warc_files: int = 0
    warc_bytes: int = 0
    open_files: int = 0
    captures: int = 0
    articles: int = 0
    sidecars: int = 0
    articles_without_sidecar: int | None = None
    pending_uploads: int | None = None
    size_bytes: int | None = None
    last_run: dict[str, Any] | None = None
    health: str = "ok"
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def _open_db(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None


def pending_uploads(folder: Path) -> int | None:
    """Files the upload journal still has to store (None: this folder never uploads)."""
    db = _open_db(Layout(folder).uploads_db)
    if db is None:
        return None
    try:
        return int(db.execute("SELECT count(*) FROM uploads WHERE state = 'pending'").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        db.close()


def _cut_sidecars(folder: Path) -> tuple[int, set[str]]:
    """Articles, and their URLs, of sidecars a kill cut between their WARC record
    and their line (the next crawl restores the lines: see
    :mod:`~newsarchive.capture.recovery`): the WARC files are the truth."""
    import json

    from newsarchive.capture.recovery import missing_sidecar_line

    layout = Layout(folder)
    urls: set[str] = set()
    articles = 0
    if not layout.warc_dir.is_dir():
        return 0, urls
    for warc in sorted(layout.warc_dir.glob(f"*{OPEN_SUFFIX}")):
        name = sidecar_name(warc.name.removesuffix(OPEN_SUFFIX)) + OPEN_SUFFIX
        line = missing_sidecar_line(warc, layout.sidecar_dir / name)
        if line is not None:
            sc = json.loads(line)
            articles += sc.get("is_article", True) is not False
            urls.update(str(sc[key]) for key in ("url", "canonical_url") if sc.get(key))
    return articles, urls


def articles_without_sidecar(coll: Collection, have: UrlSet | None = None) -> int | None:
    """Articles the crawl state saw fetched (2xx) whose URL no sidecar holds.

    ``have``: the sidecar URLs, when already read (:func:`scan_sidecars`). None
    for a collection without a crawl state (an ``s3://`` store).
    """
    crawl_db = Layout(Path(coll.root)).crawl_db
    if coll.remote or not crawl_db.is_file():
        return None
    if have is not None:
        return have.fetched_without(crawl_db)
    kept = kept_urls(Path(coll.root))
    if kept is not None:
        with closing(kept):
            return kept.fetched_without(crawl_db)
    with closing(UrlSet()) as urls:
        scan_sidecars(Path(coll.root), urls)
        return urls.fetched_without(crawl_db)


def last_member_complete(path: Path) -> bool:
    """Whether the file ends with a complete gzip member (its tail decompresses to EOF)."""
    with open(path, "rb") as fh:
        return last_member(fh, path.stat().st_size, TAIL_BYTES) is not None


def _count_captures(coll: Collection, st: Status) -> None:
    if coll.catalog_files():
        from newsarchive.index.query import connect

        con = connect([coll], trusted=True)
        row = con.execute(
            "SELECT count(*) FILTER (url NOT LIKE 'urn:%'), count(*) FILTER (is_article)"
            " FROM catalog"
        ).fetchone()
        st.captures, st.articles = int(row[0]), int(row[1])
    else:
        from newsarchive.index.cdxj import iter_index

        for uri in coll.index_files():
            st.captures += sum(1 for line in iter_index(uri) if not line.url.startswith("urn:"))
    st.sidecars = st.articles


def collection_status(location: str) -> Status:
    """The status of a collection folder or ``s3://`` store."""
    coll = Collection.open(location, must_have_warcs=False)
    st = Status(collection=coll.name, location=coll.root)
    warcs = coll.warcs()
    st.warc_files = len(warcs)
    if coll.remote:
        from newsarchive.store import store_for
        from newsarchive.store.s3 import split_s3_uri

        stores: dict[str, Any] = {}
        for uri in warcs:
            bucket, key = split_s3_uri(uri)
            store = stores.setdefault(bucket, store_for(f"s3://{bucket}"))
            info = store.head(key)
            st.warc_bytes += info.size if info else 0
    else:
        folder = Path(coll.root)
        st.warc_bytes = sum(os.path.getsize(w) for w in warcs)
        warc_dir = Layout(folder).warc_dir
        opened = sorted(warc_dir.glob(f"*{OPEN_SUFFIX}")) if warc_dir.is_dir() else []
        st.open_files = len(opened)
        st.size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        st.pending_uploads = pending_uploads(folder)
        broken = [posixpath.basename(w) for w in warcs
                  if w.endswith(".gz") and not last_member_complete(Path(w))]
        st.problems += [f"{name}: ends in an incomplete record" for name in broken]
        if opened:
            st.problems.append(f"{len(opened)} .open WARC file(s): a crawl is writing, or was "
                               "killed (the next crawl into this folder recovers them)")
        runs = load_runs(folder)
        if runs:
            st.last_run = runs[-1].brief()
    _count_captures(coll, st)
    if not coll.remote:
        with closing(UrlSet()) as urls:
            st.sidecars = scan_sidecars(Path(coll.root), urls)
            cut, cut_urls = _cut_sidecars(Path(coll.root))
            st.sidecars += cut
            urls.update(cut_urls)
            st.articles = st.sidecars
            st.articles_without_sidecar = articles_without_sidecar(coll, urls)
    if st.articles_without_sidecar:
        st.problems.append(f"{st.articles_without_sidecar} fetched article(s) have no sidecar "
                           "(`newsarchive extract` can write them)")
    if any("incomplete" in p for p in st.problems):
        st.health = "damaged"
    elif st.problems:
        st.health = "attention"
    return st

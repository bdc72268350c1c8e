"""The WARC records of a chosen set of pages, copied into one new WARC file.

A filtered WACZ must hold the chosen pages, not the whole WARC files they sit
in. For each page this takes, by ranged reads:

- its ``response`` (or ``revisit``) record, and the ``request`` record the
  writer puts right after it (same exchange: ``WARC-Concurrent-To``);
- for a revisit, the record holding the original payload (found by digest in
  the CDXJ indexes), so the page still replays;
- its resources: the URLs its HTML embeds (images, stylesheets, scripts,
  frames, media) that the collection holds, each the capture closest in time
  to the page's, with its request record;
- the ``warcinfo`` record that opens each source WARC file, for provenance.

Every record of our WARCs is its own gzip member, so each is copied byte for
byte: digests and record ids stay those of the original capture.
"""

from __future__ import annotations

import logging
import posixpath
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from newsarchive.collection import WARC_GZ, Collection
from newsarchive.index.cdxj import CdxjLine, iter_index

logger = logging.getLogger(__name__)

HEAD_BYTES = 64 << 10  # a request record (or a warcinfo) fits; bounded read
MAX_HTML = 5 << 20  # bytes of a page's HTML read to find its resources
_EMBEDS = {  # element -> attributes holding embedded resources
    "img": ("src",), "script": ("src",), "iframe": ("src",), "frame": ("src",),
    "source": ("src",), "video": ("src", "poster"), "audio": ("src",), "embed": ("src",),
    "input": ("src",),
}  # fmt: skip
_LINK_RELS = {"stylesheet", "icon", "shortcut", "preload", "apple-touch-icon", "manifest"}


@dataclass(frozen=True)
class Page:
    """A chosen page: where its record lies and when it was captured."""

    url: str
    timestamp: str  # 14 digits
    warc: str  # file name
    offset: int
    length: int
    digest: str | None = None


@dataclass
class Subset:
    """The records to copy, by source file name: ``{(offset, length)}``."""

    records: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def add(self, warc: str, offset: int, length: int) -> None:
        """Take one record."""
        self.records.setdefault(warc, set()).add((offset, length))

    def __len__(self) -> int:
        return sum(len(v) for v in self.records.values())


def _member(data: bytes) -> tuple[bytes, int] | None:
    """The first gzip member of ``data``: its decompressed bytes and compressed length."""
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = decomp.decompress(data)
    except zlib.error:
        return None
    if not decomp.eof:
        return None
    return out, len(data) - len(decomp.unused_data)


def _header(record: bytes, name: str) -> str | None:
    head = record.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def _read_upto(uri: str, offset: int, size: int) -> bytes:
    """Up to ``size`` bytes at ``offset`` (fewer at the end of the file; none past it)."""
    from newsarchive.store import is_remote, read_range

    if not is_remote(uri):
        with open(uri, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)
    while size >= 512:  # a ranged read past the end fails: try shorter ones
        try:
            return read_range(uri, offset, size)
        except Exception:
            size //= 4
    return b""


def _companion(uri: str, offset: int, length: int) -> tuple[int, int] | None:
    """The request record written right after the response at ``offset``, if it is one."""
    from newsarchive.store import read_range

    try:
        first = read_range(uri, offset, length)
    except Exception:
        return None
    after = _read_upto(uri, offset + length, HEAD_BYTES)
    response, nxt = _member(first), _member(after)
    if response is None or nxt is None:
        return None
    record_id = _header(response[0], "WARC-Record-ID")
    if (_header(nxt[0], "WARC-Type") == "request"
            and _header(nxt[0], "WARC-Concurrent-To") == record_id):
        return offset + length, nxt[1]
    return None


def embedded_urls(uri: str, offset: int, length: int, base: str) -> set[str]:
    """Absolute URLs of the resources a page's HTML embeds (read from its record)."""
    import io

    from lxml import html as lxml_html
    from warcio.archiveiterator import ArchiveIterator

    from newsarchive.store import read_range

    try:
        raw = read_range(uri, offset, length)
        record = next(iter(ArchiveIterator(io.BytesIO(raw))))
        if record.rec_type != "response":
            return set()
        body = record.content_stream().read(MAX_HTML)
        tree = lxml_html.fromstring(body) if body.strip() else None
    except Exception as exc:
        logger.debug("no resources read from %s@%d: %s", uri, offset, exc)
        return set()
    if tree is None:
        return set()
    found: set[str] = set()
    for el in tree.iter(*_EMBEDS, "link"):
        if el.tag == "link":
            rels = set((el.get("rel") or "").lower().split())
            values = [el.get("href")] if rels & _LINK_RELS else []
        else:
            values = [el.get(a) for a in _EMBEDS[el.tag]]
            values += [c.strip().split()[0] for c in (el.get("srcset") or "").split(",")
                       if c.strip()]
        for value in values:
            if value and not value.startswith(("data:", "javascript:", "#")):
                absolute = urljoin(base, value.strip())
                if urlsplit(absolute).scheme in ("http", "https"):
                    found.add(absolute.split("#", 1)[0])
    return found


def choose_records(coll: Collection, pages: Iterable[Page]) -> Subset:
    """Every record a WACZ of ``pages`` needs (see the module docstring)."""
    by_name = {posixpath.basename(w): w for w in coll.warcs()}
    subset = Subset()
    wanted: dict[str, list[str]] = {}  # resource URL -> timestamps of pages embedding it
    digests: set[str] = set()
    for page in pages:
        uri = by_name.get(page.warc)
        if uri is None:
            from newsarchive.exceptions import NewsarchiveError

            raise NewsarchiveError(f"WARC file {page.warc} named in a sidecar is not in {coll.root}")
        subset.add(page.warc, page.offset, page.length)
        companion = _companion(uri, page.offset, page.length)
        if companion:
            subset.add(page.warc, *companion)
        if page.digest:
            digests.add(page.digest)
        for url in embedded_urls(uri, page.offset, page.length, page.url):
            wanted.setdefault(url, []).append(page.timestamp)
    best: dict[str, tuple[int, CdxjLine]] = {}
    for index in coll.index_files():
        for line in iter_index(index):
            if line.digest in digests and not line.is_revisit:
                subset.add(line.filename, line.offset, line.length)
                digests.discard(line.digest)  # one original is enough
            stamps = wanted.get(line.url)
            if stamps:
                gap = min(abs(int(line.timestamp[:14]) - int(s[:14])) for s in stamps)
                if line.url not in best or gap < best[line.url][0]:
                    best[line.url] = (gap, line)
    for _gap, line in best.values():
        if line.filename in by_name:
            subset.add(line.filename, line.offset, line.length)
            companion = _companion(by_name[line.filename], line.offset, line.length)
            if companion:
                subset.add(line.filename, *companion)
    for name in list(subset.records):
        info = _warcinfo(by_name[name]) if name in by_name else None
        if info:
            subset.add(name, *info)
    logger.info("wacz subset: %d records from %d WARC file(s); %d resource URLs found",
                len(subset), len(subset.records), len(best))
    return subset


def _warcinfo(uri: str) -> tuple[int, int] | None:
    first = _member(_read_upto(uri, 0, HEAD_BYTES))
    if first and _header(first[0], "WARC-Type") == "warcinfo":
        return 0, first[1]
    return None


def write_subset(coll: Collection, subset: Subset, out: BinaryIO) -> int:
    """Copy the records of ``subset`` into ``out``, file by file in offset order; bytes written."""
    from newsarchive.store import read_range

    by_name = {posixpath.basename(w): w for w in coll.warcs()}
    written = 0
    for name in sorted(subset.records):
        for offset, length in sorted(subset.records[name]):
            data = read_range(by_name[name], offset, length)
            out.write(data)
            written += len(data)
    return written


def subset_name(coll: Collection) -> str:
    """File name of the subset WARC inside the package."""
    return f"{coll.name}-export{WARC_GZ}"


def subset_path(folder: Path, coll: Collection) -> Path:
    """Where the subset WARC is written before packaging."""
    return folder / subset_name(coll)

"""CDXJ indexes of WARC files, built with cdxj-indexer (the library pywb uses).

One index file per WARC, ``indexes/NAME.cdxj``, sorted by SURT key so pywb can
binary-search it. Only replayable records are indexed (``response``,
``revisit``, ``resource``): our ``metadata`` records carry sidecars under the
page's own URL and would otherwise compete with the page in replay. Request
records are still read, so POST captures get their ``__wb_post_data`` key
(cdxj-indexer's post-append mode, as pywb's own ``wb-manager`` does).
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsarchive.exceptions import WarcError

logger = logging.getLogger(__name__)

#: record types that get an index line
INDEXED_RECORDS = "response,revisit,resource"


def index_name(warc_name: str) -> str:
    """``NAME.warc.gz`` -> ``NAME.cdxj``."""
    from newsarchive.index.collection import warc_stem

    return warc_stem(warc_name) + ".cdxj"


def index_warc(source: str | Path, dest: Path) -> int:
    """Index one WARC file (local path or ``s3://`` URI) into ``dest``; return its line count.

    The index is written to ``dest.tmp`` and renamed, so a reader (pywb, the
    uploader) never sees half an index.
    """
    with warnings.catch_warnings():
        # cdxj-indexer imports pyamf, which imports the deprecated pkg_resources.
        warnings.simplefilter("ignore", UserWarning)
        from cdxj_indexer.main import CDXJIndexer

    from newsarchive.store import open_input

    name = posixpath.basename(str(source))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        with open_input(str(source)) as fh, open(tmp, "w", encoding="utf-8") as out:
            indexer = CDXJIndexer(
                out,
                [fh],
                filename=name,
                sort=True,
                post_append=True,
                records=INDEXED_RECORDS,
            )
            indexer.process_all()
        os.replace(tmp, dest)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError | ValueError) or type(exc).__module__.startswith("warcio"):
            raise WarcError(f"{source}: cannot index this WARC file ({exc}); "
                            "run `newsarchive warc check` on it") from exc
        raise
    with open(dest, "rb") as fh:
        lines = sum(1 for _ in fh)
    logger.info("indexed %s: %d captures -> %s", name, lines, dest)
    return lines


@dataclass(frozen=True)
class CdxjLine:
    """One parsed CDXJ line."""

    urlkey: str
    timestamp: str  # 14 digits, UTC
    url: str
    mime: str | None
    status: int | None
    digest: str | None
    length: int
    offset: int
    filename: str

    @property
    def is_revisit(self) -> bool:
        """Whether the line is a revisit record (pywb resolves it to its original)."""
        return self.mime == "warc/revisit"


def parse_line(line: str) -> CdxjLine:
    """Parse ``URLKEY TIMESTAMP {json}``."""
    urlkey, timestamp, blob = line.rstrip("\n").split(" ", 2)
    data = json.loads(blob)
    status = data.get("status")
    return CdxjLine(
        urlkey=urlkey,
        timestamp=timestamp,
        url=data.get("url", ""),
        mime=data.get("mime"),
        status=int(status) if status and str(status).isdigit() else None,
        digest=data.get("digest"),
        length=int(data.get("length", 0)),
        offset=int(data.get("offset", 0)),
        filename=data.get("filename", ""),
    )


def iter_index(path: str | Path) -> Iterator[CdxjLine]:
    """Stream the lines of a CDXJ file (local path or ``s3://`` URI)."""
    import io

    from newsarchive.store import open_input

    with open_input(str(path)) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            if line.strip() and not line.startswith("!"):
                yield parse_line(line)

"""One WARC file in, its sidecar files out: the unit of work of ``extract`` on WARCs.

:func:`extract_warc` reads the pages of one WARC (local path or ``s3://``) with
:class:`~newsarchive.extract.archive.PageReader`, extracts each in this
process's bounded worker (:mod:`newsarchive.extract.bounded`: time and memory
limits per page) and writes the sidecars with
:class:`~newsarchive.extract.outputs.SidecarFiles`. It never raises for bad
input: a page that cannot be extracted is counted (and written as a sidecar
with ``extractor.error`` when extraction failed or ran over its limits), a
damaged WARC is read past its damage (at the next whole gzip member) with the
sidecars of every readable page kept and the one-line reason in
:attr:`WarcResult.error`. It is a plain function of picklable
arguments so ``extract --jobs N`` can run one per process.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.collection import warc_stem
from newsarchive.exceptions import NewsarchiveError, StorageError, UserError
from newsarchive.extract.bounded import Limits

logger = logging.getLogger(__name__)

#: seconds between two progress reports of one file
PROGRESS_EVERY = 0.5

Progress = Callable[[int, int], None]  # (records, sidecars) since the last call


@dataclass
class WarcResult:
    """What one WARC file gave."""

    source: str
    records: int = 0
    pages: int = 0  # HTML pages with status 200
    rendered: int = 0  # of which extracted from a browser DOM
    sidecars: int = 0  # written
    not_articles: int = 0  # pages left out as not articles (without --all)
    failed: int = 0  # pages that could not be extracted
    error_sidecars: int = 0  # of which written as a sidecar with extractor.error
    outputs: list[str] = field(default_factory=list)
    error: str | None = None  # the file could not be read to its end
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``--json``."""
        return asdict(self)


def output_stem(source: str) -> str:
    """``NAME`` of ``.../NAME.warc.gz`` (or ``.warc``, ``.arc.gz``...)."""
    return warc_stem(source)


def extract_warc(
    source: str,
    out_dir: Path,
    *,
    include_all: bool = False,
    write_warc: bool = True,
    endpoint_url: str | None = None,
    region: str | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> WarcResult:
    """Sidecars of every HTML page of ``source`` into ``out_dir`` (see the module docstring).

    ``include_all`` keeps the sidecars of non-articles (``is_article: false``);
    ``write_warc=False`` writes only the JSON Lines file; ``limits`` bound each page.
    """
    from newsarchive.extract.archive import PageReader
    from newsarchive.extract.bounded import extraction_error, shared
    from newsarchive.extract.outputs import SidecarFiles
    from newsarchive.store import open_input
    from newsarchive.store.opener import opener_for

    result = WarcResult(source)
    start = last = time.monotonic()
    reported = (0, 0)
    try:
        stream = open_input(source, endpoint_url=endpoint_url, region=region)
    except UserError as exc:
        result.error = str(exc)
        return result
    name = posixpath.basename(source)
    extractor = shared(limits or Limits())
    extractor.start()  # warms up while the first records are read
    files: SidecarFiles | None = None
    reader = PageReader(stream, name, reopen=opener_for(source, endpoint_url=endpoint_url,
                                                         region=region))
    try:
        files = SidecarFiles(out_dir, output_stem(source), warc=write_warc)
        for page in reader:
            try:
                sidecar = extractor.extract(page.body, page.url, content_type=page.content_type,
                                            capture=page.capture)
            except NewsarchiveError as exc:  # not an HTML page: nothing to describe
                result.failed += 1
                logger.warning("%s: no sidecar for %s: %s", name, page.url, exc)
                continue
            except Exception:  # a bug on one page must not lose the file's other pages
                result.failed += 1
                logger.exception("%s: extraction failed on %s", name, page.url)
                continue
            error = extraction_error(sidecar)
            if error is not None:  # on record, so the page is not silently missing
                result.failed += 1
                result.error_sidecars += 1
                logger.warning("%s: extraction failed on %s: %s", name, page.url, error)
                files.write(sidecar, page.refers_to)
            elif sidecar["is_article"] or include_all:
                files.write(sidecar, page.refers_to)
                result.sidecars += 1
            else:
                result.not_articles += 1
            now = time.monotonic()
            if progress is not None and now - last >= PROGRESS_EVERY:
                progress(reader.stats.records - reported[0], result.sidecars - reported[1])
                reported, last = (reader.stats.records, result.sidecars), now
    except StorageError as exc:  # the outputs themselves are broken: not kept
        result.error = str(exc)
        if files is not None:
            files.discard()
            files = None
    except UserError as exc:  # WarcError: the sidecars of the pages before the damage stay
        result.error = str(exc)
        if files is not None and not files.count:  # not a WARC at all, or damaged at once
            files.discard()
            files = None
    except Exception as exc:
        logger.exception("extract of %s failed", source)
        result.error = f"{name}: failed ({type(exc).__name__}: {exc})"
    finally:
        stream.close()
    if files is not None:
        try:
            result.outputs = [str(p) for p in files.close()]
        except UserError as exc:
            files.discard()
            result.error = result.error or str(exc)
    stats = reader.stats
    result.records, result.pages, result.rendered = stats.records, stats.pages, stats.rendered
    result.failed += stats.skipped
    result.seconds = time.monotonic() - start
    if progress is not None:
        progress(stats.records - reported[0], result.sidecars - reported[1])
    return result

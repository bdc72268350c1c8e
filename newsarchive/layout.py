"""The collection's layout: folder names, file suffixes and names.

This module is the one place that spells how a collection is laid out::

    DIR/warc/NAME.warc.gz            WARC files (NAME.warc.gz.open while written)
    DIR/sidecars/NAME.sidecars.jsonl.gz   one sidecar per line, beside its WARC
    DIR/indexes/NAME.cdxj            CDXJ index of a WARC
    DIR/catalog/collection=C/date=D/part-NAME.parquet   the Parquet catalog
    DIR/state/                       crawl state, dedup index, upload spool, lock
    DIR/logs/                        crawl.log, scrapy.log, run summaries
    DIR/tmp/                         large bodies spooled during a crawl

:class:`Layout` names the paths of a local folder. It depends on no stage, so
every stage (the crawl's too) uses it; :class:`newsarchive.collection.Collection`,
a collection anywhere (local or ``s3://``), builds on it and on the store. A
store lays files out by date (``warc/YYYY/MM/DD/NAME.warc.gz``, see
:mod:`newsarchive.store.keys`); a local folder keeps them flat.
"""


from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

# --- folders of a collection (also the first part of a store key) -------------
WARC_DIR = "warc"
SIDECAR_DIR = "sidecars"
INDEX_DIR = "indexes"
CATALOG_DIR = "catalog"
STATE_DIR = "state"
LOGS_DIR = "logs"
TMP_DIR = "tmp"

# --- suffixes ------------------------------------------------------------------
WARC_GZ = ".warc.gz"  # what the crawl writes
#: archive files a collection may hold (ARC files of older crawls are read too)
WARC_SUFFIXES = (WARC_GZ, ".warc", ".arc.gz", ".arc")
#: WARC files the crawl and ``extract`` write or read by default
WARC_WRITTEN_SUFFIXES = (WARC_GZ, ".warc")
SIDECAR_SUFFIX = ".sidecars.jsonl.gz"
SIDECAR_WARC_SUFFIX = ".sidecars.warc.gz"  # ``extract --out``'s metadata records
INDEX_SUFFIX = ".cdxj"
CATALOG_SUFFIX = ".parquet"
CATALOG_PREFIX = "part-"
OPEN_SUFFIX = ".open"  # a file still being written; renamed when complete
TMP_SUFFIX = ".tmp"


def warc_stem(name: str) -> str:
    """A WARC/ARC file name without its ``.warc.gz``/``.warc``/``.arc.gz``/``.arc`` suffix."""
    base = posixpath.basename(name.rstrip("/"))
    for suffix in WARC_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def sidecar_name(warc_name: str) -> str:
    """``NAME.warc.gz`` -> ``NAME.sidecars.jsonl.gz``: the sidecar file beside a WARC."""
    return warc_stem(warc_name) + SIDECAR_SUFFIX


def index_name(warc_name: str) -> str:
    """The index file of a WARC/ARC file: ``NAME.warc.gz`` -> ``NAME.cdxj``.

    Only ``.warc.gz`` files (nearly all) drop their suffix; any other archive
    keeps its whole name (``NAME.warc`` -> ``NAME.warc.cdxj``, ``NAME.arc.gz``
    -> ``NAME.arc.gz.cdxj``), so ``X.warc`` and ``X.warc.gz`` in one collection
    never write the same index file.
    """
    base = posixpath.basename(warc_name)
    stem = warc_stem(base)
    if base.endswith(WARC_GZ) and not stem.endswith(WARC_SUFFIXES):
        return stem + INDEX_SUFFIX
    return base + INDEX_SUFFIX


def catalog_part_name(warc_name: str) -> str:
    """File name of a WARC's catalog part (named like its index, so names never collide)."""
    return f"{CATALOG_PREFIX}{index_name(warc_name).removesuffix(INDEX_SUFFIX)}{CATALOG_SUFFIX}"


def file_stem(name: str) -> str:
    """The WARC ``X`` a collection file belongs to: ``X.warc.gz``, ``X.cdxj``,
    ``X.sidecars.jsonl.gz`` or ``part-X.parquet``."""
    if name.startswith(CATALOG_PREFIX) and name.endswith(CATALOG_SUFFIX):
        return name.removeprefix(CATALOG_PREFIX).removesuffix(CATALOG_SUFFIX)
    for suffix in (INDEX_SUFFIX, SIDECAR_SUFFIX, WARC_GZ, ".warc"):
        name = name.removesuffix(suffix)
    return name


def open_name(path: Path) -> Path:
    """Where a file is written until complete: ``NAME`` -> ``NAME.open``."""
    return path.with_name(path.name + OPEN_SUFFIX)


@dataclass(frozen=True)
class Layout:
    """The paths of a local collection folder (see the module docstring)."""

    root: Path

    @property
    def warc_dir(self) -> Path:
        """``DIR/warc``."""
        return self.root / WARC_DIR

    @property
    def sidecar_dir(self) -> Path:
        """``DIR/sidecars``."""
        return self.root / SIDECAR_DIR

    @property
    def index_dir(self) -> Path:
        """``DIR/indexes``."""
        return self.root / INDEX_DIR

    @property
    def catalog_dir(self) -> Path:
        """``DIR/catalog``."""
        return self.root / CATALOG_DIR

    @property
    def state_dir(self) -> Path:
        """``DIR/state``."""
        return self.root / STATE_DIR

    @property
    def logs_dir(self) -> Path:
        """``DIR/logs``."""
        return self.root / LOGS_DIR

    @property
    def tmp_dir(self) -> Path:
        """``DIR/tmp``: bodies spooled during a crawl."""
        return self.root / TMP_DIR

    @property
    def crawl_log(self) -> Path:
        """``DIR/logs/crawl.log``: one Heritrix-style line per fetch."""
        return self.logs_dir / "crawl.log"

    @property
    def crawl_db(self) -> Path:
        """``DIR/state/crawl.sqlite``: the crawl state (incremental re-crawls)."""
        return self.state_dir / "crawl.sqlite"

    @property
    def dedup_db(self) -> Path:
        """``DIR/state/dedup.sqlite``: payload digests for revisit records."""
        return self.state_dir / "dedup.sqlite"

    @property
    def uploads_db(self) -> Path:
        """``DIR/state/uploads.sqlite``: the upload spool."""
        return self.state_dir / "uploads.sqlite"

    @property
    def lock(self) -> Path:
        """``DIR/state/crawl.lock``: one crawl per folder at a time."""
        return self.state_dir / "crawl.lock"

    def warcs(self) -> list[Path]:
        """Closed ``.warc.gz`` files the crawl wrote, by name."""
        return sorted(self.warc_dir.glob("*" + WARC_GZ))

    def sidecars_for(self, warc_name: str) -> Path:
        """``DIR/sidecars/NAME.sidecars.jsonl.gz`` of a WARC (it may not exist)."""
        return self.sidecar_dir / sidecar_name(warc_name)

    def index_for(self, warc_name: str) -> Path:
        """``DIR/indexes/NAME.cdxj`` of a WARC (it may not exist)."""
        return self.index_dir / index_name(warc_name)

"""Where each collection file goes in a store, and which files are closed.

Keys are predictable so an upload can be repeated safely:
``warc/YYYY/MM/DD/FILE.warc.gz``, ``sidecars/YYYY/MM/DD/...``,
``indexes/YYYY/MM/DD/...``, relative to the store's root (``PREFIX/COLLECTION``).
The date is the file's creation time, read from its IIPC-style name
(``PREFIX-YYYYMMDDhhmmssfff-SERIAL-HOST.warc.gz``), else its mtime (UTC).

Catalog parts are the exception: they keep their path in the collection
folder, ``catalog/collection=NAME/date=YYYY-MM-DD/part-FILE.parquet``, because
those hive-style folder names *are* the partition columns DuckDB, Spark and
Athena read; a date folder of our own in between would break them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from newsarchive.layout import (
    CATALOG_DIR,
    INDEX_DIR,
    OPEN_SUFFIX,
    SIDECAR_DIR,
    TMP_SUFFIX,
    WARC_DIR,
)

Kind = Literal["warc", "sidecars", "index", "catalog"]

#: collection sub-folder of each kind of closed file (also the key's first part).
FOLDERS: dict[str, str] = {
    "warc": WARC_DIR, "sidecars": SIDECAR_DIR, "index": INDEX_DIR, "catalog": CATALOG_DIR,
}
#: kinds whose files sit in sub-folders that are part of their key (hive partitions).
PARTITIONED = frozenset({"catalog"})

# Files still being written, or our own temporary files: never uploaded.
_UNFINISHED = (OPEN_SUFFIX, TMP_SUFFIX, ".part", ".partial")
_STAMP = re.compile(r"(?:^|-)(\d{4})(\d{2})(\d{2})\d{6}(?:\d{3})?(?=-|\.|$)")


def file_date(path: Path) -> dt.date:
    """The creation date in the file's name, else its modification date (UTC)."""
    for match in _STAMP.finditer(path.name):
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def key_for(path: Path, kind: str) -> str:
    """The store key of a closed collection file of the given kind."""
    if kind not in FOLDERS:
        raise ValueError(f"unknown file kind {kind!r}; expected one of {sorted(FOLDERS)}")
    if kind in PARTITIONED:
        return _partitioned_key(path, kind)
    day = file_date(path)
    return f"{FOLDERS[kind]}/{day:%Y/%m/%d}/{path.name}"


def _partitioned_key(path: Path, kind: str) -> str:
    """``FOLDER/k=v/.../NAME``: the path from the kind's folder down, kept as it is."""
    parts = Path(path).parts
    for start in range(len(parts) - 2, -1, -1):
        if parts[start] == FOLDERS[kind]:
            inner = parts[start + 1:-1]
            if inner and all("=" in p for p in inner):
                return "/".join(parts[start:])
            break
    raise ValueError(
        f"{path} is not a {kind} part: expected {FOLDERS[kind]}/collection=NAME/date=YYYY-MM-DD/FILE"
    )


def is_closed_name(name: str) -> bool:
    """Whether a file name is a finished file (not hidden, not ``*.open``/temporary)."""
    return not name.startswith(".") and not name.endswith(_UNFINISHED)


def closed_files(collection: Path) -> Iterator[tuple[Path, str]]:
    """Every closed file of a collection folder with its kind, in a stable order.

    WARC files first, so a crash leaves the most valuable files uploaded first.
    Catalog parts are found in their partition folders.
    """
    for kind, folder in FOLDERS.items():
        base = collection / folder
        if not base.is_dir():
            continue
        found = base.rglob("*") if kind in PARTITIONED else base.iterdir()
        for path in sorted(found):
            if path.is_file() and is_closed_name(path.name):
                yield path, kind

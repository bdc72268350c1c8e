"""A collection wherever it lives: its name and files, local or ``s3://``.

Every stage after the store starts from the argument a user gives: the folder
passed to ``crawl --out`` or the store passed to ``crawl --store``.
:class:`Collection` knows a collection's name (the last path component) and
lists its WARC, sidecar, index and catalog files through the store, local or
``s3://``; listing recurses, so a store's dated keys and a folder's flat files
both work. The layout itself (folders, suffixes, names) is spelled in
:mod:`newsarchive.layout` and re-exported here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from newsarchive.exceptions import ConfigError, UserError
from newsarchive.layout import *  # noqa: F403  (the layout's names, for the later stages)
from newsarchive.layout import (
    CATALOG_DIR,
    CATALOG_SUFFIX,
    INDEX_DIR,
    INDEX_SUFFIX,
    SIDECAR_DIR,
    SIDECAR_SUFFIX,
    WARC_DIR,
    WARC_SUFFIXES,
    sidecar_name,
)

_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Collection:
    """A collection's root (folder path or ``s3://bucket/prefix``) and name."""

    root: str
    name: str

    @classmethod
    def open(cls, location: str | Path, *, must_have_warcs: bool = True) -> Collection:
        """Resolve what the user typed; a one-line :class:`UserError` if it is no collection."""
        from newsarchive.store import is_remote

        text = str(location).rstrip("/") or str(location)
        if is_remote(text):
            name = text.split("://", 1)[1].rstrip("/").rsplit("/", 1)[-1]
            coll = cls(text, name)
        else:
            path = Path(text).expanduser().resolve()
            if not path.is_dir():
                raise UserError(
                    f"{location}: no such collection folder; give the folder used with "
                    "`crawl --out` (or an s3:// store)"
                )
            coll = cls(str(path), path.name)
        if not _NAME_OK.match(coll.name):
            raise ConfigError(
                f"{location}: collection name {coll.name!r} must be letters, digits, '.', '_' "
                "or '-'; rename the folder"
            )
        if must_have_warcs and not coll.warcs():
            raise UserError(f"{location}: no WARC files under warc/; crawl into it first")
        return coll

    @property
    def remote(self) -> bool:
        """Whether the collection is in an object store rather than a local folder."""
        from newsarchive.store import is_remote

        return is_remote(self.root)

    @property
    def local_path(self) -> Path:
        """The folder of a local collection (ValueError for a remote one)."""
        if self.remote:
            raise ValueError(f"{self.root} is not a local folder")
        return Path(self.root)

    def uri(self, *parts: str) -> str:
        """Path or URI of ``parts`` under the root."""
        if self.remote:
            return "/".join([self.root.rstrip("/"), *parts])
        return str(Path(self.root, *parts))

    def _list(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        from newsarchive.store import list_inputs

        if not self.remote and not Path(self.root, folder).is_dir():
            return []
        try:
            return list_inputs(self.uri(folder), suffixes)
        except UserError:
            return []  # an empty prefix in a store

    def warcs(self) -> list[str]:
        """Closed WARC files (never ``*.open`` ones still being written)."""
        return self._list(WARC_DIR, WARC_SUFFIXES)

    def sidecar_files(self) -> list[str]:
        """Closed sidecar files (``*.sidecars.jsonl.gz``)."""
        return self._list(SIDECAR_DIR, (SIDECAR_SUFFIX,))

    def index_files(self) -> list[str]:
        """CDXJ index files, one per WARC."""
        return self._list(INDEX_DIR, (INDEX_SUFFIX,))

    def catalog_root(self) -> str:
        """Root of the Parquet catalog (hive-partitioned by collection and date)."""
        return self.uri(CATALOG_DIR)

    def catalog_files(self) -> list[str]:
        """Every Parquet part of this collection's catalog."""
        return self._list(CATALOG_DIR, (CATALOG_SUFFIX,))

    def sidecars_for(self, warc_name: str) -> str | None:
        """The sidecar file written beside a WARC file, if any."""
        wanted = sidecar_name(warc_name)
        for uri in self.sidecar_files():
            if posixpath.basename(uri) == wanted:
                return uri
        return None

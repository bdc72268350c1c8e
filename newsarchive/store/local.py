"""The local-folder store: the embedded default, and what tests compare S3 with.

Files are copied in under a temporary name, synced, then hard-linked to their
key, so a reader never sees half a file and an existing file is never replaced.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from newsarchive.exceptions import StorageError
from newsarchive.store.base import ObjectInfo, PutOutcome
from newsarchive.store.digest import CHUNK, FileDigest, hash_file

logger = logging.getLogger(__name__)


def disk_error(exc: OSError, where: Path | str) -> StorageError:
    """A one-line StorageError for a local I/O failure (full disk above all)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(
            f"local disk full at {where}: free some space and run again; "
            "files not yet uploaded stay in the spool"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(f"cannot write {where}: {exc.strerror}; fix its permissions")
    return StorageError(f"{where}: {exc.strerror or exc}")


class LocalStore:
    """A folder addressed by keys (``file:///abs/path`` or a plain path)."""

    def __init__(self, uri: str, **_options: object) -> None:
        self.uri = uri
        parsed = urlparse(uri)
        self.root = Path(unquote(parsed.path) if parsed.scheme == "file" else uri).expanduser()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root.resolve() and self.root.resolve() not in path.parents:
            raise StorageError(f"key {key!r} points outside the store {self.root}")
        return path

    def uri_for(self, key: str) -> str:
        """The local path of ``key``."""
        return str(self.root / key)

    def check(self) -> None:
        """Create the folder if needed; fail if it cannot be written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, self.root) from exc
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"cannot write to {self.root}: fix its permissions")

    def sweep_stale_uploads(self, max_age: float = 86400.0) -> int:
        """Nothing to sweep: a local put is one rename."""
        return 0

    def head(self, key: str) -> ObjectInfo | None:
        """Size and SHA-256 (computed by reading the file) of ``key``."""
        path = self._path(key)
        if not path.is_file():
            return None
        digest = hash_file(path)
        return ObjectInfo(key=key, size=digest.size, sha256=digest.sha256)

    def put(
        self,
        path: Path,
        key: str,
        digest: FileDigest | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PutOutcome:
        """Copy ``path`` to ``key``; a no-op if the same bytes are already there."""
        target = self._path(key)
        digest = digest or hash_file(path)
        if target.exists():
            if target.samefile(path):
                return "exists"
            return self._existing(target, key, digest)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            copied = hashlib.sha256()
            with path.open("rb") as src, tmp.open("wb") as dst:
                while block := src.read(CHUNK):
                    copied.update(block)
                    dst.write(block)
                    if progress is not None:
                        progress(len(block))
                dst.flush()
                os.fsync(dst.fileno())
            if copied.hexdigest() != digest.sha256:
                raise StorageError(f"{path} changed while it was copied to {target}")
            try:
                os.link(tmp, target)  # fails if the key appeared meanwhile: never overwrite
            except FileExistsError:
                return self._existing(target, key, digest)
        except OSError as exc:
            raise disk_error(exc, target.parent) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return "uploaded"

    def _existing(self, target: Path, key: str, digest: FileDigest) -> PutOutcome:
        there = hash_file(target)
        if there.size == digest.size and there.sha256 == digest.sha256:
            return "exists"
        raise StorageError(
            f"{target} already holds a different file (sha256 {there.sha256[:12]}..., "
            f"ours {digest.sha256[:12]}...); refusing to overwrite it: move it away or "
            "choose another store folder"
        )

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys (relative paths with ``/``) under ``prefix``, sorted."""
        base = self.root
        if not base.is_dir():
            return
        keys = (
            p.relative_to(base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
        yield from sorted(k for k in keys if k.startswith(prefix))

    def open(self, key: str) -> BinaryIO:
        """The file, opened for binary reading."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise StorageError(f"{self.uri_for(key)}: no such file") from None

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; StorageError if the file is shorter."""
        with self.open(key) as fh:
            fh.seek(offset)
            data = fh.read(length)
        if len(data) != length:
            raise StorageError(
                f"{self.uri_for(key)}: wanted {length} bytes at offset {offset}, "
                f"file has only {len(data)} there"
            )
        return data

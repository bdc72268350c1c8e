"""Storage: where collection files live (a local folder or S3) and how to read them back.

Other stages use three reading helpers, which take a local path or an
``s3://bucket/key`` URI alike::

    open_input(uri_or_path) -> BinaryIO          # streaming, never whole in memory
    list_inputs(uri_or_path, suffixes=(".warc.gz", ".warc")) -> list[str]
    read_range(uri_or_path, offset, length) -> bytes   # one ranged GET on S3

For S3 the endpoint and region come from the keyword arguments, else from
boto3's own configuration (``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``,
``AWS_REGION``, ``~/.aws/config``), like the credentials.

Writing goes through :func:`store_for`, which picks a backend by URI scheme
(:data:`BACKENDS`, in the spirit of Scrapy's ``FEED_STORAGES``); the durable
upload of a crawl's files is :mod:`newsarchive.store.uploader`.
"""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError, UserError
from newsarchive.layout import WARC_WRITTEN_SUFFIXES
from newsarchive.store.base import ObjectInfo, Store

__all__ = [
    "BACKENDS",
    "ObjectInfo",
    "Store",
    "is_remote",
    "list_inputs",
    "open_input",
    "read_range",
    "store_for",
]

#: URI scheme -> backend class ("" is a plain local path).
BACKENDS: dict[str, str] = {
    "": "newsarchive.store.local.LocalStore",
    "file": "newsarchive.store.local.LocalStore",
    "s3": "newsarchive.store.s3.S3Store",
}


def _scheme(uri: str) -> str:
    scheme = urlsplit(str(uri)).scheme
    return "" if len(scheme) == 1 else scheme  # "C:\..." is a path, not a scheme


def is_remote(uri_or_path: str | Path) -> bool:
    """Whether this names something in a remote store (``s3://...``), not a local path."""
    return _scheme(str(uri_or_path)) not in {"", "file"}


def store_for(
    uri: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    **options: Any,
) -> Store:
    """The store for ``uri``: a folder path, ``file://...`` or ``s3://bucket/prefix``.

    ``options`` go to the backend (S3: ``part_size``, ``concurrency``,
    ``max_attempts``, ``timeout``); the local backend ignores them.
    """
    scheme = _scheme(uri)
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(BACKENDS) if s)
        raise ConfigError(f"unknown store {uri!r}: use a folder path or one of {known}")
    module, _, name = target.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if scheme == "s3":
        return cls(uri, endpoint_url=endpoint_url, region=region, **options)  # type: ignore[no-any-return]
    return cls(uri, **options)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=32)
def _bucket_store(bucket: str, endpoint_url: str | None, region: str | None) -> Any:
    """One S3 store (and client, with its connection pool) per bucket, reused by readers."""
    from newsarchive.store.s3 import S3Store

    return S3Store(f"s3://{bucket}", endpoint_url=endpoint_url, region=region)


def _locate(uri: str, endpoint_url: str | None, region: str | None) -> tuple[Any, str]:
    from newsarchive.store.s3 import split_s3_uri

    bucket, key = split_s3_uri(uri)
    return _bucket_store(bucket, endpoint_url, region), key


def _local(uri_or_path: str | Path) -> Path:
    text = str(uri_or_path)
    return Path(urlsplit(text).path) if _scheme(text) == "file" else Path(text)


def open_input(
    uri_or_path: str | Path, *, endpoint_url: str | None = None, region: str | None = None
) -> BinaryIO:
    """Open a local file, ``-`` (stdin) or an ``s3://`` object for streaming binary reads."""
    text = str(uri_or_path)
    if text == "-":
        return sys.stdin.buffer
    if is_remote(text):
        store, key = _locate(text, endpoint_url, region)
        return store.open(key)  # type: ignore[no-any-return]
    path = _local(text)
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give a file (or use a command that takes folders)"
                        ) from None


def list_inputs(
    uri_or_path: str | Path,
    suffixes: tuple[str, ...] = WARC_WRITTEN_SUFFIXES,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> list[str]:
    """Expand a file, folder, collection or ``s3://`` prefix into its files, sorted.

    A single file is returned as given (whatever its name); a folder or prefix
    yields the files under it whose names end with one of ``suffixes`` (so
    ``*.warc.gz.open`` files still being written are left out).
    """
    text = str(uri_or_path)
    if text == "-":
        return [text]
    if is_remote(text):
        store, key = _locate(text, endpoint_url, region)
        if key and not text.endswith("/") and store.head(key) is not None:
            return [text]
        prefix = f"{key.rstrip('/')}/" if key else ""
        found = [
            f"s3://{store.bucket}/{k}" for k in store.list(prefix) if k.endswith(suffixes)
        ]
        if not found and not (key and store.head(key) is not None):
            raise UserError(f"{text}: no such object, and no {'/'.join(suffixes)} files under it")
        return sorted(found)
    path = _local(text)
    if path.is_file():
        return [str(path)]
    if path.is_dir():
        return sorted(
            str(p) for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes)
        )
    raise UserError(f"{path}: no such file or folder; check the path")


def read_range(
    uri_or_path: str | Path,
    offset: int,
    length: int,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> bytes:
    """``length`` bytes at ``offset`` of a local file or S3 object (ranged GET, not a download)."""
    text = str(uri_or_path)
    if is_remote(text):
        store, key = _locate(text, endpoint_url, region)
        return store.read_range(key, offset, length)  # type: ignore[no-any-return]
    from newsarchive.store.local import LocalStore

    path = _local(text)
    return LocalStore(str(path.parent)).read_range(path.name, offset, length)

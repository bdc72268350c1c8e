"""A streaming reader of one S3 object that survives dropped connections."""

from __future__ import annotations

import io
import logging
import time
from typing import TYPE_CHECKING, Any

from newsarchive.exceptions import StorageError

if TYPE_CHECKING:
    from newsarchive.store.s3 import S3Store

logger = logging.getLogger(__name__)


class S3Reader(io.RawIOBase):
    """Raw stream over one object; a dropped connection resumes at the same byte.

    The resumed GET is pinned to the first response's ETag (``If-Match``), so a
    replaced object cannot be spliced into the stream.
    """

    def __init__(self, store: S3Store, key: str, max_resumes: int = 5) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._pos = 0
        self._body: Any = None
        self._etag: str | None = None
        self._max_resumes = max_resumes

    def readable(self) -> bool:
        return True

    def _get(self) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self._store.bucket, "Key": self._store._full(self._key)}
        if self._pos:
            kwargs["Range"] = f"bytes={self._pos}-"
        if self._etag:
            kwargs["IfMatch"] = self._etag
        try:
            resp = self._store.client.get_object(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in {"NoSuchKey", "404"}:
                raise StorageError(f"{self._store.uri_for(self._key)}: no such object") from None
            if code == "InvalidRange":  # resumed exactly at the end
                return None
            raise self._store._error(exc, self._key) from None
        except BotoCoreError as exc:
            raise self._store._error(exc, self._key) from None
        self._etag = self._etag or resp.get("ETag")
        return resp["Body"]

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        view = memoryview(buffer).cast("B")
        for attempt in range(self._max_resumes + 1):
            try:
                if self._body is None:
                    self._body = self._get()
                    if self._body is None:
                        return 0
                data = self._body.read(len(view))
            except (BotoCoreError, HTTPError, OSError) as exc:
                self._drop()
                if attempt == self._max_resumes:
                    raise self._store._error(exc, self._key) from None
                logger.info("reading %s broke at byte %d; resuming", self._key, self._pos)
                time.sleep(0.2 * 2**attempt)
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            return n
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._body is not None:
            try:
                self._body.close()
            except Exception:  # noqa: BLE001 - a broken body may fail to close; drop it
                pass
        self._body = None

    def close(self) -> None:
        self._drop()
        super().close()

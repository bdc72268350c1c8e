"""The S3 store (AWS, MinIO, Ceph, R2...): boto3 managed transfers, verified.

Every upload is checked against the digest recorded when the file was closed:
multipart uploads by their part CRC32s before S3 assembles them and by S3's
composite checksum afterwards, single PUTs by their SHA-256 and MD5. Writes are
conditional (``If-None-Match: *``), so an upload never replaces an object that
appeared under the same key meanwhile. ``docs/storage.md`` explains the design.
"""

from __future__ import annotations

import base64
import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from newsarchive.exceptions import ConfigError, StorageError, TransientStorageError
from newsarchive.layout import INDEX_SUFFIX, WARC_GZ
from newsarchive.store.base import ObjectInfo, PutOutcome
from newsarchive.store.digest import CHUNK, MIN_PART_SIZE, FileDigest, hash_file
from newsarchive.store.s3checksum import PartsDiffer, same_layout
from newsarchive.store.s3client import make_client, safe_endpoint, split_s3_uri, storage_error
from newsarchive.store.s3parts import PartChecks, local_composite
from newsarchive.store.s3reader import S3Reader

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
SHA256_META = "sha256"  # x-amz-meta-sha256: hex SHA-256 of the whole file
_CONTENT_TYPES = {
    WARC_GZ: "application/warc",
    ".warc": "application/warc",
    ".jsonl.gz": "application/gzip",  # sidecars, any gzipped JSON lines
    INDEX_SUFFIX: "text/plain; charset=utf-8",
}


def _content_type(key: str) -> str:
    for suffix, ctype in _CONTENT_TYPES.items():
        if key.endswith(suffix):
            return ctype
    return "application/octet-stream"


class S3Store:
    """``s3://bucket/prefix``: put, list, read and verify objects under the prefix."""

    def __init__(
        self,
        uri: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        part_size: int = 16 * MiB,
        concurrency: int = 8,
        max_attempts: int = 10,
        timeout: float = 60.0,
        client: Any = None,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ConfigError(
                f"part size {part_size} is below S3's minimum of 5 MiB: set STORE_PART_SIZE "
                "(or --part-size) to 5 MiB or more"
            )
        if concurrency < 1:
            raise ConfigError("STORE_CONCURRENCY (or --concurrency) must be at least 1")
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = split_s3_uri(uri)
        self.endpoint = safe_endpoint(endpoint_url)
        self._endpoint_url = endpoint_url
        self._region = region
        self.part_size = part_size
        self.concurrency = concurrency
        self.client = client or make_client(
            endpoint_url=endpoint_url,
            region=region,
            max_attempts=max_attempts,
            timeout=timeout,
            pool=concurrency + 4,
        )
        # Conditional writes: refuse to replace whatever appeared under the key.
        events = self.client.meta.events
        events.register("before-parameter-build.s3.PutObject", _if_none_match)
        events.register("before-parameter-build.s3.CompleteMultipartUpload", _if_none_match)
        # Parts go up with the CRC32s the digest recorded, and must add up to the
        # recorded CRC32 before S3 may assemble them.
        self._parts = PartChecks()
        self._parts.register(events)
        self._probe: Any = None

    # --- addressing -----------------------------------------------------------
    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri_for(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"s3://{self.bucket}/{self._full(key)}"

    def _error(self, exc: BaseException, key: str = "", fatal_network: bool = False
               ) -> StorageError:
        where = self.uri_for(key) if key else self.uri
        return storage_error(exc, where=where, endpoint=self.endpoint,
                             fatal_network=fatal_network)

    # --- checks -----------------------------------------------------------------
    def check(self) -> None:
        """One cheap call that tells a missing bucket, bad credentials or endpoint.

        Runs with few retries, so a wrong endpoint fails in seconds, not minutes.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        if self._probe is None:
            self._probe = make_client(
                endpoint_url=self._endpoint_url,
                region=self._region,
                max_attempts=2,
                timeout=10,
                pool=1,
            )
        try:
            self._probe.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, fatal_network=True) from None

    # --- reading ----------------------------------------------------------------
    def head(self, key: str) -> ObjectInfo | None:
        """Size, our SHA-256 metadata and S3's own checksum (CRC32 or SHA-256) of ``key``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.client.head_object(
                Bucket=self.bucket, Key=self._full(key), ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self._error(exc, key) from None
        except BotoCoreError as exc:
            raise self._error(exc, key) from None
        meta = {k.lower(): v for k, v in resp.get("Metadata", {}).items()}
        checksum = resp.get("ChecksumCRC32") or resp.get("ChecksumSHA256")
        etag = resp.get("ETag") or ""
        parts = etag.strip('"').rpartition("-")[2] if "-" in etag else ""
        if checksum and "-" not in checksum and parts.isdigit() and (
            resp.get("ChecksumType", "COMPOSITE") == "COMPOSITE"
        ):
            # A multipart object's checksum is composite unless declared
            # FULL_OBJECT; some servers (moto) leave out its "-N".
            checksum = f"{checksum}-{parts}"
        return ObjectInfo(
            key=key,
            size=int(resp["ContentLength"]),
            sha256=meta.get(SHA256_META),
            checksum=checksum,
            etag=resp.get("ETag"),
            metadata=meta,
        )

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` (relative to the store's prefix), in S3's order."""
        from botocore.exceptions import BotoCoreError, ClientError

        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"][len(base):]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, prefix, fatal_network=True) from None

    def open(self, key: str) -> BinaryIO:
        """A buffered streaming reader that resumes with a ranged GET if the connection drops."""
        raw = S3Reader(self, key)
        return io.BufferedReader(raw, buffer_size=CHUNK)  # type: ignore[return-value]

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` with one ranged GET (retried if it breaks)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if offset < 0 or length <= 0:
            raise ValueError(f"bad range: offset {offset}, length {length}")
        rng = f"bytes={offset}-{offset + length - 1}"
        for attempt in range(4):
            try:
                resp = self.client.get_object(Bucket=self.bucket, Key=self._full(key), Range=rng)
                data: bytes = resp["Body"].read()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in {"NoSuchKey", "404"}:
                    raise StorageError(f"{self.uri_for(key)}: no such object") from None
                if code == "InvalidRange":
                    raise StorageError(
                        f"{self.uri_for(key)}: offset {offset} is past the end of the object"
                    ) from None
                raise self._error(exc, key) from None
            except BotoCoreError as exc:
                if attempt == 3:
                    raise self._error(exc, key) from None
                time.sleep(0.5 * 2**attempt)
                continue
            if len(data) != length:
                raise StorageError(
                    f"{self.uri_for(key)}: wanted {length} bytes at offset {offset}, "
                    f"got {len(data)} (object too short)"
                )
            return data
        raise AssertionError("unreachable")

    def download_sha256(self, key: str) -> str:
        """SHA-256 of the stored object, by streaming it (the slow, sure check)."""
        import hashlib

        digest = hashlib.sha256()
        with self.open(key) as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
        return digest.hexdigest()

    # --- writing ----------------------------------------------------------------
    def same_bytes(self, info: ObjectInfo, digest: FileDigest, composite: str | None = None
                   ) -> bool:
        """Whether the stored object has exactly the local file's bytes.

        Size, then S3's own checksum of what it stored: against ``composite``
        (the CRC32 of the part CRC32s our upload checked) or the recorded
        digest; if S3 gives none we can compare (another part layout, a server
        without checksums), read the object back and hash it.
        """
        if info.size != digest.size:
            return False
        if composite and info.checksum and same_layout(info.checksum, composite):
            return info.checksum == composite
        verdict = digest.matches_checksum(info.checksum) if info.checksum else None
        if verdict is not None:
            return verdict
        logger.info("verifying %s by reading it back", self.uri_for(info.key))
        return self.download_sha256(info.key) == digest.sha256

    def put(
        self,
        path: Path,
        key: str,
        digest: FileDigest | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PutOutcome:
        """Upload ``path`` to ``key``, verified against ``digest``; idempotent.

        Files of at least one part size go up as a managed multipart transfer
        (CRC32 parts that must add up to the recorded CRC32), smaller ones as
        one PUT (the recorded SHA-256 and ``Content-MD5``). Either way the
        stored object is verified afterwards (see the module docstring).
        """
        digest = self._usable_digest(path, digest)
        existing = self.head(key)
        if existing is not None:
            if self.same_bytes(existing, digest, self._local_composite(path, digest, existing)):
                return "exists"
            self._refuse_or_clear(existing, digest)
        self.abort_stale_uploads(key)
        md5: str | None = None
        composite: str | None = None
        try:
            if digest.size >= self.part_size:
                composite = self._multipart(path, key, digest, progress)
            else:
                md5 = self._single(path, key, digest, progress)
        except _Conflict:
            # The key was written meanwhile (maybe by our own retried request).
            composite = self._parts.pop(self._full(key))
            existing = self.head(key)
            if existing is not None and self.same_bytes(existing, digest, composite):
                return "exists"
            if existing is not None:
                self._refuse_or_clear(existing, digest)
            raise TransientStorageError(
                f"{self.uri_for(key)} was written by someone else during the upload; retrying"
            ) from None
        stored = self.head(key)
        plain_etag = (stored.etag or "").strip('"') if stored else ""
        if (
            stored is None
            or not self.same_bytes(stored, digest, composite)
            or (md5 and len(plain_etag) == 32 and "-" not in plain_etag and plain_etag != md5)
        ):
            if stored is not None:
                self._delete(key)
            raise TransientStorageError(
                f"{self.uri_for(key)} did not match {path} after the upload "
                "(size or checksum differ); it was removed and will be uploaded again"
            )
        return "uploaded"

    def _usable_digest(self, path: Path, digest: FileDigest | None) -> FileDigest:
        """The recorded digest, completed with a CRC32 if it has none; refuse a changed file.

        Journal rows of older versions have no CRC32: the file is read once
        more, and must still have the recorded SHA-256.
        """
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise self._local_error(exc, path) from None
        if digest is not None and digest.crc32 is not None and size == digest.size:
            return digest
        try:
            now = hash_file(path)
        except OSError as exc:
            raise self._local_error(exc, path) from None
        if digest is not None and (now.size, now.sha256) != (digest.size, digest.sha256):
            raise StorageError(
                f"{path} changed after its SHA-256 was recorded ({digest.size} bytes then, "
                f"{now.size} now); closed files must not change: find out what rewrote it "
                "(it was not uploaded)"
            )
        return now

    def _extra(self, key: str, digest: FileDigest) -> dict[str, Any]:
        return {
            "Metadata": {SHA256_META: digest.sha256},
            "ContentType": _content_type(key),
        }

    def _multipart(self, path: Path, key: str, digest: FileDigest,
                   progress: Callable[[int], None] | None) -> str | None:
        """The managed upload; returns the composite checksum S3 must report, if known."""
        from boto3.exceptions import S3UploadFailedError
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError
        from s3transfer.utils import ChunksizeAdjuster

        config = TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=self.concurrency,
            use_threads=True,
        )
        full = self._full(key)
        # The part size s3transfer will really use (it grows for > 10,000 parts).
        part_size = ChunksizeAdjuster().adjust_chunksize(self.part_size, digest.size)
        self._parts.begin(full, digest, part_size)
        extra = {**self._extra(key, digest), "ChecksumAlgorithm": "CRC32"}
        try:
            self.client.upload_file(
                str(path), self.bucket, self._full(key),
                ExtraArgs=extra, Config=config, Callback=progress,
            )
        except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
            cause = (exc.__cause__ or exc.__context__) if isinstance(
                exc, S3UploadFailedError) else exc
            self._abort_quietly(key)  # s3transfer aborts too; this covers a failed abort
            if _is_conflict(cause):
                raise _Conflict from None
            raise self._error(cause or exc, key) from None
        except PartsDiffer as exc:
            self._abort_quietly(key)
            raise TransientStorageError(f"{self.uri_for(key)}: {exc}; nothing was stored") from None
        except OSError as exc:
            self._abort_quietly(key)
            raise self._local_error(exc, path) from None
        finally:
            self._parts.end(full)
        # A CreateMultipartUpload whose reply was lost is retried by botocore and
        # leaves a second, orphaned upload of the key behind: abort it now.
        self._abort_quietly(key)
        return self._parts.pop(full)

    def _local_composite(self, path: Path, digest: FileDigest, info: ObjectInfo
                         ) -> str | None:
        """The composite CRC32 of the local file in our parts, to compare with ``info``'s."""
        from s3transfer.utils import ChunksizeAdjuster

        part_size = ChunksizeAdjuster().adjust_chunksize(self.part_size, digest.size)
        try:
            return local_composite(path, digest, info.checksum, info.size, part_size)
        except OSError as exc:
            raise self._local_error(exc, path) from None

    def _single(self, path: Path, key: str, digest: FileDigest,
                progress: Callable[[int], None] | None) -> str:
        """One PUT of a file smaller than a part (bounded by the part size); its MD5 hex."""
        import hashlib

        from botocore.exceptions import BotoCoreError, ClientError

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise self._local_error(exc, path) from None
        if hashlib.sha256(data).hexdigest() != digest.sha256:
            raise StorageError(
                f"{path} changed after its SHA-256 was recorded; closed files must not change: "
                "find out what rewrote it (it was not uploaded)"
            )
        md5 = hashlib.md5(data, usedforsecurity=False)
        extra = self._extra(key, digest)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=data,
                ChecksumAlgorithm="SHA256", ChecksumSHA256=digest.sha256_b64,
                ContentMD5=base64.b64encode(md5.digest()).decode(), **extra,
            )
        except (ClientError, BotoCoreError) as exc:
            if _is_conflict(exc):
                raise _Conflict from None
            raise self._error(exc, key) from None
        if progress is not None:
            progress(len(data))
        return md5.hexdigest()

    @staticmethod
    def _local_error(exc: OSError, path: Path) -> StorageError:
        from newsarchive.store.local import disk_error

        return disk_error(exc, path)

    def _refuse_or_clear(self, existing: ObjectInfo, digest: FileDigest) -> None:
        """A different object holds the key: ours-but-damaged is removed, else refuse."""
        if existing.sha256 == digest.sha256:
            logger.warning(
                "%s is a damaged earlier upload of this file; replacing it",
                self.uri_for(existing.key),
            )
            self._delete(existing.key)
            return
        raise StorageError(
            f"{self.uri_for(existing.key)} already holds a different object "
            f"({existing.size} bytes, ours {digest.size}, sha256 "
            f"{(existing.sha256 or 'unknown')[:12]} vs {digest.sha256[:12]}); refusing to "
            "overwrite it: remove it or upload to another s3:// prefix"
        )

    def _delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, key) from None

    def abort_stale_uploads(self, key: str) -> int:
        """Abort unfinished multipart uploads of ``key`` (left by a killed run).

        Only one uploader works on a collection at a time (the spool's lock), so
        any unfinished upload of one of its keys is a leftover.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._full(key)
        aborted = 0
        try:
            resp = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=full)
            for upload in resp.get("Uploads", []):
                if upload["Key"] != full:
                    continue
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload["UploadId"]
                )
                aborted += 1
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, key) from None
        if aborted:
            logger.info("aborted %d unfinished upload(s) of %s", aborted, self.uri_for(key))
        return aborted

    def sweep_stale_uploads(self, max_age: float = 86400.0) -> int:
        """Abort our leftover multipart uploads under the prefix; return how many.

        An unfinished upload is a leftover when its key already holds an object
        (its real upload finished under another id) or when it began more than
        ``max_age`` seconds ago: uploads of other workers still under way on
        the same collection are left alone.
        """
        import datetime as dt

        from botocore.exceptions import BotoCoreError, ClientError

        base = f"{self.prefix}/" if self.prefix else ""
        now = dt.datetime.now(dt.UTC)
        aborted = 0
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                for upload in page.get("Uploads", []):
                    started = upload.get("Initiated")
                    old = isinstance(started, dt.datetime) and (
                        (now - started).total_seconds() > max_age)
                    if not old and self.head(upload["Key"][len(base):]) is None:
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from None
        if aborted:
            logger.info("aborted %d leftover multipart upload(s) under %s", aborted, self.uri)
        return aborted

    def _abort_quietly(self, key: str) -> None:
        """Best effort after a failure; the next start retries what is left."""
        try:
            self.abort_stale_uploads(key)
        except StorageError as exc:
            logger.warning("could not abort the unfinished upload of %s: %s", key, exc)


class _Conflict(Exception):
    """The conditional write failed: something appeared under the key meanwhile."""


def _is_conflict(exc: BaseException | None) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in {
        "PreconditionFailed", "412", "ConditionalRequestConflict"}


def _if_none_match(params: dict[str, Any], **_kwargs: Any) -> None:
    params.setdefault("IfNoneMatch", "*")

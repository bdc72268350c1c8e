"""The S3 store (AWS, MinIO, Ceph, R2...): boto3 managed transfers, verified.

What detects a damaged upload, end to end
-----------------------------------------
Before a file is uploaded the spool has recorded its size, SHA-256 and CRC32
-- computed by the WARC writer from the bytes it wrote, or by reading the file
once (:mod:`newsarchive.store.digest`). Then:

* **Multipart** (files of at least one part): s3transfer's managed upload
  with ``ChecksumAlgorithm=CRC32`` -- exactly what plain boto3 / ``aws s3 cp``
  do by default. Each part carries the CRC32 botocore computes of the bytes
  as it sends them (a few ms per part), so S3 rejects a part damaged on the
  wire (``BadDigest``; over plain HTTP the SigV4 payload SHA-256 catches it
  as well). Before the completion is sent, the parts' CRC32s are combined
  (:func:`~newsarchive.store.digest.crc32_combine`, no byte read again) and
  must equal the *recorded* whole-file CRC32: a local file that changed after
  its digest was taken, or a part read wrongly, never becomes an object --
  the upload is aborted. After the completion, HEAD (``ChecksumMode=ENABLED``)
  returns S3's composite checksum, the CRC32 of the part CRC32s *it* holds;
  it must equal the one computed from ours, so the object S3 assembled is made
  of exactly the parts we checked. That last comparison is also what catches
  a part damaged on the way on servers that do not validate part checksums
  (moto does not: it stores what arrives and computes the composite from it).
* **Single PUT** (smaller files): ``ChecksumSHA256`` = the recorded SHA-256,
  plus ``Content-MD5``: S3 checks the body against the recorded digest
  itself, and HEAD's ``ChecksumSHA256`` is compared afterwards.
* The recorded SHA-256 is stored as ``x-amz-meta-sha256`` for readers; it is
  written by us, so it only tells whose object it is, never whether the bytes
  are right.
* An object already under the key (a run killed after the completion, before
  its verification) counts as ours only if its composite CRC32 equals the
  one of the local file's parts, whose CRC32s must still combine to the
  recorded one: one local read at GB/s, no download.
* When the server gives no checksum we can compare (no part CRC32s, another
  part size, the SHA-256 composites of older versions), the object is read
  back and its SHA-256 compared: slow, but never wrong.

Why CRC32 and not per-part SHA-256 (as before): SHA-256 part checksums can
only be sent without re-reading if they were recorded per part before the
upload, which ties the record to one part size and costs a SHA-256 pass of
its own; S3 (and moto) then hash every part again. CRC32 costs almost
nothing on either side, and because CRC32s combine, one whole-file CRC32
recorded by the writer checks any part size. Why composite and not a
``FULL_OBJECT`` CRC32: the same guarantee, but the check happens before the
object exists and works on servers without full-object checksums (and moto
copies the whole object to compute one). It is 32 bits: a random corruption
goes unnoticed with probability 2^-32, and every burst error of up to 32
bits is caught. CRC32C would do as well, but botocore needs the optional
``awscrt`` package for it.

Writes are conditional (``If-None-Match: *`` on PutObject and
CompleteMultipartUpload), so an upload never replaces an object that appeared
under the same key meanwhile. Credentials come from boto3's standard chain
and are never put in messages; endpoints are shown without user info.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError, StorageError, TransientStorageError
from newsarchive.store.base import ObjectInfo, PutOutcome
from newsarchive.store.digest import (
    CHUNK,
    MIN_PART_SIZE,
    FileDigest,
    crc32_combine,
    hash_file,
)

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
SHA256_META = "sha256"  # x-amz-meta-sha256: hex SHA-256 of the whole file

_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "TokenRefreshRequired",
    "RequestExpired",
    "InvalidToken",
    "InvalidClientTokenId",
    "ExpiredTokenException",
}
_DENIED_CODES = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
    "BadDigest",
    "XAmzContentSHA256Mismatch",
    "InvalidPart",
    "NoSuchUpload",
}
_CONTENT_TYPES = {
    ".warc.gz": "application/warc",
    ".warc": "application/warc",
    ".jsonl.gz": "application/gzip",
    ".cdxj": "text/plain; charset=utf-8",
}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"{uri!r} is not an S3 URI; write s3://BUCKET/PREFIX")
    return parts.netloc, parts.path.strip("/")


def safe_endpoint(endpoint_url: str | None) -> str:
    """The endpoint for messages: no user name or password, AWS if unset."""
    if not endpoint_url:
        return "AWS S3"
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _quiet_sdk_loggers() -> None:
    """Keep boto's DEBUG output (request bodies, signed headers) out of our logs.

    botocore logs every request at DEBUG, including the ``Authorization``
    header (access key id) and whole upload parts; ``-vv`` must not leak either.
    """
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        lg = logging.getLogger(name)
        if lg.level == logging.NOTSET or lg.level < logging.INFO:
            lg.setLevel(logging.INFO)


def make_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    max_attempts: int = 10,
    timeout: float = 60.0,
    pool: int = 10,
) -> Any:
    """A new S3 client from boto3's standard credential chain.

    Standard retry mode retries throttling (503 SlowDown), 5xx and dropped
    connections with exponential backoff and jitter. Path-style addressing for
    custom endpoints, which MinIO and most S3-compatible servers expect.
    """
    import boto3
    import botocore.session
    from botocore.config import Config

    _quiet_sdk_loggers()
    config = Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=pool,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    # A new session per client keeps credentials and configuration fresh (they
    # are resolved per session); sharing the loader keeps its parsed S3 model,
    # which is most of the ~0.2 s CPU a new session's first client costs.
    botocore_session = botocore.session.Session()
    botocore_session.register_component("data_loader", _shared_loader())
    session = boto3.session.Session(botocore_session=botocore_session)
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


@functools.cache
def _shared_loader() -> Any:
    """botocore's data loader, one per process (it caches what it loads)."""
    from botocore.loaders import create_loader

    return create_loader()


def _part_count(size: int, part_size: int) -> int:
    """Parts of a multipart upload of ``size`` bytes (the last one shorter)."""
    return -(-size // part_size)


def storage_error(exc: BaseException, *, where: str, endpoint: str, fatal_network: bool = False
                  ) -> StorageError:
    """Turn a boto3/botocore failure into a one-line StorageError saying what to do.

    Throttling, 5xx and dropped connections become :class:`TransientStorageError`
    (the caller retries later); bad buckets, permissions and credentials do not.
    ``fatal_network``: an unreachable endpoint is a configuration mistake (used
    by the first call, before anything worked).
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    keep = "files not yet uploaded stay in the spool"
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StorageError(
            f"no usable S3 credentials for {where}: set AWS_PROFILE or "
            f"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (boto3's standard chain); {keep}"
        )
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket" or (code == "404" and "Bucket" in exc.operation_name):
            bucket = where.removeprefix("s3://").split("/", 1)[0]
            return StorageError(
                f"bucket {bucket!r} does not exist at {endpoint}: create it or fix the "
                f"s3:// URI (and --endpoint-url); {keep}"
            )
        if code in _CREDENTIAL_CODES:
            return StorageError(
                f"S3 rejected the credentials for {where} ({code}): refresh or fix them "
                f"(aws sso login, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); {keep}"
            )
        if code in _DENIED_CODES or status == 403:
            return StorageError(
                f"access denied to {where} ({code or status}): allow s3:PutObject, "
                f"s3:GetObject, s3:ListBucket and s3:AbortMultipartUpload for these "
                f"credentials; {keep}"
            )
        if code in _TRANSIENT_CODES or (status or 0) >= 500:
            return TransientStorageError(
                f"{where}: S3 at {endpoint} answered {code or status} after retries; "
                f"run again later; {keep}"
            )
        return StorageError(f"{where}: S3 at {endpoint} answered {code or status}: "
                            f"{err.get('Message', '')}; {keep}")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError) and fatal_network:
        return StorageError(
            f"cannot reach the S3 endpoint {endpoint}: check --endpoint-url, the region "
            f"and the network; {keep}"
        )
    if isinstance(exc, BotoCoreError | OSError):
        return TransientStorageError(
            f"{where}: connection to {endpoint} failed ({type(exc).__name__}) after "
            f"retries; run again later; {keep}"
        )
    return StorageError(f"{where}: {type(exc).__name__}: {exc}")


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
        # The parts must add up to the recorded CRC32 before S3 may assemble them.
        self._inflight: dict[str, tuple[FileDigest, int]] = {}  # full key -> digest, part size
        self._composites: dict[str, str] = {}  # full key -> expected composite checksum
        events.register("before-parameter-build.s3.CompleteMultipartUpload", self._check_parts)
        self._probe = None

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
        raw = _S3Reader(self, key)
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
        if composite and info.checksum and _same_layout(info.checksum, composite):
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
            composite = self._composites.pop(self._full(key), None)
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
        self._inflight[full] = (digest, part_size)
        self._composites.pop(full, None)
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
        except _PartsDiffer as exc:
            self._abort_quietly(key)
            raise TransientStorageError(f"{self.uri_for(key)}: {exc}; nothing was stored") from None
        except OSError as exc:
            self._abort_quietly(key)
            raise self._local_error(exc, path) from None
        finally:
            self._inflight.pop(full, None)
        return self._composites.pop(full, None)

    def _local_composite(self, path: Path, digest: FileDigest, info: ObjectInfo
                         ) -> str | None:
        """The composite CRC32 the local file would have as ``info``'s parts, if cheap to tell.

        For an object already under the key (a run killed after the upload,
        before its verification): reading the local file at several GB/s of
        CRC32 beats downloading the object. Only for our part size; the local
        file must still have the recorded CRC32.
        """
        from s3transfer.utils import ChunksizeAdjuster

        value, _, count = (info.checksum or "").partition("-")
        if len(value) != 8 or not count or info.size != digest.size:  # not a CRC32 composite
            return None
        part_size = ChunksizeAdjuster().adjust_chunksize(self.part_size, digest.size)
        if count != str(_part_count(digest.size, part_size)):
            return None
        crcs: list[int] = []
        try:
            with path.open("rb") as fh:
                while True:
                    crc, left = 0, part_size
                    while left and (block := fh.read(min(CHUNK, left))):
                        crc = zlib.crc32(block, crc)
                        left -= len(block)
                    if left == part_size:
                        break
                    crcs.append(crc)
        except OSError as exc:
            raise self._local_error(exc, path) from None
        try:
            return self._composite_of(crcs, digest, part_size)
        except _PartsDiffer:
            return None  # the local file changed: the upload will say so

    @staticmethod
    def _composite_of(crcs: list[int], digest: FileDigest, part_size: int) -> str:
        """S3's composite checksum of parts with these CRC32s, if they add up to ``digest``."""
        expected = _part_count(digest.size, part_size)
        if len(crcs) != expected:
            raise _PartsDiffer(f"{len(crcs)} parts sent, {expected} expected")
        combined = crcs[0] if crcs else 0
        for number, crc in enumerate(crcs[1:], start=1):
            combined = crc32_combine(combined, crc, min(part_size, digest.size - number * part_size))
        if combined != digest.crc32:
            raise _PartsDiffer(
                "the parts sent do not add up to the CRC32 recorded when the file was closed "
                "(did the local file change since?)"
            )
        raw = b"".join(crc.to_bytes(4, "big") for crc in crcs)
        return base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + f"-{len(crcs)}"

    def _check_parts(self, params: dict[str, Any], **_kwargs: Any) -> None:
        """Before S3 assembles the parts: their CRC32s must add up to the recorded one.

        Raises :class:`_PartsDiffer` (the upload is then aborted); remembers
        the composite checksum S3 must report for the object.
        """
        full = params.get("Key", "")
        inflight = self._inflight.get(full)
        if inflight is None:
            return
        digest, part_size = inflight
        parts = sorted(params.get("MultipartUpload", {}).get("Parts", []),
                       key=lambda p: int(p["PartNumber"]))
        try:
            crcs = [int.from_bytes(base64.b64decode(p["ChecksumCRC32"], validate=True), "big")
                    for p in parts]
        except (KeyError, ValueError):
            logger.info("the server sent no part CRC32s for %s; it will be read back", full)
            return
        self._composites[full] = self._composite_of(crcs, digest, part_size)

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

    def _abort_quietly(self, key: str) -> None:
        """Best effort after a failure; the next start retries what is left."""
        try:
            self.abort_stale_uploads(key)
        except StorageError as exc:
            logger.warning("could not abort the unfinished upload of %s: %s", key, exc)


class _Conflict(Exception):
    """The conditional write failed: something appeared under the key meanwhile."""


class _PartsDiffer(Exception):
    """The parts of a multipart upload are not the bytes whose digest was recorded."""


def _same_layout(checksum: str, composite: str) -> bool:
    """Whether S3's ``checksum`` is a composite CRC32 over as many parts as ``composite``."""
    value, _, count = checksum.partition("-")
    return len(value) == 8 and count == composite.partition("-")[2]


def _is_conflict(exc: BaseException | None) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in {
        "PreconditionFailed", "412", "ConditionalRequestConflict"}


def _if_none_match(params: dict[str, Any], **_kwargs: Any) -> None:
    params.setdefault("IfNoneMatch", "*")


class _S3Reader(io.RawIOBase):
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

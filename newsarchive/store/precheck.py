"""Is the store usable? Asked once, before a crawl fetches its first page.

A crawl with ``--store s3://...`` that finds out about a missing bucket or
bad credentials only when its first file closes has already fetched pages it
cannot keep where the user asked. :func:`check_store` asks first: the bucket
exists and the credentials may write there (a zero-byte probe object is put
and deleted under the collection's prefix). Any problem is the same one-line
:class:`~newsarchive.exceptions.StorageError` the uploader would raise
(exit 3), with few retries and short timeouts, so a wrong endpoint fails in
seconds.
"""

from __future__ import annotations

import logging
import uuid

from newsarchive.exceptions import StorageError

logger = logging.getLogger(__name__)

PROBE_PREFIX = ".newsarchive-write-check-"


def check_store(uri: str, endpoint_url: str | None = None, region: str | None = None) -> None:
    """Raise :class:`StorageError` unless ``uri`` (``s3://BUCKET/PREFIX``) is writable."""
    from botocore.exceptions import BotoCoreError, ClientError

    from newsarchive.store.s3 import make_client, safe_endpoint, split_s3_uri, storage_error

    bucket, prefix = split_s3_uri(uri)
    key = f"{prefix}/{PROBE_PREFIX}{uuid.uuid4().hex}" if prefix else (
        PROBE_PREFIX + uuid.uuid4().hex)
    endpoint = safe_endpoint(endpoint_url)
    client = make_client(endpoint_url=endpoint_url or None, region=region or None,
                         max_attempts=2, timeout=10, pool=1)
    try:
        client.head_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and exc.operation_name == "HeadBucket":
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                raise StorageError(
                    f"bucket {bucket!r} does not exist at {endpoint}: create it or fix the "
                    "s3:// URI (and --endpoint-url); nothing was fetched"
                ) from None
        raise storage_error(exc, where=f"s3://{bucket}/{key}", endpoint=endpoint,
                            fatal_network=True) from None
    try:
        client.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:  # writable is what counts
        logger.info("could not delete the write probe s3://%s/%s: %s", bucket, key, exc)

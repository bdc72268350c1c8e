"""S3 clients, and boto3's failures turned into one-line storage errors.

Every S3 call of newsarchive goes through a client made here: boto3's standard
credential chain, standard retries, path-style addressing for custom endpoints,
and SDK loggers kept at INFO so ``-vv`` never prints signed headers or bodies.
Credentials are never put in messages; endpoints are shown without user info.
"""

from __future__ import annotations

import functools
import logging
from typing import Any
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError, StorageError, TransientStorageError

logger = logging.getLogger(__name__)

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


def check_endpoint_url(value: str) -> str:
    """``value`` if it is a usable endpoint URL (``http(s)://host[:port][/path]``), else ConfigError."""
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok:
        raise ConfigError(
            f"endpoint URL {value.rpartition('@')[2][:80]!r} is not "
            "an http:// or https:// URL with a host (e.g. http://127.0.0.1:9000)"
        )
    return value


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
    if endpoint_url:
        check_endpoint_url(endpoint_url)
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


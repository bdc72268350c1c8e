"""DuckDB over the Parquet catalog, in place: a local folder or S3.

:func:`connect` returns a DuckDB connection with a view named ``catalog`` over
the catalogs of one or more collections. Local catalogs are read by DuckDB's
own Parquet reader; catalogs in S3 through a pyarrow dataset (pyarrow's S3
filesystem honours the same endpoint settings as boto3), because DuckDB's
``httpfs`` extension would have to be downloaded at run time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from newsarchive.exceptions import UserError
from newsarchive.index.collection import Collection

logger = logging.getLogger(__name__)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _s3_dataset(roots: Sequence[str]) -> Any:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    kwargs: dict[str, Any] = {}
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc
        kwargs["scheme"] = parts.scheme or "https"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region"] = region
    s3 = fs.S3FileSystem(**kwargs)
    partitioning = ds.partitioning(
        pa.schema([("collection", pa.string()), ("date", pa.date32())]), flavor="hive"
    )
    paths = [r.split("://", 1)[1] for r in roots]
    return ds.dataset(paths, filesystem=s3, format="parquet", partitioning=partitioning)


def connect(collections: Sequence[Collection]) -> Any:
    """A DuckDB connection with the view ``catalog`` over these collections' catalogs."""
    import duckdb

    con = duckdb.connect()
    local = [c for c in collections if not c.remote]
    remote = [c for c in collections if c.remote]
    selects = []
    files = [f for c in local for f in c.catalog_files()]
    if files:
        listed = ", ".join(_sql_str(f) for f in files)
        selects.append(
            f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
            "hive_types = {'collection': VARCHAR, 'date': DATE}, union_by_name = true)"
        )
    remote_files = [f for c in remote for f in c.catalog_files()]
    if remote_files:
        con.register("_remote_catalog", _s3_dataset(remote_files))
        selects.append("SELECT * FROM _remote_catalog")
    if not selects:
        names = ", ".join(c.root for c in collections)
        raise UserError(f"no catalog in {names}; run `newsarchive index COLLECTION` first")
    con.execute("CREATE VIEW catalog AS " + " UNION ALL BY NAME ".join(selects))
    return con


def run_query(collections: Sequence[Collection], sql: str) -> tuple[list[str], Any]:
    """Run ``sql``; return column names and a DuckDB result to fetch rows from."""
    import duckdb

    con = connect(collections)
    try:
        result = con.execute(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"query failed: {first}") from None
    columns = [d[0] for d in result.description or []]
    return columns, result

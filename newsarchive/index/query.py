"""DuckDB over the Parquet catalog, in place: a local folder or S3.

:func:`connect` returns a DuckDB connection with a view named ``catalog`` over
the catalogs of one or more collections, read through pyarrow datasets (for S3,
pyarrow's S3 filesystem honours the same endpoint settings as boto3; DuckDB's
``httpfs`` extension would have to be downloaded at run time).

The connection is read-only to the outside world, by DuckDB's own switches
rather than by parsing SQL: once the view is made, ``enable_external_access``
goes off (no file read or written by SQL -- ``COPY ... TO``, ``ATTACH``,
``read_csv('/etc/passwd')``, ``INSTALL``/``LOAD`` of extensions) and
``lock_configuration`` goes on (no ``SET`` turns it back). The catalog is
still read, through the registered datasets, which need no file access by SQL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from newsarchive.collection import Collection
from newsarchive.exceptions import UserError

logger = logging.getLogger(__name__)


def _dataset(paths: Sequence[str], filesystem: Any = None) -> Any:
    """One pyarrow dataset over catalog files, hive partitions ``collection`` and
    ``date``; the columns of every file, as DuckDB's ``union_by_name`` gives them."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    parts = pa.schema([("collection", pa.string()), ("date", pa.date32())])
    schema = pa.unify_schemas([*(pq.read_schema(p, filesystem=filesystem) for p in paths), parts],
                              promote_options="permissive")
    return ds.dataset(list(paths), filesystem=filesystem, format="parquet", schema=schema,
                      partitioning=ds.partitioning(parts, flavor="hive"))


def _s3_dataset(roots: Sequence[str]) -> Any:
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
    return _dataset([r.split("://", 1)[1] for r in roots], s3)


def sql_list(items: Sequence[str]) -> str:
    """``'a', 'b'``: strings as SQL literals, for an ``IN (...)`` or a list."""
    return ", ".join("'" + i.replace("'", "''") + "'" for i in items)


def connect(collections: Sequence[Collection], *, trusted: bool = False) -> Any:
    """A DuckDB connection with the view ``catalog`` over these collections' catalogs.

    ``trusted``: for SQL of our own (the report, ``status``, story clusters),
    never a user's. Local catalogs are then read by DuckDB's own Parquet reader,
    which streams a query's columns a row group at a time: the pyarrow dataset
    scanner reads ahead whole batches, so a report's queries held memory that
    grew with the collection (+69 MB at 100,000 captures against 2,000; DuckDB's
    reader +8 MB, ``benchmarks/README.md``). It is not the default because
    DuckDB can only read files by SQL with ``enable_external_access`` on, or
    with the files in ``allowed_paths``, which also lets SQL overwrite them
    (``COPY ... TO`` a catalog part): a user's query keeps the registered
    datasets and the read-only switches.
    """
    import duckdb

    con = duckdb.connect()
    local = [c for c in collections if not c.remote]
    remote = [c for c in collections if c.remote]
    selects = []
    files = [f for c in local for f in c.catalog_files()]
    if files and trusted:
        # Partition columns as _dataset types them; files of older versions lack
        # some columns: union_by_name gives them as NULL, as unify_schemas does.
        selects.append(f"SELECT * FROM read_parquet([{sql_list(files)}], union_by_name = true, "
                       "hive_partitioning = true, "
                       "hive_types = {'collection': VARCHAR, 'date': DATE})")
    elif files:
        con.register("_local_catalog", _dataset(files))
        selects.append("SELECT * FROM _local_catalog")
    remote_files = [f for c in remote for f in c.catalog_files()]
    if remote_files:
        con.register("_remote_catalog", _s3_dataset(remote_files))
        selects.append("SELECT * FROM _remote_catalog")
    if not selects:
        names = ", ".join(c.root for c in collections)
        raise UserError(f"no catalog in {names}; run `newsarchive index COLLECTION` first")
    con.execute("CREATE VIEW catalog AS " + " UNION ALL BY NAME ".join(selects))
    settings = ["enable_progress_bar = false"]  # DuckDB's own, on stderr
    if not trusted:
        settings += ["enable_external_access = false", "autoinstall_known_extensions = false",
                     "autoload_known_extensions = false", "lock_configuration = true"]
    for setting in settings:
        con.execute("SET " + setting)
    return con


def run_query(collections: Sequence[Collection], sql: str) -> tuple[list[str], Any]:
    """Run ``sql``; return column names and a DuckDB result to fetch rows from."""
    import duckdb

    con = connect(collections)
    try:
        result = con.execute(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in first:
            first += " (queries are read-only: no files, databases or extensions)"
        raise UserError(f"query failed: {first}") from None
    columns = [d[0] for d in result.description or []]
    return columns, result

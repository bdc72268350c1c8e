"""The Python API: a collection's articles as Arrow tables, for pandas, DuckDB, Polars.

::

    import newsarchive
    coll = newsarchive.open("demo-archive")            # or "s3://bucket/crawls/demo"
    table = coll.articles(since="2026-01-01", lang="en", latest=True)
    df = table.to_pandas()
    for sidecar in coll.sidecars(): ...
    catalog = coll.captures()                          # one row per capture

The CLI's ``export`` reads through the same functions
(:func:`newsarchive.export.tabular.select_tables`), so ``articles()`` and
``export`` give the same rows. ``docs/python-api.md`` documents the columns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from newsarchive.collection import Collection as Location
from newsarchive.exceptions import ConfigError
from newsarchive.export.columns import ALL_FIELDS, FIELDS, export_schema
from newsarchive.export.filters import ExportFilter
from newsarchive.export.views import View


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Collection:
    """An opened collection (folder or ``s3://`` store); see :func:`open_collection`."""

    location: Location

    @property
    def name(self) -> str:
        """The collection's name (its folder's or store prefix's last part)."""
        return self.location.name

    @property
    def root(self) -> str:
        """The folder path or ``s3://`` URI."""
        return self.location.root

    def articles(
        self,
        since: str | None = None,
        until: str | None = None,
        domain: str | Sequence[str] | None = None,
        lang: str | Sequence[str] | None = None,
        query: str | None = None,
        latest: bool = False,
        columns: Sequence[str] | None = None,
        *,
        date_field: str = "published",
        stories: str | None = None,
        prefer: str = "earliest",
    ) -> Any:
        """The articles passing the filters, as a ``pyarrow.Table``.

        ``since``/``until``: ``YYYY-MM-DD`` bounds on ``date_field`` (``published``
        or ``captured``); ``domain``: a site and its subdomains; ``lang``: a
        language (``en``, or a declared tag like ``en-US``); ``query``: words all
        found in the title or text; ``latest``: one row per URL, its latest
        capture; ``stories``: ``"dedupe"`` (one row per story, with ``also_at``)
        or ``"stories"`` (one row per story, with ``versions``); ``columns``: which
        columns, in order (default: all; see ``docs/export.md``).
        """
        import pyarrow as pa

        from newsarchive.export.tabular import select_tables

        flt = ExportFilter.build(since=since, until=until, date_field=date_field,
                                 domains=_names(domain), languages=_names(lang), query=query)
        view = View(latest=latest, stories=stories, prefer=prefer)
        names = list(columns) if columns else [*FIELDS, *([view.extra] if view.extra else [])]
        unknown = [c for c in names if c not in ALL_FIELDS]
        if unknown:
            raise ConfigError(f"columns: unknown {', '.join(unknown)}; choose from "
                              f"{', '.join(ALL_FIELDS)}")
        schema = export_schema(names)
        tables = [t.select(names).cast(schema) for t in select_tables(self.location, flt, view)]
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def sidecars(self) -> Iterator[dict[str, Any]]:
        """Every sidecar of the collection (articles and other pages), file by file."""
        from newsarchive.index.sidecars import iter_sidecars

        for uri in self.location.sidecar_files():
            yield from iter_sidecars(uri)

    def captures(self) -> Any:
        """The catalog: one row per capture (``pyarrow.Table``), with ``collection`` and
        ``date`` from its partitions."""
        from newsarchive.index.query import connect

        con = connect([self.location])
        return con.sql("SELECT * FROM catalog").to_arrow_table()


def open_collection(
    location: str | os.PathLike[str], *, endpoint_url: str | None = None, region: str | None = None
) -> Collection:
    """Open a collection folder or ``s3://`` store for reading.

    ``endpoint_url``/``region`` are for S3-compatible stores (MinIO, Ceph,
    moto); like the CLI's ``--endpoint-url``/``--region`` they become boto3's
    standard variables (``AWS_ENDPOINT_URL_S3``, ``AWS_REGION``) for this
    process, the one setting every S3 client here honours.
    """
    from types import SimpleNamespace

    from newsarchive.cli.common import apply_s3_options

    apply_s3_options(SimpleNamespace(endpoint_url=endpoint_url, region=region))
    return Collection(Location.open(location))

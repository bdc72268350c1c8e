"""Indexing: CDXJ indexes for replay and a Parquet catalog for queries.

Usage from other code::

    from newsarchive.collection import Collection
    coll = Collection.open("archive")            # or "s3://bucket/prefix/NAME"
    from newsarchive.index.cdxj import index_warc, iter_index
    index_warc(warc_path_or_uri, Path("out.cdxj")) -> int   # captures indexed
    from newsarchive.index.build import index_collection
    index_collection(coll) -> IndexReport         # every WARC + catalog
    from newsarchive.index.sidecars import iter_entries, iter_sidecars, read_sidecar
    from newsarchive.index.query import connect, run_query   # DuckDB, view `catalog`

During a crawl, :mod:`newsarchive.index.extension` does the same as files close.
"""

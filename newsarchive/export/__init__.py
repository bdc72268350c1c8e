"""Bulk export of a collection's articles: JSON Lines, CSV, Parquet and WACZ.

Usage from other code::

    from newsarchive.index.collection import Collection
    from newsarchive.export.filters import ExportFilter
    from newsarchive.export.tabular import export_rows, select_fields
    from newsarchive.export.wacz import export_wacz
    coll = Collection.open("archive")
    flt = ExportFilter.build(since="2026-01-01", domains=["example.com"], languages=["en"])
    export_rows(coll, "parquet", "out.parquet", flt, select_fields(None, False)) -> ExportReport
    export_wacz(coll, "subset.wacz", flt) -> WaczReport
    from newsarchive.export.rows import iter_articles     # rows, streaming
"""

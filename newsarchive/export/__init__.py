"""Bulk export of a collection's articles: JSON Lines, CSV, Parquet and WACZ.

Usage from other code (or use :mod:`newsarchive.api`, ``newsarchive.open()``)::

    from newsarchive.collection import Collection
    from newsarchive.export.filters import ExportFilter
    from newsarchive.export.views import View
    from newsarchive.export.tabular import export_rows, select_fields, select_tables
    from newsarchive.export.wacz import export_wacz
    coll = Collection.open("archive")
    flt = ExportFilter.build(since="2026-01-01", domains=["example.com"], languages=["en"])
    view = View(latest=True)                      # or View(stories="dedupe")
    export_rows(coll, "parquet", "out.parquet", flt, select_fields(None, view), view=view)
    for table in select_tables(coll, flt, view): ...   # Arrow tables, streaming
    export_wacz(coll, "subset.wacz", flt) -> WaczReport
"""

"""The export's columns (defined in :mod:`newsarchive.index.columns`, where the catalog
stores export rows too): names, order and Arrow types, one place for every format."""

from newsarchive.index.columns import ALL_FIELDS, FIELDS, VIEW_FIELDS, arrow_types, export_schema

__all__ = ["ALL_FIELDS", "FIELDS", "VIEW_FIELDS", "arrow_types", "export_schema"]

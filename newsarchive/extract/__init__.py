"""Clean-text extraction: one HTML page in, one sidecar dict out.

Usage::

    from newsarchive.extract import extract_sidecar
    sidecar = extract_sidecar(body, url, content_type=..., capture=..., fetched_at=...)

The stages live in their own modules (decode, metadata, boilerplate, story,
fingerprint) and are assembled in :mod:`newsarchive.extract.sidecar`.
"""

from __future__ import annotations

from newsarchive.extract.sidecar import extract_sidecar, schema, validate

__all__ = ["extract_sidecar", "schema", "validate"]

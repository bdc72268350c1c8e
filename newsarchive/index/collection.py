"""Moved to :mod:`newsarchive.collection`; this name is kept for code written before the move."""

from newsarchive.collection import *  # noqa: F403
from newsarchive.collection import Collection, warc_stem

__all__ = ["Collection", "warc_stem"]

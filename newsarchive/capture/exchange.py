"""Moved to :mod:`newsarchive.fetch.exchange` (an exchange is what a fetch produced);
this name is kept for code written before the move."""

from newsarchive.fetch.exchange import Exchange

__all__ = ["Exchange"]

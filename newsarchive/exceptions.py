"""Every error newsarchive raises on purpose.

A :class:`UserError` is a mistake a user can fix (a bad URL, a missing file,
an unreachable bucket); the CLI prints its message as one line and exits with
:attr:`UserError.exit_code`, never with a traceback. Anything else is a bug and
keeps its traceback in the log.
"""

from __future__ import annotations


class NewsarchiveError(Exception):
    """Base class of newsarchive's own exceptions."""


class UserError(NewsarchiveError):
    """A problem the user can fix; the message says what and how, in one line."""

    exit_code = 2


class ConfigError(UserError):
    """A bad setting, site file or command-line option."""


class BusyError(UserError):
    """What the command would work on is in use by another run (a crawl's collection)."""


class WarcError(UserError):
    """A WARC file that is truncated, corrupt or not a WARC at all."""

    exit_code = 1


class StorageError(UserError):
    """A store that cannot be reached or written: bucket, credentials, disk."""

    exit_code = 3


class TransientStorageError(StorageError):
    """A storage failure that may pass on retry: throttling, 5xx, a dropped connection."""


class ExtractionError(UserError):
    """A page that cannot be turned into a sidecar (not HTML, unreadable)."""

    exit_code = 1

"""Helpers shared by CLI verbs: output, JSON, URL checks."""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError


def print_json(data: Any) -> None:
    """Machine output for ``--json``: one JSON document on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def check_url(url: str) -> str:
    """An absolute http(s) URL, or a one-line :class:`ConfigError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{url!r} is not a URL to crawl; give an absolute http:// or https:// URL "
            "(or a site file ending in .yaml)"
        )
    return url

"""Credentials for a site: headers, cookies and HTTP basic auth from environment variables.

A site file's ``credentials:`` section (``docs/site-file.md``) becomes the
settings ``CREDENTIALS_HEADERS``, ``CREDENTIALS_COOKIES``,
``CREDENTIALS_BASIC_AUTH`` and ``CREDENTIALS_HOSTS``. Their values are
*templates*: ``"Bearer ${NEWS_TOKEN}"``. The secret itself lives only in the
environment; :class:`CredentialsMiddleware` expands the templates when the
crawl starts, so settings, site files and run records never hold it.

The middleware sends the credentials only to the site's own hosts (and their
subdomains), and takes them off a request that leaves them (a redirect
elsewhere, an embed on a CDN). What it sends is never archived: the WARC
writer redacts these headers (:class:`Redaction`, below),
and a log filter replaces their values -- and those of secret headers set in
``DEFAULT_REQUEST_HEADERS`` -- in every log line.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from newsarchive.discover.credentials import VARIABLE, expand, variables
from newsarchive.exceptions import ConfigError

__all__ = ["VARIABLE", "expand", "variables"]  # the site file's templates (discover.credentials)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)

#: what a secret is replaced with in log lines
HIDDEN = "[secret]"
#: values shorter than this are not scrubbed from logs (they would match everywhere)
MIN_SECRET = 4


#: request headers redacted by default (WARC_REDACT_HEADERS)
DEFAULT_REDACTED = ("Authorization", "Cookie", "Proxy-Authorization")


@dataclass(frozen=True)
class Redaction:
    """Which HTTP header values are replaced by :data:`REDACTED` in records.

    ``request``: lower-case names of request headers (``WARC_REDACT_HEADERS``
    plus every header a site file's credentials set); ``response``: of
    response headers (``Set-Cookie`` when ``WARC_REDACT_SET_COOKIE``).
    """

    request: frozenset[str] = frozenset(n.lower() for n in DEFAULT_REDACTED)
    response: frozenset[str] = frozenset()

    @classmethod
    def of(cls, request: Iterable[str] = DEFAULT_REDACTED, set_cookie: bool = False) -> Redaction:
        """Redact the ``request`` header names, and ``Set-Cookie`` if asked."""
        names = {n.strip().lower() for n in request if n.strip()}
        return cls(frozenset(names), frozenset({"set-cookie"} if set_cookie else ()))

    @classmethod
    def from_settings(cls, settings: Any) -> Redaction:
        """From ``WARC_REDACT_HEADERS`` and ``WARC_REDACT_SET_COOKIE``, plus the headers
        the ``CREDENTIALS_*`` settings send, whatever the list says."""
        names = [*settings.getlist("WARC_REDACT_HEADERS"),
                 *settings.getdict("CREDENTIALS_HEADERS")]
        if settings.get("CREDENTIALS_BASIC_AUTH"):
            names.append("Authorization")
        if settings.getdict("CREDENTIALS_COOKIES"):
            names.append("Cookie")
        return cls.of(names, settings.getbool("WARC_REDACT_SET_COOKIE"))


class SecretFilter(logging.Filter):
    """Replaces the given secret values in log records with :data:`HIDDEN`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` without the secrets."""
        for secret in self.secrets:
            text = text.replace(secret, HIDDEN)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message (and traceback) if it holds a secret."""
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def install_filter(secrets: Iterable[str]) -> SecretFilter | None:
    """Put a :class:`SecretFilter` on every handler of the root logger (where Scrapy's
    log file and the console handler sit); None when there is nothing to hide."""
    log_filter = SecretFilter(secrets)
    if not log_filter.secrets:
        return None
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_filter)
    return log_filter


def _in_scope(host: str, hosts: Iterable[str]) -> bool:
    return any(host == h or host.endswith("." + h) for h in hosts)


class CredentialsMiddleware:
    """Adds the site's credentials to requests for its hosts (``CREDENTIALS_*``)."""

    def __init__(self, headers: dict[str, str], cookies: dict[str, str], hosts: list[str],
                 *, use_cookie_jar: bool = True) -> None:
        self.headers = headers
        self.cookies = cookies
        self.hosts = [h.lower().lstrip(".") for h in hosts]
        self.use_cookie_jar = use_cookie_jar

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CredentialsMiddleware:
        """Expand the templates from the environment; install the log filter."""
        s = crawler.settings
        secrets = _default_header_secrets(s)
        templates = s.getdict("CREDENTIALS_HEADERS")
        cookie_templates = s.getdict("CREDENTIALS_COOKIES")
        basic = s.getdict("CREDENTIALS_BASIC_AUTH")
        if not (templates or cookie_templates or basic):
            install_filter(secrets)
            raise NotConfigured  # no credentials (switched off on purpose: no console warning)
        env = os.environ
        headers = {name: expand(str(t), env, f"CREDENTIALS_HEADERS[{name}]")
                   for name, t in templates.items()}
        cookies = {name: expand(str(t), env, f"CREDENTIALS_COOKIES[{name}]")
                   for name, t in cookie_templates.items()}
        secrets += [*headers.values(), *cookies.values()]
        if basic:
            user = expand(str(basic.get("user", "")), env, "CREDENTIALS_BASIC_AUTH user")
            password = expand(str(basic.get("password", "")), env,
                              "CREDENTIALS_BASIC_AUTH password")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
            secrets += [password, token]
        hosts = s.getlist("CREDENTIALS_HOSTS")
        if not hosts:
            raise ConfigError("CREDENTIALS_HOSTS is empty: name the hosts the credentials "
                              "are for (a site file does it for you)")
        install_filter(secrets)
        return cls(headers, cookies, hosts, use_cookie_jar=s.getbool("COOKIES_ENABLED"))

    def process_request(self, request: Request, spider: Any = None) -> None:
        """Add the credentials for the site's hosts; remove them from any other request."""
        from scrapy.utils.httpobj import urlparse_cached

        host = (urlparse_cached(request).hostname or "").lower()
        if _in_scope(host, self.hosts):
            for name, value in self.headers.items():
                request.headers[name] = value
            if self.cookies:
                if self.use_cookie_jar:  # CookiesMiddleware (700) keeps the site's own cookies too
                    if isinstance(request.cookies, dict):
                        request.cookies = {**self.cookies, **request.cookies}
                    else:
                        request.cookies = [*({"name": k, "value": v}
                                             for k, v in self.cookies.items()),
                                           *request.cookies]
                else:
                    request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in
                                                          self.cookies.items())
            return
        # A redirect keeps the headers of the request it came from: not ours to give away.
        for name, value in self.headers.items():
            if request.headers.get(name) == value.encode("latin-1", "replace"):
                del request.headers[name]


def _default_header_secrets(settings: Any) -> list[str]:
    """Values of ``DEFAULT_REQUEST_HEADERS`` that the WARC writer redacts: secrets too."""
    redacted = Redaction.from_settings(settings).request
    found = []
    for name, value in settings.getdict("DEFAULT_REQUEST_HEADERS").items():
        if str(name).lower() in redacted and value:
            found.append(str(value))
            if str(name).lower() == "cookie":  # each cookie value is a secret on its own
                found += [part.split("=", 1)[1].strip() for part in str(value).split(";")
                          if "=" in part]
    return found

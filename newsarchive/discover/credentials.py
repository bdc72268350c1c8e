"""The ``credentials:`` section of a site file: headers, cookies, HTTP basic auth.

Every secret value is a template naming an environment variable
(``"Bearer ${NEWS_TOKEN}"``): a literal secret is refused, so site files --
often kept in git, always copied around -- never hold one. The crawl gets the
templates as ``CREDENTIALS_*`` settings and expands them when it starts
(:mod:`newsarchive.fetch.credentials`); :meth:`Credentials.settings` checks
first that every variable is set, so a missing one is a one-line error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsarchive.exceptions import ConfigError

if TYPE_CHECKING:
    from newsarchive.discover.site import _Located

CREDENTIAL_KEYS = ("headers", "cookies", "basic_auth", "hosts")
BASIC_AUTH_KEYS = ("user", "password")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


#: ``${NAME}`` in a credentials template: the environment variable holding a secret
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables(template: str) -> list[str]:
    """The environment variables ``${NAME}`` a template names."""
    return VARIABLE.findall(template)


def expand(template: str, env: Mapping[str, str], where: str) -> str:
    """The template with each ``${NAME}`` replaced by its environment value.

    A variable that is not set is a :class:`ConfigError` naming it and
    ``where`` it is used -- never the value of anything.
    """
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError(f"{where}: environment variable {name} is not set; export it "
                              "before the crawl (site files hold no secrets)")
        return env[name]

    return VARIABLE.sub(value, template)


@dataclass(frozen=True)
class Credentials:
    """What the crawl sends to the site's hosts; values are ``${ENV_VAR}`` templates."""

    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    user: str | None = None
    password: str | None = None
    hosts: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.headers or self.cookies or self.password is not None)

    def templates(self) -> list[tuple[str, str]]:
        """(where, template) of every value, for checking the environment."""
        out = [(f"credentials.headers.{k}", v) for k, v in self.headers]
        out += [(f"credentials.cookies.{k}", v) for k, v in self.cookies]
        out += [(f"credentials.basic_auth.{k}", v) for k, v in
                (("user", self.user), ("password", self.password)) if v is not None]
        return out

    def settings(self, path: Path, site_hosts: tuple[str, ...]) -> dict[str, Any]:
        """``CREDENTIALS_*`` settings: the templates, once every variable they name is set.

        ``site_hosts`` are where the credentials go unless ``hosts`` says otherwise.
        """
        if not self:
            return {}
        for where, template in self.templates():
            expand(template, os.environ, f"{path}: {where}")  # fails on a missing variable
        out: dict[str, Any] = {
            "CREDENTIALS_HEADERS": dict(self.headers),
            "CREDENTIALS_COOKIES": dict(self.cookies),
            "CREDENTIALS_HOSTS": list(self.hosts or site_hosts),
        }
        if self.password is not None:
            out["CREDENTIALS_BASIC_AUTH"] = {"user": self.user or "", "password": self.password}
        return out


def _secret(sec: _Located, key: str, where: str) -> str:
    """A value that must take its secret from the environment: ``"... ${ENV_VAR} ..."``.

    The value is never quoted in a message: it may be the secret, written by mistake.
    """
    value = sec.values[key]
    if not isinstance(value, str) or not variables(value):
        sec.fail(sec.lines[key], f"{where}: take the value from an environment variable, "
                 "e.g. \"Bearer ${NEWS_TOKEN}\"; site files hold no secrets")
    return str(value)


def _credential_map(cred: _Located, key: str) -> tuple[tuple[str, str], ...]:
    from newsarchive.discover.site import quote

    sec = cred.section(key)
    if sec is None:
        return ()
    out = []
    for name in sec.values:
        if not HEADER_NAME_RE.match(name):
            sec.fail(sec.lines[name], f"credentials.{key}: {quote(name)} is not a valid name")
        out.append((name, _secret(sec, name, f"credentials.{key}.{name}")))
    return tuple(out)


def parse_credentials(doc: _Located) -> Credentials:
    """The ``credentials:`` section of a located site file (empty when absent)."""
    from newsarchive.discover.site import _domains, _text

    cred = doc.section("credentials")
    if cred is None:
        return Credentials()
    cred.check_keys(CREDENTIAL_KEYS, "credentials.")
    headers = _credential_map(cred, "headers")
    user = password = None
    basic = cred.section("basic_auth")
    if basic is not None:
        basic.check_keys(BASIC_AUTH_KEYS, "credentials.basic_auth.")
        if "password" not in basic.values:
            basic.fail(basic.line, "credentials.basic_auth: give user and password")
        user = basic.get("user", _text, default="")
        password = _secret(basic, "password", "credentials.basic_auth.password")
        if any(name.lower() == "authorization" for name, _ in headers):
            basic.fail(basic.line, "credentials: basic_auth and an Authorization header "
                       "both set Authorization; keep one")
    hosts = _domains(cred, "hosts", "credentials.hosts")
    return Credentials(headers=headers, cookies=_credential_map(cred, "cookies"), user=user,
                       password=password, hosts=hosts)

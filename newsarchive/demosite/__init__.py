"""The bundled demo news site: a real HTTP server on loopback for the demo, tests and benchmarks.

``DemoSite(host="127.0.0.1", port=0, articles=60, day=1)`` serves a
deterministic news site (home, section fronts, robots.txt, sitemaps, feeds,
articles in three templates with ads and related rails, and one URL per
special HTTP behaviour; see :mod:`newsarchive.demosite.site`) and records what
it served. Modules: ``vocabulary`` and ``content`` (the articles),
``templates`` with ``classic``, ``divsoup`` and ``portal`` (article pages),
``layout`` and ``pages`` (the other pages), ``assets`` (PNG, PDF, CSS),
``site`` (the route table and the truth), ``server`` (HTTP).
"""

from newsarchive.demosite.content import Article
from newsarchive.demosite.server import DemoSite, SeenRequest
from newsarchive.demosite.site import PageInfo

__all__ = ["Article", "DemoSite", "PageInfo", "SeenRequest"]

"""Discover: where article URLs come from -- robots.txt, sitemaps, feeds, links."""

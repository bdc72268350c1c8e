"""Replay with pywb: the collection's captures in a browser, isolated from the live web.

Usage from other code::

    from newsarchive.collection import Collection
    from newsarchive.replay.setup import ReplayOptions, prepare
    from newsarchive.replay.runner import serve
    serve(Collection.open("archive"), ReplayOptions(port=8080), on_ready=print) -> int

Two origins: the replay port (pywb + :mod:`~newsarchive.replay.isolation`) runs
archived code; the admin port (:mod:`~newsarchive.replay.sidecar_page`) shows
sidecars and never runs archived code.
"""

"""``python -m newsarchive`` is the ``newsarchive`` command."""

from newsarchive.cli.main import run

run()

"""The ``newsarchive`` command line: one module per verb.

Each module ``newsarchive/cli/<verb>.py`` defines ``register(subparsers)``,
which adds its sub-command and sets ``func`` to a callable taking the parsed
arguments and returning the exit code. :mod:`newsarchive.cli.main` finds the
modules itself, so adding a verb means adding a module.
"""

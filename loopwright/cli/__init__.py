"""The ``loopwright`` command: parser, one module per command group, output helpers.

Only this package prints to stdout; nothing below it imports it."""

from .commands import main

__all__ = ["main"]

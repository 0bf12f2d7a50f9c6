"""Output helpers of the ``loopwright`` command: the only place that writes to stdout."""

from __future__ import annotations


def out(text: str = "") -> None:
    """One line to stdout, flushed (a pipe reader sees it at once)."""
    print(text, flush=True)

"""Waking a paused run before its usage limit resets (``loopwright resume``).

A run-host process wakes on ``WAKE_SIGNAL`` and says so in its status (``wake_signal``).
A run driven on a thread of this process registers its waker here instead: a signal
would reach the whole process, whose default for ``SIGUSR1`` is to die.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

WAKE_SIGNAL = signal.SIGUSR1
_WAKERS: dict[str, Callable[[], bool]] = {}


@contextlib.contextmanager
def registered(run_id: str, wake: Callable[[], bool]) -> Iterator[None]:
    """``wake_here(run_id)`` calls ``wake`` while this context is open."""
    _WAKERS[run_id] = wake
    try:
        yield
    finally:
        if _WAKERS.get(run_id) is wake:
            del _WAKERS[run_id]


def driven_here(run_id: str) -> bool:
    return run_id in _WAKERS


def wake_here(run_id: str) -> bool:
    """Wake ``run_id`` if this process drives it; False when it does not or none waits."""
    wake = _WAKERS.get(run_id)
    return wake() if wake is not None else False

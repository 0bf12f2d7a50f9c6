"""A run and the memory store (``loopwright.memory``): the ``Memory`` its loop is handed,
and its lesson, written when it ends. Memory never fails a run: a store that cannot be
read recalls nothing (said in the ``memory_recalled`` event), one that cannot be written
is said in a ``warning``."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from ..loop.types import RunResult
from ..loop.vocab import Event
from ..memory.recall import StoreMemory
from ..memory.record import record_of, repo_key
from ..memory.store import FILE_NAME, MemoryStore
from .eventlog import read_events
from .request import RunRequest
from .store import RunStore

__all__ = ["all_events", "memory_for", "remember"]


def _store(store: RunStore) -> MemoryStore:
    return MemoryStore(store.home / FILE_NAME, store.redact)


def memory_for(store: RunStore, run_id: str, request: RunRequest) -> StoreMemory | None:
    """What the loop of ``run_id`` recalls from (None: ``memory off``, or not a loop)."""
    if request.memory == "off" or request.pattern != "loop":
        return None
    repo = repo_key(request.model_dump(include={"repo", "loop"}), {})
    return StoreMemory(_store(store), repo, request.memory, exclude=run_id)


def all_events(store: RunStore, run_id: str) -> Iterator[Event]:
    """Every event of ``run_id``, in order (read a page at a time)."""
    cursor: str | None = None
    while True:
        page = read_events(store.paths(run_id).events, cursor, limit=5000)
        yield from page.events
        if not page.more:
            return
        cursor = page.cursor


def remember(store: RunStore, run_id: str, request: RunRequest, result: RunResult) -> str | None:
    """Write the memory of the ended run ``run_id``; returns why it could not be, or None.
    A ``memory off`` run, a pattern's run and one waiting for answers are not written."""
    if request.memory == "off" or request.pattern != "loop" or result.state == "needs_input":
        return None
    data: dict[str, Any] = request.model_dump(include={"repo", "loop"})
    memory = _store(store)
    try:
        events = all_events(store, run_id)
        memory.put(record_of(run_id, data, events, result.model_dump(), time.time()))
    except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as exc:
        return f"this run's lesson was not written to memory: {type(exc).__name__}: {exc}"
    finally:
        memory.close()
    return None

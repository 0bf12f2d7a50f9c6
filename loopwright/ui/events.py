"""A run's events for the page: the newest first, older ones on demand, then live ones
as server-sent events that resume from a cursor.

Cursors are ``eventlog``'s byte offsets (the offset just past a complete line). Each SSE
message carries a batch of events with the cursor after it as its ``id``, so a browser
that reconnects sends it back as ``Last-Event-ID`` and gets exactly what followed. Reading
costs O(what is sent), whatever the size of the log.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import anyio
import orjson

from ..errors import UserError
from ..loop.vocab import TERMINAL_STATES, Event
from ..runs import runner
from ..runs.eventlog import CHUNK, parse_cursor, read_events
from ..runs.store import RunStore

__all__ = ["BATCH", "TAIL", "check_cursor", "event_page", "events_before", "sse"]

TAIL = 200
"""Events a page starts with: the newest ones."""
BATCH = 500
"""Events per SSE message at most."""
POLL = 0.25
KEEPALIVE = 15.0
STREAM_SECONDS = 600.0
"""A stream ends after this; the browser reconnects from its cursor (``retry``)."""


def _decode(lines: list[bytes]) -> list[Event]:
    out: list[Event] = []
    for line in lines:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict):
            out.append(cast(Event, event))
    return out


def events_before(path: Path, end: str | None, count: int) -> tuple[list[Event], int, int]:
    """The last ``count`` complete events before the cursor ``end`` (the log's end when
    None), read backwards; returns them, the cursor where they start and where they end."""
    asked = None if end is None else parse_cursor(end)
    try:
        with open(path, "rb") as f:
            return _backwards(f, asked, count)
    except FileNotFoundError:
        if asked:
            raise UserError(f"cursor {asked} is past the end of the log", "before") from None
        return [], 0, 0


def _backwards(f: BinaryIO, asked: int | None, count: int) -> tuple[list[Event], int, int]:
    size = os.fstat(f.fileno()).st_size
    if asked is not None and asked > size:
        raise UserError(f"cursor {asked} is past the end of the log", "before")
    pos = size if asked is None else asked
    buf = b""
    while pos > 0 and buf.count(b"\n") <= count:
        step = min(CHUNK, pos)
        pos -= step
        f.seek(pos)
        buf = f.read(step) + buf
    last = buf.rfind(b"\n")
    if last < 0:
        return [], pos, pos
    lines = buf[:last].split(b"\n")
    if pos > 0:
        lines = lines[1:]  # may be the end of a line that began before ``pos``
    taken = lines[-count:] if count else []
    finish = pos + last + 1
    return _decode(taken), finish - sum(len(line) + 1 for line in taken), finish


def check_cursor(path: Path, cursor: str) -> int:
    """``cursor`` as an offset within the log (``UserError`` naming ``cursor`` if not)."""
    offset = parse_cursor(cursor)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    if offset > size:
        raise UserError(f"cursor {offset} is past the end of the log", "cursor")
    return offset


def _message(cursor: int | str, start: int | str, events: list[Event]) -> bytes:
    data = orjson.dumps({"start": str(start), "cursor": str(cursor), "events": events},
                        default=str)  # fmt: skip
    return b"id: " + str(cursor).encode() + b"\ndata: " + data + b"\n\n"


async def sse(
    store: RunStore, run_id: str, cursor: str | None, stream_seconds: float = STREAM_SECONDS
) -> AsyncIterator[bytes]:
    """The SSE body: from ``cursor`` (else the newest ``TAIL`` events), then new events as
    they are appended, until the run has ended and all is sent (an ``end`` event). When the
    client goes away, Starlette's ``StreamingResponse`` cancels it."""
    path = store.existing(run_id).events
    yield b"retry: 2000\n\n"
    if cursor is None:
        events, start, end = await anyio.to_thread.run_sync(events_before, path, None, TAIL)
        yield _message(end, start, events)
        offset = str(end)
    else:
        offset = str(parse_cursor(cursor))
    deadline = time.monotonic() + stream_seconds
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        page = await anyio.to_thread.run_sync(read_events, path, offset, BATCH)
        if page.events:
            yield _message(page.cursor, offset, page.events)
            offset, quiet_since = page.cursor, time.monotonic()
            continue
        state = (await anyio.to_thread.run_sync(runner.refresh, store, run_id))["state"]
        if state in TERMINAL_STATES:  # needs_input and interrupted may go on: keep watching
            last = await anyio.to_thread.run_sync(read_events, path, offset, BATCH)
            if not last.events:  # what the host wrote before it ended is all sent
                yield b"event: end\ndata: " + json.dumps({"state": state}).encode() + b"\n\n"
                return
            continue
        if time.monotonic() - quiet_since > KEEPALIVE:
            yield b": keepalive\n\n"
            quiet_since = time.monotonic()
        await anyio.sleep(POLL)


def event_page(path: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON API's page: ``cursor`` reads forward from it, ``before`` backward from it,
    neither gives the newest ``limit``."""
    limit = int(params.get("limit", TAIL))
    if params.get("cursor") is not None:
        page = read_events(path, params["cursor"], limit)
        return {"events": page.events, "cursor": page.cursor, "more": page.more}
    events, start, end = events_before(path, params.get("before"), limit)
    return {"events": events, "start": str(start), "cursor": str(end), "more": start > 0}

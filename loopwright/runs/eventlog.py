"""Append-only JSONL event log, and readers with byte-offset cursors.

Reading new events costs O(new bytes): a cursor is the byte offset just past the last
complete line a reader consumed. An unterminated last line (a writer mid-append, or a
crash) is never returned and never consumed; a complete line that is not JSON is skipped.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from ..errors import UserError
from ..fsmodes import open_nofollow
from ..loop.vocab import Event, EventType
from .diskspace import writing
from .redact import Redactor

CHUNK = 64 * 1024
_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


class EventWriter:
    """Appends events; each ``append`` is one ``write(2)`` on an O_APPEND descriptor."""

    def __init__(self, path: Path, run_id: str, redactor: Redactor | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.redact = redactor or Redactor([])
        self._fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self.seq = self._next_seq()
        self.unsynced = False
        self._lock = threading.Lock()  # a run-host's start-up thread may append too

    def _next_seq(self) -> int:
        size = os.fstat(self._fd).st_size
        if size == 0:
            return 0
        with _open_read(self.path) as f:
            f.seek(max(0, size - CHUNK))
            tail = f.read()
        if not tail.endswith(b"\n"):
            with writing(self.path):  # end a torn line so it cannot glue onto ours
                os.write(self._fd, b"\n")
        for line in reversed(tail.splitlines()):
            try:
                return int(orjson.loads(line)["seq"]) + 1
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return 0

    def append(self, type: EventType, iteration: int, data: dict[str, Any]) -> Event:
        with self._lock:
            return self._append(type, iteration, data)

    def _append(self, type: EventType, iteration: int, data: dict[str, Any]) -> Event:
        event: Event = {
            "seq": self.seq,
            "ts": round(time.time(), 3),
            "run_id": self.run_id,
            "type": type,
            "iteration": iteration,
            "data": data,
        }
        payload = self.redact.bytes(orjson.dumps(event, default=str, option=_OPTS))
        with writing(self.path):
            self._write_whole(payload)
        self.seq += 1
        self.unsynced = True
        return event

    def _write_whole(self, payload: bytes) -> None:
        """All of ``payload`` or none of it: a failed append (a full disk) is cut back to
        the last whole line, so readers and the next append never meet a torn one."""
        written = 0
        try:
            while written < len(payload):
                written += os.write(self._fd, payload[written:])
        except BaseException:
            if written:  # O_APPEND: the offset is the end of what we wrote
                os.ftruncate(self._fd, os.lseek(self._fd, 0, os.SEEK_CUR) - written)
            raise

    def sync(self) -> None:
        if self.unsynced:
            with writing(self.path):  # some file systems find out only now
                os.fsync(self._fd)
            self.unsynced = False

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


@dataclass
class Page:
    events: list[Event] = field(default_factory=list)
    cursor: str = "0"
    more: bool = False


def _open_read(path: Path) -> BinaryIO:
    """The log for reading; a symbolic link (as the log or its run dir) is an ``OSError``."""
    return os.fdopen(open_nofollow(path, os.O_RDONLY), "rb")


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not isinstance(cursor, str) or not cursor.isdigit() or len(cursor) > 18:
        raise UserError(f"cursor {str(cursor)[:40]!r} is not a cursor from this log", "cursor")
    return int(cursor)


def _decode(lines: list[bytes], out: list[Event]) -> None:
    for line in lines:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict):  # our own records: not validated on the read path
            out.append(cast(Event, event))


def read_events(path: Path, cursor: str | None = None, limit: int = 200) -> Page:
    """Events after ``cursor`` (at most ``limit``), the cursor after them, and ``more``."""
    offset = parse_cursor(cursor)
    try:
        with _open_read(path) as f:
            return _read_from(f, offset, limit)
    except FileNotFoundError:
        return Page(cursor=str(offset))


def _read_from(f: BinaryIO, offset: int, limit: int) -> Page:
    if offset > os.fstat(f.fileno()).st_size:
        raise UserError(f"cursor {offset} is past the end of the log", "cursor")
    f.seek(offset)
    buf = b""
    lines: list[bytes] = []
    while len(lines) < limit:
        chunk = f.read(CHUNK)
        if not chunk:
            break
        buf += chunk
        *complete, buf = buf.split(b"\n")
        lines.extend(complete)
    more = len(lines) > limit or (len(lines) == limit and b"\n" in buf + f.read(CHUNK))
    lines = lines[:limit]
    page = Page(cursor=str(offset + sum(len(line) + 1 for line in lines)), more=more)
    _decode(lines, page.events)
    return page


def read_last(path: Path, count: int) -> Page:
    """The last ``count`` complete events, reading backwards from the end: O(count)."""
    try:
        with _open_read(path) as f:
            pos = os.fstat(f.fileno()).st_size
            buf = b""
            while pos > 0 and buf.count(b"\n") <= count:
                step = min(CHUNK, pos)
                pos -= step
                f.seek(pos)
                buf = f.read(step) + buf
    except FileNotFoundError:
        return Page()
    complete_end = buf.rfind(b"\n")
    if complete_end < 0:
        return Page(cursor=str(pos))
    lines = buf[:complete_end].split(b"\n")
    if pos > 0:
        lines = lines[1:]  # the first piece may be a partial line
    page = Page(cursor=str(pos + complete_end + 1))
    _decode(lines[-count:] if count else [], page.events)
    return page

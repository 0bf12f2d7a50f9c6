"""A command's output as loopwright keeps it (capped in memory, handed over line by line)
and the results runners return."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CAP",
    "MAX_LINE",
    "CappedText",
    "Completed",
    "LineCallback",
    "Piece",
    "ProcessResult",
    "pump",
]

DEFAULT_CAP = 256 * 1024
MAX_LINE = 65536
"""Past this many bytes without a newline, ``on_line`` gets the line in pieces."""

LineCallback = Callable[[str], None]


class Piece(str):
    """What ``on_line`` gets for a part of a line longer than ``max_line``: the line goes
    on in the next call (a piece, or the line's end as a plain ``str``). A writer that
    puts the newline back adds none after a piece, so the line stays whole on disk."""

    __slots__ = ()


class CappedText:
    """Keeps the first quarter and the last three quarters of ``cap`` bytes of a stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.cap // 4 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        excess = len(self.tail) - (self.cap - self.cap // 4)
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes cut ...]\n{tail}"
        return head + tail


async def pump(
    stream: asyncio.StreamReader,
    buf: CappedText,
    on_line: LineCallback | None,
    seen: list[float] | None = None,
    max_line: int = MAX_LINE,
) -> None:
    """Read ``stream`` to its end into ``buf``, each line to ``on_line`` (without its
    newline; a line longer than ``max_line`` bytes as ``Piece``s of ``max_line`` bytes,
    cut between characters); ``seen[0]`` is the monotonic time of the last chunk (for an
    idle timeout)."""
    pending = bytearray()
    while chunk := await stream.read(65536):
        if seen is not None:
            seen[0] = time.monotonic()
        buf.add(chunk)
        if on_line is None:
            continue
        pending += chunk
        if b"\n" in chunk:  # split only then: a long line costs no quadratic re-splitting
            *lines, rest = pending.split(b"\n")
            for line in lines:
                on_line(line.decode("utf-8", "replace"))
            pending = bytearray(rest)
        while len(pending) > max_line:  # a huge unterminated line: hand it over in pieces
            cut = _char_start(pending, max_line)
            on_line(Piece(pending[:cut].decode("utf-8", "replace")))
            del pending[:cut]
    if pending and on_line is not None:
        on_line(pending.decode("utf-8", "replace"))


def _char_start(data: bytearray, at: int) -> int:
    """``at``, moved back to the start of the UTF-8 character it falls in."""
    cut = at
    while cut > at - 3 and data[cut] & 0xC0 == 0x80:  # a continuation byte
        cut -= 1
    return cut


@dataclass
class ProcessResult:
    """How a command of ``ProcessRunner.run`` ended: stdout and stderr merged and capped."""

    argv: list[str]
    exit_code: int | None
    output: str
    timed_out: bool
    duration: float
    truncated: bool
    idle_timed_out: bool = False
    """Stopped because it printed nothing for ``idle_timeout`` seconds (``timed_out`` too)."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class Completed:
    """How a command of ``ProcessRunner.run_sync`` ended: stdout and stderr apart, whole
    (the attribute names of ``subprocess.CompletedProcess``)."""

    argv: list[str]
    returncode: int | None
    """None when it was killed for its timeout."""
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    duration: float = 0.0

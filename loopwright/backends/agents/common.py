"""What every stream reader shares: the outcome, the event reporter, capped text, the base.

Readers keep bounded state (a capped final answer, a short tail of stray lines), so a
worker that prints a gigabyte costs no memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...config import PREVIEW_CHARS
from ..base import Emit, UsageLimit

MAX_EVENTS = 400
"""Events one call may add to the run's log (a flood gets one note, not a million lines)."""
MAX_TEXT = 256 * 1024
"""The final answer kept per call (planner and reviewer replies are far smaller)."""
TAIL_LINES = 30


@dataclass
class Outcome:
    ok: bool
    text: str
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    model: str | None = None
    turns: int | None = None
    edits: list[str] = field(default_factory=list)
    usage_limit: UsageLimit | None = None
    """A subscription usage limit with its reset time (the run pauses until then)."""


class Reporter:
    """Adds ``worker_output`` events (kind: message, tool_use, file_edit, command, denied,
    warning, output), at most ``MAX_EVENTS`` per call."""

    def __init__(self, emit: Emit | None, limit: int = MAX_EVENTS) -> None:
        self.emit = emit
        self.left = limit
        self.dropped = 0

    def __call__(self, kind: str, text: str, **extra: Any) -> None:
        if self.emit is None:
            return
        if self.left <= 0:
            self.dropped += 1
            return
        self.left -= 1
        if self.left == 0:
            kind, text, extra = "note", "event limit reached; the output file has the rest", {}
        self.emit("worker_output", {"kind": kind, "text": text[:PREVIEW_CHARS], **extra})


class Capped:
    """Text kept up to ``limit`` characters (the start: a final answer's head matters)."""

    def __init__(self, limit: int = MAX_TEXT) -> None:
        self.parts: list[str] = []
        self.left = limit

    def add(self, text: str) -> None:
        if self.left > 0 and text:
            self.parts.append(text[: self.left])
            self.left -= len(text)

    def reset(self) -> None:
        self.parts, self.left = [], MAX_TEXT

    def text(self) -> str:
        return "".join(self.parts)


class StreamReader:
    """Base: JSON lines go to ``on_event``; other lines are kept as a short tail."""

    name = "agent"

    def __init__(self, report: Reporter) -> None:
        self.report = report
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.answer = Capped()
        self.edits: list[str] = []
        self.denials_fail = True
        """A worker denied a tool may not have done its job; a reviewer still gives a verdict."""

    def feed(self, line: str) -> None:
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                event = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                event = None
            if isinstance(event, dict):
                self.on_event(event)
                return
        if stripped:
            self.tail.append(stripped[:500])

    def on_event(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def finish(self, exit_code: int | None) -> Outcome:
        raise NotImplementedError

    def edited(self, path: str, kind: str = "edit") -> None:
        if len(self.edits) < 1000 and path not in self.edits:
            self.edits.append(path)
        self.report("file_edit", path, path=path, change=kind)

    def stray(self) -> str:
        """The last lines that were not events (stderr: warnings, stack traces)."""
        return " | ".join(list(self.tail)[-5:])

    def crashed(self, exit_code: int | None, what: str) -> str:
        tail = self.stray()
        said = f"; it said: {tail}" if tail else ""
        return f"{self.name} exited {exit_code} without {what}{said}"


def short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[:limit] + "…"


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0

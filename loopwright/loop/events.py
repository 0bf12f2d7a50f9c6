"""The event sink the loop reports through; it knows nothing of files."""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..backends.base import OutputWriter
from ..config import PREVIEW_CHARS
from .types import UsageTotals
from .vocab import Event, EventType


class EventSink(Protocol):
    def emit(self, type: EventType, iteration: int, data: dict[str, Any]) -> int:
        """Record one event; returns its ``seq``, by which later events refer to it."""

    def phase(self, phase: str, iteration: int, usage: UsageTotals) -> None:
        """The loop entered ``phase`` (intake, plan, work, verify, review, decide).

        ``usage`` is the live totals object: read it when needed, do not keep a copy."""

    def open_output(self, name: str) -> OutputWriter | None:
        """A writer for a worker's full output named ``name``, or None to keep none."""

    def kept_output(self, name: str) -> str | None:
        """The whole output written to ``open_output(name)`` when it stayed in memory (it
        fits the event preview, so no file holds it), handed over once; None when it went
        to a file, was empty, or was never opened."""

    def paused(self, resume_at: float | None) -> None:
        """The run waits for a usage limit that resets at ``resume_at`` (epoch seconds);
        None: it runs again."""


class MemoryOutput:
    """A worker's output kept whole in memory (``MemorySink`` never writes files)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def close(self) -> None:
        pass


class MemorySink:
    """Keeps events in a list: for the Python API and tests."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.phases: list[tuple[str, int]] = []
        self.outputs: dict[str, MemoryOutput] = {}
        self.pauses: list[float | None] = []

    def emit(self, type: EventType, iteration: int, data: dict[str, Any]) -> int:
        seq = len(self.events)
        self.events.append(
            {"seq": seq, "ts": time.time(), "type": type, "iteration": iteration, "data": data}
        )
        return seq

    def phase(self, phase: str, iteration: int, usage: UsageTotals) -> None:
        self.phases.append((phase, iteration))

    def open_output(self, name: str) -> OutputWriter | None:
        out = self.outputs[name] = MemoryOutput()
        return out

    def kept_output(self, name: str) -> str | None:
        out = self.outputs.get(name)
        text = "".join(out.parts) if out is not None else ""
        return text if 0 < len(text) <= PREVIEW_CHARS else None

    def paused(self, resume_at: float | None) -> None:
        self.pauses.append(resume_at)

    def of_type(self, type: EventType) -> list[Event]:
        return [e for e in self.events if e["type"] == type]

"""The run directory as the loop's event sink.

Events are appended one ``write(2)`` each. ``status.json`` follows phase changes but is
rewritten at most once per ``STATUS_INTERVAL`` (a deferred write catches up), and the
log is fsynced at most once per ``SYNC_INTERVAL``; state changes are written at once and
durably. A worker's output gets a file only when it outgrows the event preview
(``SpillingOutput``). This keeps the harness's own cost per iteration well under a
millisecond.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Unpack, cast

import anyio

from ..backends.base import OutputWriter
from ..config import PREVIEW_CHARS, WORKER_OUTPUT_CAP
from ..fsmodes import open_nofollow
from ..loop.vocab import EventType, RunState
from .diskspace import writing
from .eventlog import EventWriter
from .holding import HoldWriter
from .profiling import ProfileWriter
from .redact import Redactor
from .status import RunStatus, StatusFields
from .store import RunStore

if TYPE_CHECKING:
    from ..loop.types import UsageTotals

STATUS_INTERVAL = 0.1
CUT_MARKER = b"\n[loopwright: output cut at the size cap]\n"
SYNC_INTERVAL = 1.0


class CappedFile:
    """A worker's full output file; stops at ``cap`` bytes with a marker.

    Redacted as one stream: a secret cut across two writes (a long line handed over in
    pieces, a model's text in deltas) is still found; the unfinished last line is written
    at ``close``."""

    def __init__(self, path: str, redact: Redactor, cap: int = WORKER_OUTPUT_CAP) -> None:
        self.path: str | None = path
        self.redact = redact.stream()
        self.left = cap
        self.cut = False
        self._fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def write(self, text: str) -> None:
        if self._fd >= 0:
            self._put(self.redact.feed(text))

    def _put(self, text: str) -> None:
        if self.left <= 0:
            if not self.cut:  # the cap was met exactly by earlier writes
                self._write(CUT_MARKER)
                self.cut = True
            return
        if not text:
            return
        data = text.encode("utf-8")
        if len(data) > self.left:
            data = data[: self.left] + CUT_MARKER
            self.cut = True
        self.left -= len(data)
        self._write(data)

    def _write(self, data: bytes) -> None:
        with writing(str(self.path)):
            os.write(self._fd, data)

    def close(self) -> None:
        if self._fd >= 0:
            try:
                self._put(self.redact.flush())
            finally:
                os.close(self._fd)
                self._fd = -1


class SpillingOutput:
    """A worker's output, kept in memory while it fits the event preview (``keep``
    characters) and spilled to a ``CappedFile`` at ``spill_path`` once it does not: most
    outputs are a few bytes and then cost no file. ``path`` is None until it spills; the
    file, once there, holds the whole output from its first character."""

    def __init__(
        self,
        spill_path: str,
        redact: Redactor,
        keep: int = PREVIEW_CHARS,
        cap: int = WORKER_OUTPUT_CAP,
    ) -> None:
        self.path: str | None = None
        self._spill_path = spill_path
        self._redact = redact
        self._keep = keep
        self._cap = cap
        self._parts: list[str] = []
        self._size = 0
        self._file: CappedFile | None = None
        self._closed = False

    def write(self, text: str) -> None:
        if self._file is not None:
            self._file.write(text)
        elif not self._closed:
            self._parts.append(text)
            self._size += len(text)
            if self._size > self._keep:
                self._spill()

    def _spill(self) -> None:
        self._file = CappedFile(self._spill_path, self._redact, self._cap)
        self.path = self._spill_path
        self._file.write("".join(self._parts))
        self._parts = []

    @property
    def text(self) -> str | None:
        """The whole output while it is in memory; None once it went to the file."""
        return None if self._file is not None else "".join(self._parts)

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()


class RunRecorder:
    def __init__(self, store: RunStore, run_id: str, status: RunStatus) -> None:
        self.store = store
        self.run_id = run_id
        self.status = status
        self.paths = store.paths(run_id)
        self.writer = EventWriter(self.paths.events, run_id, store.redact)
        self._dirty = False
        self._last_write = 0.0
        self._last_sync = time.monotonic()
        self._wake: anyio.Event | None = None
        self._usage: UsageTotals | None = None
        self._workers = str(self.paths.workers)
        self._outputs: dict[str, SpillingOutput] = {}
        self._t0 = time.monotonic() - float(status.get("elapsed") or 0.0)
        self.profiles = ProfileWriter(store.home)
        """Model calls and subgoal outcomes go to the profile store too (``hosts``)."""
        self.holds = HoldWriter(store.home, run_id)
        """Holds on priced hosts go to the host ledger (``hosts.ledger``)."""

    # EventSink ----------------------------------------------------------------------
    def emit(self, type: EventType, iteration: int, data: dict[str, Any]) -> int:
        seq: int = self.writer.append(type, iteration, data)["seq"]
        self.profiles.see(type, data)
        self.holds.see(type, data)
        return seq

    def phase(self, phase: str, iteration: int, usage: UsageTotals) -> None:
        self.status.update({"phase": phase, "iteration": iteration})
        self._usage = usage
        self._dirty = True
        if time.monotonic() - self._last_write >= STATUS_INTERVAL:
            self.flush()
        else:
            if self._wake is None:
                self._wake = anyio.Event()
            self._wake.set()

    def open_output(self, name: str) -> OutputWriter | None:
        out = self._outputs[name] = SpillingOutput(f"{self._workers}/{name}.out", self.store.redact)
        return out

    def kept_output(self, name: str) -> str | None:
        out = self._outputs.pop(name, None)
        return (out.text or None) if out is not None else None

    def paused(self, resume_at: float | None) -> None:
        if resume_at is None:
            self.set_state("running")
        else:
            self.set_state("paused", resume_at=resume_at)

    # writing ------------------------------------------------------------------------
    def flush(self) -> None:
        now = time.monotonic()
        self.status["elapsed"] = round(now - self._t0, 3)
        if self._usage is not None:
            self.status["usage"] = self._usage.as_dict()
        self.store.write_status(self.run_id, self.status)
        self._dirty, self._last_write = False, now
        if now - self._last_sync >= SYNC_INTERVAL:
            self.writer.sync()
            self._last_sync = now

    async def flusher(self) -> None:
        """Writes a deferred status update within ``STATUS_INTERVAL``; runs until cancelled."""
        while True:
            if self._wake is None:
                self._wake = anyio.Event()
            await self._wake.wait()
            self._wake = None
            await anyio.sleep(max(0.0, self._last_write + STATUS_INTERVAL - time.monotonic()))
            if self._dirty:
                self.flush()

    def set_state(self, state: RunState, **fields: Unpack[StatusFields]) -> None:
        if state != "paused":
            self.status.pop("resume_at", None)
        self.status.update(cast(RunStatus, fields))  # the keywords are checked at the call
        self.status["elapsed"] = round(time.monotonic() - self._t0, 3)
        self.writer.sync()
        self.store.set_state(self.run_id, self.status, state)
        self._dirty = False

    def close(self) -> None:
        self.writer.close()
        self.profiles.close()
        self.holds.close()

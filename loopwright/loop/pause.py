"""Waiting out a provider's usage limit: the run is ``paused`` until the limit resets.

A backend that meets a subscription usage limit with a known reset time returns a failed
response carrying ``usage_limit``. The harness then waits here (cancellable, within the
run's time budget, woken early by ``loopwright resume``) and repeats the same call.
"""

from __future__ import annotations

import threading
import time

import anyio
import anyio.from_thread
import anyio.lowlevel

from ..backends.base import AgentRequest, AgentResponse, Backend, UsageLimit
from ..backends.usage_limits import in_words, reset_note
from ..errors import BudgetExceeded
from .budget import BudgetTracker
from .events import EventSink

PAUSES_PER_CALL = 5
"""A limit still reported after this many waits fails the call (a stale reset time)."""


class PauseGate:
    """The calls of one run that wait for a usage limit to reset.

    The run is ``paused`` while any call waits (``resume_at`` is the latest reset among
    them) and ``running`` again when the last one goes on. ``wake()`` ends every wait now.
    """

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.waiting = 0
        self.until = 0.0
        self._woken: anyio.Event | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._thread = 0

    def wake(self) -> bool:
        """End every wait now; safe from any thread. False when no call is waiting."""
        token = self._token
        if not self.waiting or token is None:
            return False
        if threading.get_ident() == self._thread:
            self._set()
            return True
        try:
            anyio.from_thread.run_sync(self._set, token=token)
        except RuntimeError:  # the run's event loop has ended
            return False
        return True

    def _set(self) -> None:
        woken, self._woken = self._woken, None
        if woken is not None:
            woken.set()

    async def wait_out(self, limit: UsageLimit, iteration: int, left: float, spec: str) -> None:
        """Wait until ``limit`` resets, or ``wake()``. Raises ``BudgetExceeded`` at once
        when the reset comes after the run's time budget (``left`` seconds) ends."""
        wait = limit.resume_at - time.time()
        if wait >= left:
            raise BudgetExceeded(
                "max_seconds",
                f"{spec} hit its usage limit, which {reset_note(limit.resume_at)}: after the "
                f"run's time budget ends (in {in_words(left)}); it said: {limit.message}",
            )
        self._token, self._thread = anyio.lowlevel.current_token(), threading.get_ident()
        if self._woken is None:
            self._woken = anyio.Event()
        woken = self._woken
        self.until = max(self.until, limit.resume_at) if self.waiting else limit.resume_at
        self.waiting += 1
        data = {"backend": spec, "resume_at": limit.resume_at, "message": limit.message}
        self.sink.emit("paused", iteration, {**data, "in": in_words(wait)})
        self.sink.paused(self.until)
        started = time.monotonic()
        try:
            with anyio.move_on_after(max(0.0, wait)):
                await woken.wait()
        finally:
            self.waiting -= 1
            if not self.waiting:
                self.sink.paused(None)
        waited = round(time.monotonic() - started, 3)
        self.sink.emit(
            "resumed", iteration, {"backend": spec, "early": woken.is_set(), "paused_s": waited}
        )


async def through_limits(
    backend: Backend,
    request: AgentRequest,
    gate: PauseGate,
    budget: BudgetTracker,
    iteration: int,
) -> AgentResponse:
    """The backend's answer; a usage limit with a reset time pauses the run until then
    (``gate``), then the same call runs again (the limited answers' usage is recorded in
    ``budget`` here; the last answer's is the caller's to record)."""
    for _ in range(PAUSES_PER_CALL):
        response = await backend.run(request)
        if response.ok or response.usage_limit is None:
            return response
        budget.record(response.usage)
        await gate.wait_out(response.usage_limit, iteration, budget.remaining_seconds(),
                            backend.spec)  # fmt: skip
        request.timeout = max(0.001, min(request.timeout, budget.remaining_seconds()))
    return await backend.run(request)

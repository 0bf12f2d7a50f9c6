"""Waiting on runs without blocking the event loop: async polls of the run directory.

A poll reads ``status.json`` (or stats ``events.jsonl``), which is cheap, and sleeps with
backoff between reads, so any number of waiting calls leave the server responsive.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..loop.vocab import LIVE_STATES, Event
from ..runs import runner
from ..runs.eventlog import parse_cursor, read_events
from ..runs.status import RunStatus
from ..runs.store import RunStore

POLL_MIN, POLL_MAX = 0.02, 0.5
HEARTBEAT = 30.0
"""Seconds between progress notifications while nothing happens (resets idle timeouts)."""

Progress = Callable[[str], Awaitable[None]]


async def wait_until(
    store: RunStore, run_id: str, timeout: float, done: Callable[[RunStatus], bool]
) -> RunStatus:
    """Poll the run's status until ``done(status)`` or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    delay = POLL_MIN
    while True:
        status = runner.refresh(store, run_id)
        if done(status) or time.monotonic() >= deadline:
            return status
        await anyio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(POLL_MAX, delay * 1.5)


def not_live(status: RunStatus) -> bool:
    return status["state"] not in LIVE_STATES


def past_intake(status: RunStatus) -> bool:
    """Intake has settled: the run asked, ended, or began iteration 1 (planning)."""
    return not_live(status) or int(status.get("iteration") or 0) >= 1


async def wait_for_events(store: RunStore, run_id: str, cursor: str | None, wait: float) -> None:
    """Return once the log grew past ``cursor``, the run is not live, or ``wait`` passed."""
    offset = parse_cursor(cursor)
    path = store.paths(run_id).events
    deadline = time.monotonic() + wait
    delay = POLL_MIN
    while time.monotonic() < deadline:
        try:
            if os.stat(path).st_size > offset:
                return
        except FileNotFoundError:
            pass
        if not_live(runner.refresh(store, run_id)):
            return
        await anyio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(POLL_MAX, delay * 1.5)


async def follow(
    store: RunStore, run_id: str, progress: Progress, cursor: str | None = None
) -> RunStatus:
    """Wait for the run to leave the live states, reporting phases and iterations."""
    last_report = time.monotonic()
    while True:
        page = read_events(store.paths(run_id).events, cursor, limit=500)
        cursor = page.cursor
        for event in page.events:
            message = describe(event, store, run_id)
            if message:
                await progress(message)
                last_report = time.monotonic()
        if page.more:
            continue
        status = runner.refresh(store, run_id)
        if not_live(status):
            return status
        if time.monotonic() - last_report >= HEARTBEAT:
            await progress(
                f"{status.get('phase')} (iteration {status.get('iteration')}), "
                f"{status.get('elapsed', 0):.0f}s elapsed"
            )
            last_report = time.monotonic()
        await wait_for_events(store, run_id, cursor, HEARTBEAT)


PHASE_EVENTS = {
    "run_started": "run started",
    "resumed": "run resumed",
    "intake": "criteria settled",
    "verify_started": "verifying",
    "questions": "intake has questions",
    "cancelled": "cancelled",
}


def describe(event: Event, store: RunStore, run_id: str) -> str | None:
    """A one-line progress message for the events that mark phases and iterations."""
    kind, data, it = event.get("type"), event.get("data") or {}, event.get("iteration", 0)
    if kind == "plan":
        return f"iteration {it}: planned {len(data.get('subgoals', []))} subgoal(s)"
    if kind == "review":
        yes = sum(1 for v in data.get("verdicts", []) if v.get("complete"))
        return f"iteration {it}: review {yes}/{len(data.get('verdicts', []))} complete"
    if kind == "iteration_finished":
        return iteration_line(data, it, _max_iterations(store, run_id))
    if kind == "run_finished":
        return f"finished: {data.get('state')} — {data.get('stop_reason')}"
    label = PHASE_EVENTS.get(str(kind))
    return f"iteration {it}: {label}" if label and it else label


def iteration_line(data: dict[str, Any], it: int, of: int) -> str:
    """e.g. ``iteration 2/4: 3/3 subgoals ok, verify pass, review: incomplete``."""
    record = data.get("record") or {}
    results = record.get("results", [])
    ok = sum(1 for r in results if r.get("status") == "ok")
    verify = record.get("verify", [])
    vtext = "none" if not verify else "pass" if all(v.get("passed") for v in verify) else "fail"
    review = "complete" if data.get("passed") else "incomplete"
    return f"iteration {it}/{of}: {ok}/{len(results)} subgoals ok, verify {vtext}, review: {review}"


def _max_iterations(store: RunStore, run_id: str) -> int:
    try:
        return int(store.read_request(run_id)["loop"]["budget"]["max_iterations"])
    except (OSError, KeyError, ValueError, TypeError):
        return 0

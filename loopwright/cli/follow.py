"""Following a run in the terminal until it ends, answering its questions on the console,
and its report (the summary and the exit code): shared by ``run``, ``resume``, ``demo``,
``tail -f`` and ``result``.

Exit codes: 0 completed, 1 stopped without meeting the criteria (or interrupted),
2 error or bad usage, 3 needs input, 4 still running or paused (``result`` without ``--wait``),
130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from ..loop.vocab import LIVE_STATES, Event, RunState
from ..runs import runner
from ..runs.eventlog import read_events
from ..runs.status import RunStatus
from ..runs.store import ResultData, RunStore
from .output import out
from .view import Progress, format_event, format_result, next_steps

__all__ = ["EXIT", "FOLLOW_POLL", "follow", "follow_loop", "report"]

EXIT: dict[RunState, int] = {
    "completed": 0,
    "stopped": 1,
    "interrupted": 1,
    "failed": 2,
    "needs_input": 3,
    "cancelled": 130,
    "running": 4,
    "queued": 4,
    "paused": 4,
}
FOLLOW_POLL = 0.1


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


def follow(store: RunStore, run_id: str, args: argparse.Namespace) -> int:
    """Show events until the run ends; Ctrl-C (or SIGTERM/SIGHUP) cancels it."""
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        status, cursor = follow_loop(store, run_id, quiet=args.json, cursor=None)
        while status["state"] == "needs_input" and _can_prompt(store, run_id, args):
            answers = _prompt(status.get("questions") or [])
            runner.resume(store, run_id, answers)
            status, cursor = follow_loop(store, run_id, quiet=args.json, cursor=cursor)
    except (KeyboardInterrupt, _Stop):
        if not args.json:
            out("\ncancelling…")
        status = runner.cancel(store, run_id)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return report(store, run_id, status, args.json)


def follow_loop(
    store: RunStore, run_id: str, quiet: bool, cursor: str | None
) -> tuple[RunStatus, str]:
    """Show events until the run is not live; its status then, and the log's cursor."""
    events = store.paths(run_id).events
    live = not quiet and sys.stdout.isatty()
    progress = Progress()

    def show(page_events: list[Event]) -> None:
        for event in page_events:
            progress.see(event)
            if not quiet:
                out(("\r\x1b[K" if live else "") + format_event(event))

    while True:
        page = read_events(events, cursor, limit=1000)
        cursor = page.cursor
        show(page.events)
        if page.more:
            continue
        status = runner.refresh(store, run_id)
        if status["state"] not in LIVE_STATES:
            page = read_events(events, cursor, limit=100_000)
            show(page.events)
            if live:
                print("\r\x1b[K", end="", flush=True)
            return status, page.cursor
        if live:
            print("\r\x1b[K" + progress.line(status), end="", flush=True)
        time.sleep(FOLLOW_POLL)


def _can_prompt(store: RunStore, run_id: str, args: argparse.Namespace) -> bool:
    policy = store.read_request(run_id)["loop"]["questions"]
    return bool(policy == "console" and sys.stdin.isatty() and not args.json)


def _prompt(questions: list[dict[str, Any]]) -> dict[str, str]:
    answers = {}
    for q in questions:
        default = f" [{q['default']}]" if q.get("default") else ""
        reply = input(f"? {q['text']}{default} ").strip()
        answers[q["id"]] = reply or q.get("default") or ""
    return answers


def report(store: RunStore, run_id: str, status: RunStatus, as_json: bool) -> int:
    state = status["state"]
    if state == "needs_input":
        questions = status.get("questions") or []
        if as_json:
            out(json.dumps({"status": "needs_input", "run_id": run_id, "questions": questions}))
        else:
            out(f"\nrun {run_id} needs answers:")
            for q in questions:
                out(
                    f"  {q['id']}: {q['text']}"
                    + (f" (default: {q['default']})" if q.get("default") else "")
                )
            ids = " ".join(f"--answer {q['id']}=..." for q in questions)
            out(f"answer with: loopwright resume {run_id} {ids}")
        return EXIT[state]
    result: ResultData = store.read_result(run_id) or {
        "state": state,
        "summary": state,
        "run_id": run_id,
    }
    if as_json:
        out(json.dumps(result))
    else:
        events = read_events(store.paths(run_id).events, None, 100_000).events
        out("\n" + format_result(result, events))
        out(f"  working dir: {result.get('cwd')}\n  run dir:     {store.paths(run_id).root}")
        out(next_steps(run_id, result))
    return EXIT.get(state, 2)

"""The run-host: one process per detached run, driving its loop until it ends.

Started by the runner as ``python -m loopwright.runs.host RUN_DIR [--resume]`` in a new
session with stdin from /dev/null. SIGTERM, SIGINT or SIGHUP cancel the run: workers are
killed, the state becomes ``cancelled``. The same ``drive`` runs on a thread in-process.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import anyio

from ..adapters.registry import create_backend
from ..errors import LoopwrightError
from ..loop.harness import Harness, Roles
from ..loop.types import RunResult
from ..process import proc_start_time
from .recorder import RunRecorder
from .replay import replay
from .request import RunRequest
from .store import RunStore


def build_roles(request: RunRequest) -> Roles:
    return Roles(
        planner=create_backend(request.planner),
        workers=[create_backend(w) for w in request.workers],
        reviewers=[create_backend(r) for r in request.reviewers],
        clarifier=create_backend(request.clarifier) if request.clarifier else None,
    )


async def drive(
    store: RunStore, run_id: str, *, resume: bool = False, roles: Roles | None = None
) -> dict[str, Any]:
    """Run (or resume) ``run_id`` to its end; returns what went into ``result.json``."""
    status = store.read_status(run_id)
    request = RunRequest.model_validate(store.read_request(run_id))
    recorder = RunRecorder(store, run_id, status)
    pid = os.getpid()
    state = replay(recorder.paths.events, status) if resume else None
    recorder.set_state(
        "running",
        pid=pid,
        pid_start=proc_start_time(pid),
        phase="starting",
        questions=None,
        error=None,
    )
    first = state.iterations + 1 if state else 1
    recorder.emit("resumed" if resume else "run_started", first - 1, _start_data(request))
    harness: Harness | None = None
    try:
        harness = Harness(request.loop, roles or build_roles(request), recorder, state)
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.flusher)
            result = await harness.run()
            tg.cancel_scope.cancel()
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            _finish_cancelled(recorder, harness, request)
        raise
    except LoopwrightError as exc:
        message = f"{type(exc).__name__}: {exc}"
        result = _ended(harness, request, "failed", message, message)
        recorder.emit("error", result.iterations, {"message": str(exc)})
    except Exception as exc:  # a bug: record it, never leave the run "running"
        traceback.print_exc()
        message = f"internal error: {type(exc).__name__}: {exc}"
        result = _ended(harness, request, "failed", message, message)
        recorder.emit("error", 0, {"message": result.error, "kind": "internal"})
    return _finish(recorder, result, run_id)


def _start_data(request: RunRequest) -> dict[str, Any]:
    return {
        "goal": request.loop.goal[:2000],
        "cwd": request.loop.cwd,
        "planner": request.planner,
        "workers": request.workers,
        "reviewers": request.reviewers,
        "budget": request.loop.budget.model_dump(),
        "pid": os.getpid(),
    }


def _ended(
    harness: Harness | None, request: RunRequest, state: Any, reason: str, error: str | None
) -> RunResult:
    """The result of a run that ended outside the harness's own decisions."""
    iterations = harness.state.iterations if harness else 0
    result = RunResult(
        state=state,
        stop_reason=reason,
        iterations=iterations,
        error=error,
        summary=f"{state} after {iterations} iteration(s): {reason}",
        cwd=request.loop.cwd,
    )
    if harness is not None:
        result.usage = harness.state.usage
    return result


def _finish(recorder: RunRecorder, result: RunResult, run_id: str) -> dict[str, Any]:
    result.run_id = run_id
    data = result.model_dump()
    usage = data["usage"]
    if result.state == "needs_input":
        questions = data["questions"]
        recorder.set_state("needs_input", phase="needs_input", usage=usage, questions=questions)
    else:
        recorder.emit(
            "run_finished",
            result.iterations,
            {
                "state": result.state,
                "stop_reason": result.stop_reason,
                "usage": usage,
                "summary": result.summary,
            },
        )
        recorder.store.write_result(run_id, data)
        recorder.set_state(result.state, phase="done", usage=usage, error=result.error)
    recorder.close()
    return data


def _finish_cancelled(recorder: RunRecorder, harness: Harness | None, request: RunRequest) -> None:
    result = _ended(harness, request, "cancelled", "cancelled", None)
    recorder.emit("cancelled", result.iterations, {"by": "signal or caller"})
    _finish(recorder, result, recorder.run_id)


async def _host(store: RunStore, run_id: str, resume: bool) -> None:
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def on_signals() -> None:
                sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
                with anyio.open_signal_receiver(*sigs) as received:
                    async for _ in received:
                        scope.cancel()
                        return

            tg.start_soon(on_signals)
            await drive(store, run_id, resume=resume)
            tg.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    run_dir = Path(args[0])
    store = RunStore(run_dir.parent.parent)
    anyio.run(_host, store, run_dir.name, "--resume" in args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

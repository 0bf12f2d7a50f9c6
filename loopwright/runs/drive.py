"""Drive one run's loop to its end, recording everything in its run directory."""

from __future__ import annotations

import contextlib
import traceback
from concurrent.futures import Future
from typing import Any

import anyio

from ..backends.base import Backend
from ..backends.registry import create_backend
from ..errors import DiskFull, LoopwrightError, unwrapped
from ..loop.harness import Harness, Roles, summary_line
from ..loop.types import RunResult
from ..loop.vocab import RunState
from ..process.runner import ProcessRunner
from .diskspace import find_disk_full, release_reserve
from .git.gitcmd import git_runner
from .git.worktree import Workspace
from .improve import ImproveRun
from .memorize import memory_for, remember
from .patterns import PatternRun
from .recorder import RunRecorder
from .replay import replay
from .request import RunRequest
from .startup import RunRunners, begin, fail_to_start, run_runner
from .store import RunStore
from .tally import as_it_ran
from .wake import registered
from .workspace_setup import close_workspace, open_workspace


def build_roles(request: RunRequest, runner: ProcessRunner | None = None) -> Roles:
    """The request's backends, each starting its programs with ``runner``."""

    def create(spec: str) -> Backend:
        return create_backend(spec, runner=runner, fallback=request.fallback)

    return Roles(
        planner=create(request.planner),
        workers=[create(w) for w in request.workers],
        reviewers=[create(r) for r in request.reviewers],
        clarifier=create(request.clarifier) if request.clarifier else None,
        specialists={tag: create(spec) for tag, spec in request.specialists.items()},
    )


async def drive(
    store: RunStore,
    run_id: str,
    *,
    resume: bool = False,
    roles: Roles | None = None,
    recorder: RunRecorder | None = None,
    prepared: Future[dict[str, Any]] | None = None,
    runner: ProcessRunner | None = None,
    runners: RunRunners | None = None,
) -> RunResult:
    """Run (or resume) ``run_id`` to its end; returns its result (what went into
    ``result.json``, unless it ended asking questions).

    ``runners`` start the run's programs (verify; workers and the tool loop's commands;
    git), by default the ones its request calls for (``run_runner``); ``runner`` instead
    starts all of them."""
    if runners is None:
        runners = RunRunners.one(runner) if runner else run_runner(store.read_request(run_id))
    with git_runner(runners.git):
        return await _drive(store, run_id, resume, roles, recorder, prepared, runners)


async def _drive(
    store: RunStore,
    run_id: str,
    resume: bool,
    roles: Roles | None,
    recorder: RunRecorder | None,
    prepared: Future[dict[str, Any]] | None,
    runners: RunRunners,
) -> RunResult:
    try:
        recorder = recorder or begin(store, run_id, resume)
    except DiskFull as exc:
        fail_to_start(store, run_id, exc)
        raise
    request = RunRequest.model_validate(store.read_request(run_id))
    loop = request.pattern == "loop"
    state = replay(recorder.paths.events, recorder.status) if resume and loop else None
    harness: Harness | PatternRun | None = None
    ws: Workspace | None = None
    try:
        ws = await open_workspace(store, run_id, request, recorder, state, prepared)
        roles = roles or build_roles(request, runners.backends)
        if not loop:  # a resumed pattern goes on from its log (runs.patterns)
            harness = (
                ImproveRun(request, roles, recorder, ws, runners.verify)
                if request.pattern == "improve"
                else PatternRun(request, roles, recorder, ws, resume)
            )
            with _wakeable(run_id, harness):  # `loopwright resume` ends a pause at once
                result = await harness.run()
        else:
            harness = Harness(
                request.loop, roles, recorder, state, ws, runner=runners.verify,
                performance=recorder.profiles.source(),
                memory=memory_for(store, run_id, request),
            )  # fmt: skip
            with unwrapped(), registered(run_id, harness.pauses.wake):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(recorder.flusher)
                    result = await harness.run()
                    tg.cancel_scope.cancel()
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            release_reserve(recorder.paths.root)  # the run ends: room for its last writes
            result = _ended(harness, request, "cancelled", "cancelled", None)
            recorder.emit("cancelled", result.iterations, {"by": "signal or caller"})
            await _finish(recorder, result, run_id, ws, request)
        raise
    except LoopwrightError as exc:
        release_reserve(recorder.paths.root)
        message = f"{type(exc).__name__}: {exc}"
        result = _ended(harness, request, "failed", message, message)
        recorder.emit("error", result.iterations, {"message": str(exc)})
    except Exception as exc:  # a bug or a full disk: never leave the run "running"
        release_reserve(recorder.paths.root)
        result = _crashed(recorder, harness, request, exc)
    try:
        return await _finish(recorder, result, run_id, ws, request)
    except Exception as exc:  # never leave a run "running" because its ending failed
        _finish_failed(recorder, result, exc)
        raise


def _wakeable(run_id: str, run: ImproveRun | PatternRun) -> contextlib.AbstractContextManager[None]:
    return registered(run_id, run.wake) if isinstance(run, PatternRun) else contextlib.nullcontext()


def _crashed(
    recorder: RunRecorder, harness: Harness | PatternRun | None, request: RunRequest, exc: Exception
) -> RunResult:
    """The failed result of a run that ran out of disk or hit a bug, with its error event."""
    disk = find_disk_full(exc)
    if disk is not None:
        message, kind = str(disk), "disk_full"
    else:
        traceback.print_exc()
        message, kind = f"internal error: {type(exc).__name__}: {exc}", "internal"
    result = _ended(harness, request, "failed", message, message)
    recorder.emit("error", result.iterations, {"message": message, "kind": kind})
    return result


def _finish_failed(recorder: RunRecorder, result: RunResult, exc: Exception) -> None:
    disk = find_disk_full(exc)
    if disk is not None:
        release_reserve(recorder.paths.root)
        message, kind = str(disk), "disk_full"
    else:
        traceback.print_exc()
        message = f"internal error while finishing: {type(exc).__name__}: {exc}"
        kind = "internal"
    recorder.emit("error", result.iterations, {"message": message, "kind": kind})
    recorder.set_state("failed", phase="done", error=message)


def _ended(
    harness: Harness | PatternRun | None,
    request: RunRequest,
    state: RunState,
    reason: str,
    error: str | None,
) -> RunResult:
    """The result of a run that ended outside the harness's own decisions."""
    if isinstance(harness, PatternRun):
        return harness.ended(state, reason, error)
    iterations = harness.state.iterations if harness else 0
    result = RunResult(
        state=state,
        stop_reason=reason,
        iterations=iterations,
        error=error,
        summary=summary_line(state, reason, iterations),
        cwd=request.loop.cwd,
    )
    if harness is not None:
        result.usage = harness.state.usage
    return result


async def _finish(
    recorder: RunRecorder,
    result: RunResult,
    run_id: str,
    ws: Workspace | None,
    request: RunRequest,
) -> RunResult:
    result.run_id = run_id
    if ws is not None:
        result.workspace = await close_workspace(ws, result, request.cleanup)
    as_it_ran(result, recorder.status)  # after the last checkpoint, numbered by finished ones
    release_reserve(recorder.paths.root)  # (git had the real free space, not the reserve)
    data = result.model_dump()
    usage = data["usage"]
    if result.state == "needs_input":
        questions = data["questions"]
        recorder.set_state("needs_input", phase="needs_input", usage=usage, questions=questions)
    else:
        unremembered = remember(recorder.store, run_id, request, result)  # before the end
        if unremembered:
            recorder.emit("warning", result.iterations, {"message": unremembered})
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
        recorder.store.write_result(run_id, result)
        recorder.set_state(result.state, phase="done", usage=usage, error=result.error)
    recorder.close()
    return result

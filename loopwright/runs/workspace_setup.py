"""Open a run's workspace before the loop, and close it (checkpoint, cleanup) after."""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import anyio

from ..errors import CheckpointFailed, ProcessError, WorkAtRisk
from ..loop.harness import summary_line
from ..loop.types import LoopState, RunResult
from ..loop.vocab import TERMINAL_STATES, CleanupPolicy
from .git.worktree import Workspace, create
from .recorder import RunRecorder
from .request import RunRequest
from .startup import report_ready
from .store import RunStore


async def open_workspace(
    store: RunStore,
    run_id: str,
    request: RunRequest,
    recorder: RunRecorder,
    state: LoopState | None,
    prepared: Future[dict[str, Any]] | None = None,
) -> Workspace | None:
    """The run's worktree (made on first start, reopened on resume); None when in place.

    ``prepared`` is a creation the run-host began before importing the loop."""
    if not request.isolate or request.repo is None:
        return None
    record: dict[str, Any] | None = recorder.status.get("workspace")
    if record is None:
        recorder.status["phase"] = "workspace"
        if prepared is not None:  # the host began it and reported it ready
            record = await anyio.to_thread.run_sync(prepared.result)
        else:
            started = time.monotonic()
            record = await anyio.to_thread.run_sync(
                lambda: create(
                    str(request.repo), run_id, store.home, request.base_ref,
                    request.include_uncommitted, recorder.emit,
                )
            )  # fmt: skip
            report_ready(recorder, record, time.monotonic() - started)
        recorder.status["workspace"] = record
        recorder.flush()
    ws = Workspace(record, run_id, recorder.emit, recorder.flush, store.home)
    request.loop.cwd = str(Path(record["path"]) / request.subdir)
    if state is not None:
        await ws.recover(state.iterations + 1)
    return ws


async def close_workspace(
    ws: Workspace, result: RunResult, policy: CleanupPolicy
) -> dict[str, Any]:
    """Commit what a stopped run left, summarise the branch, and clean up at the end.

    Never raises: a git failure here is recorded in the summary's ``errors`` and the
    worktree is kept, so nothing is lost. A final checkpoint that fails turns the run
    ``failed`` (``checkpoint_failed``) unless it was cancelled, which stays cancelled."""
    if result.state not in ("completed", "needs_input") and not ws.record.get("checkpoint_failed"):
        label = "partial work" if result.state != "failed" else "work before the failure"
        # Cancelled: the caller waits for us, so a held git lock gets a short wait only.
        wait = 2.0 if result.state == "cancelled" else None
        try:
            await ws.checkpoint(result.iterations + 1, f"{result.state}: {label}",
                                result.state, lock_wait=wait)  # fmt: skip
        except CheckpointFailed as exc:
            _mark_failed(result, str(exc))
    try:
        summary = await ws.summary()
    except ProcessError as exc:
        summary = {**ws.record, "changed_files": [], "errors": [*ws.record["errors"], str(exc)]}
    if result.state in TERMINAL_STATES:
        try:
            await anyio.to_thread.run_sync(ws.cleanup, policy)
        except (ProcessError, WorkAtRisk) as exc:
            ws.record["kept"] = True
            summary["errors"] = [*summary.get("errors", []), f"cleanup refused or failed: {exc}"]
        summary.update(kept=ws.record.get("kept"), path_removed=ws.record.get("path_removed"))
    return summary


def _mark_failed(result: RunResult, message: str) -> None:
    if result.state != "cancelled":
        result.state = "failed"
        result.stop_reason = message
        result.summary = summary_line("failed", message, result.iterations)
    result.error = message

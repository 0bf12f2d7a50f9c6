"""Starting a run's host: take ownership of the run, report it started, and begin its
worktree while the loop's modules load. Light on purpose: no pydantic, no backends.

Used by the run-host process (``host``) and by ``drive`` for runs on a thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from ..errors import DiskFull
from ..process.runner import PlainRunner, ProcessRunner, proc_start_time
from .diskspace import make_reserve, release_reserve
from .eventlog import EventWriter
from .recorder import RunRecorder
from .store import RunStore


def run_runner(request: Mapping[str, Any]) -> ProcessRunner:
    """The ``ProcessRunner`` that starts a run's programs (verify commands, workers, the
    tool loop's commands, its git), chosen here from its request and nowhere else.

    Only the plain runner exists today; the sandbox runner will be picked here."""
    return PlainRunner()


def begin(store: RunStore, run_id: str, resume: bool) -> RunRecorder:
    """Take ownership of the run: state ``running``, this pid, ``run_started``/``resumed``.

    Light on purpose (no pydantic, no backends): a detached run shows as started within
    a few tens of milliseconds of its host process starting.
    """
    status = store.read_status(run_id)
    request = store.read_request(run_id)
    make_reserve(store.paths(run_id).root)  # a resumed run's was freed when it stopped
    recorder = RunRecorder(store, run_id, status)
    pid = os.getpid()
    recorder.set_state(
        "running",
        pid=pid,
        pid_start=proc_start_time(pid),
        phase="starting",
        questions=None,
        error=None,
        wake_signal=None,  # set once this host listens for it (a thread run never does)
    )
    recorder.emit(
        "resumed" if resume else "run_started",
        int(status.get("iteration") or 0),
        _start_data(request),
    )
    return recorder


def fail_to_start(store: RunStore, run_id: str, exc: DiskFull) -> None:
    """No room to take the run: free its reserve and record ``failed`` with the reason."""
    release_reserve(store.paths(run_id).root)
    status = store.read_status(run_id)
    writer = EventWriter(store.paths(run_id).events, run_id, store.redact)
    try:
        data = {"message": str(exc), "kind": "disk_full"}
        writer.append("error", int(status.get("iteration") or 0), data)
    finally:
        writer.close()
    status.update({"phase": "done", "error": str(exc)})
    store.set_state(run_id, status, "failed")


def _start_data(request: dict[str, Any]) -> dict[str, Any]:
    loop = request.get("loop", {})
    return {
        "goal": str(loop.get("goal", ""))[:2000],
        "cwd": loop.get("cwd"),
        "planner": request.get("planner"),
        "workers": request.get("workers"),
        "reviewers": request.get("reviewers"),
        "budget": loop.get("budget"),
        "pid": os.getpid(),
    }


def report_ready(recorder: RunRecorder, record: dict[str, Any], seconds: float) -> None:
    data = {"path": record["path"], "branch": record["branch"], "base": record["base"],
            "seconds": round(seconds, 3), "pooled": record.get("pooled", False)}  # fmt: skip
    recorder.emit("worktree_ready", 0, data)


def prepare_workspace(
    store: RunStore, run_id: str, recorder: RunRecorder, runner: ProcessRunner
) -> Future[Any] | None:
    """Start creating a new run's worktree on a thread now, while the loop's modules load:
    on a big repository ``git worktree add`` is most of the start-up, and it needs none.
    Its git goes through the run's ``runner``."""
    request = store.read_request(run_id)
    if recorder.status.get("workspace") or not request.get("isolate") or not request.get("repo"):
        return None
    from .git.gitcmd import git_runner
    from .git.worktree import create

    future: Future[Any] = Future()
    started = time.monotonic()

    def work() -> None:
        try:
            with git_runner(runner):
                record = create(
                    request["repo"], run_id, store.home, request.get("base_ref"),
                    bool(request.get("include_uncommitted")), recorder.emit,
                )  # fmt: skip
        except BaseException as exc:  # handed to the loop, which reports it
            future.set_exception(exc)
            return
        report_ready(recorder, record, time.monotonic() - started)
        future.set_result(record)

    threading.Thread(target=work, name=f"worktree-{run_id}", daemon=True).start()
    return future

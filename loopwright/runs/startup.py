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
from dataclasses import dataclass
from typing import Any

from ..errors import DiskFull
from ..process.runner import PlainRunner, ProcessRunner, proc_start_time
from ..process.sandbox import SandboxPolicy, SandboxRunner
from .diskspace import make_reserve, release_reserve
from .eventlog import EventWriter
from .recorder import RunRecorder
from .store import RunStore


@dataclass(frozen=True)
class RunRunners:
    """Which runner starts which of a run's programs."""

    verify: ProcessRunner
    """The verify commands (the harness's runner)."""
    backends: ProcessRunner
    """The agent CLIs, the tool loop's ``run_command``, scripted replies' commands."""
    git: ProcessRunner
    """The run's git (loopwright's own commits): never confined."""

    @classmethod
    def one(cls, runner: ProcessRunner) -> RunRunners:
        """``runner`` for everything (tests, and callers that hand a runner in)."""
        return cls(verify=runner, backends=runner, git=runner)


def run_runner(request: Mapping[str, Any]) -> RunRunners:
    """The runners that start a run's programs, chosen here from its request (its
    ``sandbox`` and ``allow_network``) and nowhere else.

    ``off``: the plain runner for everything. ``verify``: verify commands confined by the
    sandbox runner, the backends and git on the plain one. ``all``: the backends confined
    too, each agent CLI with its login files from home. Git always stays on the plain
    runner (it writes ``.git``). A request stored before the sandbox existed has no
    ``sandbox`` and resumes as it ran: ``off``."""
    plain = PlainRunner()
    mode = request.get("sandbox") or "off"
    if mode == "off":
        return RunRunners.one(plain)
    network = bool(request.get("allow_network"))
    verify = SandboxRunner(SandboxPolicy(network=network))
    if mode == "verify":
        return RunRunners(verify=verify, backends=plain, git=plain)
    from ..backends.agents.homefiles import home_mounts  # here: a host's start stays light

    specs = [request.get("planner"), request.get("clarifier")]
    specs += [*request.get("workers", []), *request.get("reviewers", [])]
    specs += list((request.get("specialists") or {}).values())
    mounts = home_mounts([s for s in specs if s], os.environ)
    agents = SandboxRunner(SandboxPolicy(network=network, mounts=mounts))
    return RunRunners(verify=verify, backends=agents, git=plain)


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

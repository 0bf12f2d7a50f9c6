"""Start, cancel, wait for and resume runs; find runs whose host died.

A detached run lives in its own run-host process (new session, stdin /dev/null) and
outlives whoever started it. The run directory is the interface: status is read from
``status.json``, a host is signalled only after its pid's start time is checked.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidState, UserError
from ..fsmodes import open_nofollow
from ..loop.vocab import ALL_STATES, LIVE_STATES, TERMINAL_STATES, EventType, RunState
from ..process.runner import PlainRunner, ProcessRunner, kill_session, pid_alive, proc_start_time
from .diskspace import release_reserve
from .eventlog import EventWriter
from .git.scratch import make_scratch_repo
from .ids import new_run_id
from .status import RunStatus
from .store import RunStore
from .tally import elapsed_now, with_elapsed_now
from .wake import WAKE_SIGNAL, driven_here, wake_here

if TYPE_CHECKING:
    from ..loop.harness import Roles
    from ..loop.types import RunResult
    from .request import RunRequest

__all__ = [
    "cancel",
    "create_run",
    "recover",
    "refresh",
    "resume",
    "spawn_host",
    "start",
    "start_thread",
    "wait",
]
POLL_MIN, POLL_MAX = 0.02, 0.25
WAKE_TIMEOUT = 10.0
"""Seconds ``resume`` waits for a woken run to leave ``paused``."""


def create_run(store: RunStore, request: RunRequest) -> str:
    """Create the run directory for a validated request (and its scratch repo if any).

    A create that fails (``DiskFull``) leaves nothing: no run dir, row or scratch repo."""
    run_id = new_run_id()
    try:
        if request.scratch:
            repo = make_scratch_repo(_scratch_dir(store, run_id))
            request.loop.cwd = request.repo = str(repo)
        data = request.model_dump()
        store.create(run_id, data)
    except BaseException:
        _discard(store, run_id, request)
        raise
    return run_id


def _scratch_dir(store: RunStore, run_id: str) -> Path:
    return store.home / "scratch" / run_id


def _discard(store: RunStore, run_id: str, request: RunRequest) -> None:
    """Remove a run that never started: its dir, its index row, its scratch repo."""
    store.remove(run_id)
    if request.scratch:
        shutil.rmtree(_scratch_dir(store, run_id), ignore_errors=True)


def spawn_host(
    store: RunStore, run_id: str, resume: bool = False, runner: ProcessRunner | None = None
) -> int:
    """Start the run-host process (with ``runner``, by default the plain one); returns its
    pid. The run is ``queued`` until it runs."""
    pid = _launch_host(store, run_id, resume, runner or PlainRunner())
    _record_host(store, run_id, pid)
    return pid


def start(store: RunStore, request: RunRequest, runner: ProcessRunner | None = None) -> str:
    """Create a run and start its host (with ``runner``, by default the plain one). A start
    that fails before the host runs (a full disk) leaves nothing behind; after that, the
    host records how its run ends."""
    run_id = create_run(store, request)
    try:
        pid = _launch_host(store, run_id, False, runner or PlainRunner())
    except BaseException:
        _discard(store, run_id, request)
        raise
    _record_host(store, run_id, pid)
    return run_id


def _record_host(store: RunStore, run_id: str, pid: int) -> None:
    with run_lock(store, run_id):
        status = store.read_status(run_id)
        if status["state"] in ("queued", "needs_input", "interrupted"):
            status.update({"pid": pid, "pid_start": proc_start_time(pid)})
            store.write_status(run_id, status)


def _launch_host(store: RunStore, run_id: str, resume: bool, runner: ProcessRunner) -> int:
    """The host in a new session, its output to ``host.log``; the runner reaps it."""
    p = store.paths(run_id)
    log = open_nofollow(p.host_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    argv = [sys.executable, "-m", "loopwright.runs.host", str(p.root)]
    try:
        return runner.spawn_detached(
            argv + (["--resume"] if resume else []), cwd=p.root, output=log
        )
    finally:
        os.close(log)


@contextlib.contextmanager
def run_lock(store: RunStore, run_id: str) -> Iterator[None]:
    """Serialises state transitions made from outside the host (cancel, interrupt, resume)."""
    fd = open_nofollow(store.existing(run_id).lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _append(store: RunStore, run_id: str, type: EventType, data: dict[str, Any]) -> None:
    writer = EventWriter(store.paths(run_id).events, run_id, store.redact)
    try:
        writer.append(type, int(store.read_status(run_id).get("iteration") or 0), data)
    finally:
        writer.close()


def refresh(store: RunStore, run_id: str) -> RunStatus:
    """The run's status, ``elapsed`` as of now; a live state whose host is gone becomes
    ``interrupted``."""
    status = store.read_status(run_id)
    if status["state"] not in LIVE_STATES or _host_alive(status):
        return with_elapsed_now(status)
    with run_lock(store, run_id):
        status = store.read_status(run_id)
        if status["state"] in LIVE_STATES and not _host_alive(status):
            _kill_orphans(status)
            release_reserve(store.paths(run_id).root)  # room to record it; resume remakes it
            _append(
                store,
                run_id,
                "interrupted",
                {"pid": status.get("pid"), "previous_state": status["state"]},
            )
            store.set_state(run_id, status, "interrupted")
    return status


def _kill_orphans(status: RunStatus) -> None:
    """Workers the dead host left behind: they are in its session (its pid is their sid)."""
    pid = status.get("pid")
    if pid and not pid_alive(int(pid), None):  # a reused pid belongs to someone else: skip
        kill_session(int(pid))


def _host_alive(status: RunStatus) -> bool:
    pid = status.get("pid")
    if not pid:  # queued, host not yet recorded: give it a moment before calling it dead
        return time.time() - float(status.get("updated_at") or 0) < 30
    return pid_alive(int(pid), status.get("pid_start"))


def recover(store: RunStore) -> list[str]:
    """Mark every live-looking run whose host died ``interrupted``; returns their ids."""
    found = []
    for state in LIVE_STATES:
        for row in store.index.list(state, limit=100_000):
            if refresh(store, row["run_id"])["state"] == "interrupted":
                found.append(row["run_id"])
    return found


def cancel(store: RunStore, run_id: str, timeout: float = 10.0) -> RunStatus:
    """Stop a run at once: its host gets SIGTERM (then SIGKILL); returns the final status."""
    status = refresh(store, run_id)
    if status["state"] in TERMINAL_STATES:
        return status
    pid = status.get("pid")
    if status["state"] in LIVE_STATES and pid and _host_alive(status):
        os.kill(pid, signal.SIGTERM)
        # "interrupted": the host died of the signal before its handler was installed.
        status = wait(store, run_id, timeout, states=TERMINAL_STATES | {"interrupted"})
        if status["state"] in TERMINAL_STATES:
            return status
        kill_session(pid)  # the host did not stop in time: its whole session goes
    with run_lock(store, run_id):
        status = store.read_status(run_id)
        if status["state"] not in TERMINAL_STATES:
            release_reserve(store.paths(run_id).root)  # the host is gone: room for its end
            _append(store, run_id, "cancelled", {"by": "caller", "previous_state": status["state"]})
            status["elapsed"] = elapsed_now(status)  # the host wrote it last at its last phase
            store.set_state(run_id, status, "cancelled")
            store.write_result(run_id, _cancelled_result(store, run_id, status))
    return status


def _cancelled_result(store: RunStore, run_id: str, status: RunStatus) -> RunResult:
    """The result of a run whose host could not record its own cancellation."""
    from ..loop.types import RunResult, UsageTotals  # only on this path: keeps the CLI light

    iterations = int(status.get("iteration") or 0)
    result = RunResult(
        run_id=run_id,
        state="cancelled",
        stop_reason="cancelled",
        iterations=iterations,
        summary=f"cancelled after {iterations} iteration(s)",
        usage=UsageTotals.from_dict(status.get("usage") or {}),
        cwd=store.read_request(run_id)["loop"]["cwd"],
        duration=float(status.get("elapsed") or 0.0),
        workspace=status.get("workspace") or {},
    )
    return result


def wait(
    store: RunStore, run_id: str, timeout: float, states: frozenset[RunState] | None = None
) -> RunStatus:
    """Poll until the run is in one of ``states`` (default: not live) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    delay = POLL_MIN
    while True:
        status = refresh(store, run_id)
        done = status["state"] in states if states else status["state"] not in LIVE_STATES
        if done or time.monotonic() >= deadline:
            return status
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(POLL_MAX, delay * 1.5)


def resume(
    store: RunStore, run_id: str, answers: dict[str, str] | None = None, spawn: bool = True
) -> RunStatus:
    """Continue a run that asked questions, one that was interrupted, or (before its usage
    limit resets) one that is paused. A chat session is taken up by ``loopwright chat
    --resume`` (its person's process drives it), never by a run host."""
    if store.read_request(run_id).get("pattern") == "chat":
        raise InvalidState(
            f"run {run_id} is a chat session: `loopwright chat --resume {run_id}` goes on with it",
            "run_id",
        )
    if refresh(store, run_id)["state"] == "paused":
        return _wake(store, run_id)
    with run_lock(store, run_id):
        status = store.read_status(run_id)
        if status["state"] in LIVE_STATES and not _host_alive(status):
            status["state"] = "interrupted"
        if status["state"] not in ("needs_input", "interrupted"):
            raise InvalidState(
                f"run {run_id} is {status['state']}; only needs_input, interrupted or paused "
                "runs resume",
                "run_id",
            )
        if status["state"] == "needs_input":
            _check_answers(run_id, status, answers or {})
        if answers:
            _append(store, run_id, "answers", {"answers": answers, "assumed": False})
        store.set_state(run_id, status, "queued")
    if spawn:
        spawn_host(store, run_id, resume=True)
    return store.read_status(run_id)


def _check_answers(run_id: str, status: RunStatus, answers: dict[str, str]) -> None:
    """Every question answered, and no answer to a question the run did not ask."""
    asked = [q["id"] for q in status.get("questions") or []]
    unknown = sorted(set(answers) - set(asked))
    if unknown:
        raise UserError(f"run {run_id} asked no question {', '.join(map(repr, unknown))}; "
                        f"it asked: {', '.join(asked)}", "answers")  # fmt: skip
    missing = [q for q in asked if q not in answers]
    if missing:
        raise UserError(f"answers missing for question(s): {', '.join(missing)}", "answers")


def _wake(store: RunStore, run_id: str) -> RunStatus:
    """A paused run goes on now: through its waker if this process drives it, else by
    signalling its host (pid checked as for cancel); returns the status once it runs."""
    status = store.read_status(run_id)
    pid = status.get("pid")
    if driven_here(run_id):
        wake_here(run_id)
    elif pid and status.get("wake_signal") == WAKE_SIGNAL.name and _host_alive(status):
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile: status says how
            os.kill(pid, WAKE_SIGNAL)
    else:
        raise InvalidState(
            f"run {run_id} is paused in a process that cannot be woken from here; it goes "
            "on by itself when its usage limit resets (resume_at)",
            "run_id",
        )
    return wait(store, run_id, WAKE_TIMEOUT, states=frozenset(ALL_STATES) - {"paused"})


class ThreadRun:
    """A run driven on a background thread of this process (Python API, tests);
    ``runner`` starts its programs (by default the one its request calls for)."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        resume: bool,
        roles: Roles | None,
        runner: ProcessRunner | None = None,
    ) -> None:
        from anyio.from_thread import start_blocking_portal

        from .drive import drive

        self.store, self.run_id = store, run_id
        self._done = threading.Event()

        async def main() -> RunResult:
            try:
                return await drive(store, run_id, resume=resume, roles=roles, runner=runner)
            finally:
                self._done.set()

        self._portal_cm = start_blocking_portal()
        portal = self._portal_cm.__enter__()
        self.future: concurrent.futures.Future[RunResult] = portal.start_task_soon(main)
        self.future.add_done_callback(lambda _: self._close())

    def _close(self) -> None:
        threading.Thread(target=self._portal_cm.__exit__, args=(None, None, None)).start()

    def cancel(self) -> None:
        """Cancel the run: its workers are killed and the state becomes ``cancelled``."""
        self.future.cancel()

    def wait(self, timeout: float) -> RunStatus:
        self._done.wait(timeout)
        return self.store.read_status(self.run_id)


def start_thread(
    store: RunStore,
    request: RunRequest,
    roles: Roles | None = None,
    run_id: str | None = None,
    runner: ProcessRunner | None = None,
) -> ThreadRun:
    run_id = run_id or create_run(store, request)
    return ThreadRun(store, run_id, resume=False, roles=roles, runner=runner)

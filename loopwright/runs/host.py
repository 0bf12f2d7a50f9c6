"""The run-host: one process per detached run, driving its loop until it ends.

Started by the runner as ``python -m loopwright.runs.host RUN_DIR [--resume]`` in a new
session with stdin from /dev/null. It records ``run_started`` before importing the loop
(fast starts), then drives it. SIGTERM, SIGINT or SIGHUP cancel the run: workers are
killed and the state becomes ``cancelled``. The same ``drive`` runs on a thread in-process.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..config import layered
from ..errors import DiskFull, UserError
from ..hosts.rented import unwatched_warnings
from ..process.runner import become_subreaper
from .recorder import RunRecorder
from .redact import RedactingWriter
from .startup import RunRunners, begin, fail_to_start, prepare_workspace, run_runner
from .store import RunStore
from .wake import WAKE_SIGNAL, wake_here

_early_signal = False


def _warn_unwatched(recorder: RunRecorder) -> None:
    """Every run start says which paid rented instances nobody watches (their keeper died)."""
    try:
        found = unwatched_warnings()
    except (OSError, ValueError) as exc:  # a broken store must not stop the run
        found = [f"the rented-host store could not be read: {exc}"]
    for text in found:
        recorder.emit("warning", 0, {"message": text})


def _note_signal(signum: int, frame: object) -> None:
    global _early_signal
    _early_signal = True


async def _host(
    store: RunStore,
    run_id: str,
    resume: bool,
    recorder: RunRecorder,
    prepared: Future[Any] | None,
    runners: RunRunners,
) -> None:
    import anyio

    from .drive import drive

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def on_signals() -> None:
                sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
                with anyio.open_signal_receiver(*sigs) as received:
                    async for _ in received:
                        scope.cancel()
                        return

            async def on_wake() -> None:  # `loopwright resume`: a paused run goes on now
                with anyio.open_signal_receiver(WAKE_SIGNAL) as received:
                    recorder.status["wake_signal"] = WAKE_SIGNAL.name
                    async for _ in received:
                        wake_here(run_id)

            tg.start_soon(on_signals)
            tg.start_soon(on_wake)
            await anyio.sleep(0)  # the receivers are installed now
            if _early_signal:
                scope.cancel()
            await drive(
                store, run_id, resume=resume, recorder=recorder, prepared=prepared, runners=runners
            )
            tg.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    run_dir = Path(args[0])
    resume = "--resume" in args
    store = RunStore(run_dir.parent.parent)
    # host.log is this process's stderr: tracebacks and warnings may quote a secret
    sys.stderr = RedactingWriter(sys.stderr, store.redact)
    become_subreaper()  # workers' descendants that leave their session still come back to us
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # until anyio takes over
        signal.signal(sig, _note_signal)
    signal.signal(WAKE_SIGNAL, signal.SIG_IGN)  # its default would kill the host
    try:
        recorder = begin(store, run_dir.name, resume)
    except DiskFull as exc:
        fail_to_start(store, run_dir.name, exc)
        return 1
    _warn_unwatched(recorder)
    request = store.read_request(run_dir.name)
    runners = run_runner(request)
    prepared = None if resume else prepare_workspace(store, run_dir.name, recorder, runners.git)
    collecting = None if resume else _start_auto_gc(store, request.get("loop", {}).get("cwd"))
    import anyio

    anyio.run(_host, store, run_dir.name, resume, recorder, prepared, runners)
    if collecting is not None:
        collecting.join(AUTO_GC_WAIT)
    return 0


AUTO_GC_WAIT = 60.0
"""Seconds a host that ended waits for the collection it started (``gc.keep_days``)."""


def _start_auto_gc(store: RunStore, cwd: str | None) -> threading.Thread | None:
    """``gc.keep_days``: finished runs older than that go as a new run starts, on a thread
    (the run does not wait for it); a problem goes to host.log and never stops the run."""
    try:
        days = float(layered(cwd).get("gc.keep_days", (0, ""))[0])
    except UserError as exc:
        print(f"gc.keep_days not applied: {exc}", file=sys.stderr)
        return None
    if days <= 0:
        return None

    def collect() -> None:
        from .cleanup import auto_gc

        try:
            report = auto_gc(store, days)
        except Exception as exc:  # never the run's problem
            print(f"gc.keep_days: {type(exc).__name__}: {exc}", file=sys.stderr)
            return
        for item in report.removed if report else []:
            print(f"gc.keep_days removed {item.kind} {item.target}", file=sys.stderr)

    thread = threading.Thread(target=collect, name="auto-gc", daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":
    sys.exit(main())

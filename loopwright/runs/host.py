"""The run-host: one process per detached run, driving its loop until it ends.

Started by the runner as ``python -m loopwright.runs.host RUN_DIR [--resume]`` in a new
session with stdin from /dev/null. It records ``run_started`` before importing the loop
(fast starts), then drives it. SIGTERM, SIGINT or SIGHUP cancel the run: workers are
killed and the state becomes ``cancelled``. The same ``drive`` runs on a thread in-process.
"""

from __future__ import annotations

import signal
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..errors import DiskFull
from ..process.runner import become_subreaper
from .recorder import RunRecorder
from .startup import RunRunners, begin, fail_to_start, prepare_workspace, run_runner
from .store import RunStore
from .wake import WAKE_SIGNAL, wake_here

_early_signal = False


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
    become_subreaper()  # workers' descendants that leave their session still come back to us
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # until anyio takes over
        signal.signal(sig, _note_signal)
    signal.signal(WAKE_SIGNAL, signal.SIG_IGN)  # its default would kill the host
    try:
        recorder = begin(store, run_dir.name, resume)
    except DiskFull as exc:
        fail_to_start(store, run_dir.name, exc)
        return 1
    runners = run_runner(store.read_request(run_dir.name))
    prepared = None if resume else prepare_workspace(store, run_dir.name, recorder, runners.git)
    import anyio

    anyio.run(_host, store, run_dir.name, resume, recorder, prepared, runners)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The MCPServer: construction, lifespan (run store, recovery), and stdio serving.

stdout is the JSON-RPC channel: logs go to stderr and ``<state>/logs/server.log``; no
child inherits our stdin or stdout. SIGTERM/SIGINT/SIGHUP end the server cleanly:
blocking calls are cancelled (and with them the runs they own); detached runs go on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer

from .. import __version__
from ..config import state_dir
from ..runs import runner
from ..runs.store import RunStore, make_private_dir
from . import tools, wire
from .state import ServerState, log, signal_host

EXIT_GRACE = 5.0
"""Seconds a signalled server waits for its cleanup before it exits anyway."""
INSTRUCTIONS = """loopwright runs coding loops (plan -> work -> verify -> review, repeated) \
in the background. Start one with orchestrate (detached by default), follow it with \
orchestrate_tail(wait=30) or orchestrate_result(wait=true), stop it with orchestrate_cancel. \
Runs outlive this connection; orchestrate_list finds them again."""


def _recover(store: RunStore) -> None:
    try:
        found = runner.recover(store)
    except Exception:  # recovery is best effort; every reader re-checks anyway
        log.exception("startup recovery failed")
        return
    if found:
        log.info("marked %d run(s) whose host died as interrupted: %s", len(found), found)


def build_server(
    home: Path | None = None, on_close: Callable[[], None] | None = None
) -> MCPServer[ServerState]:
    """The server with every tool; ``home`` defaults to the state dir ($LOOPWRIGHT_HOME).

    ``on_close`` is called once the lifespan has cleaned up (owned runs signalled).
    """

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        store = RunStore(home or state_dir())
        # Off the loop: a big state dir must not delay the first reply.
        threading.Thread(target=_recover, args=(store,), daemon=True, name="recover").start()
        state = ServerState(store)
        try:
            yield state
        finally:
            for run_id in list(state.owned):
                signal_host(store, run_id)
            if on_close is not None:
                on_close()

    from .tasks import TasksExtension

    server: MCPServer[ServerState] = MCPServer(
        "loopwright",
        extensions=[TasksExtension()],
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",
        tools=tools.server_tools(),
        middleware=[wire.answer_refused],
    )
    return server


def setup_logging(home: Path) -> None:
    """Logs to stderr and to ``<home>/logs/server.log`` (0600); never to stdout."""
    root = logging.getLogger()
    if any(getattr(h, "_loopwright", False) for h in root.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler()]  # stderr
    try:
        make_private_dir(home / "logs")
        path = home / "logs" / "server.log"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    except OSError as exc:
        logging.getLogger("loopwright.server").warning("no log file: %s", exc)
    for h in handlers:
        h.setFormatter(fmt)
        h._loopwright = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(logging.WARNING)
    logging.getLogger("loopwright").setLevel(logging.INFO)


class Stopper:
    """The SIGTERM/SIGINT/SIGHUP handler while serving: cancels the server.

    The SDK reads stdin in a thread that cancellation cannot interrupt, so with stdin
    still open the server would never finish. Once the lifespan has cleaned up (blocking
    calls cancelled, their runs signalled), a watchdog ends the process.
    """

    def __init__(self) -> None:
        self.stop: Callable[[], Any] | None = None
        self.closed = threading.Event()

    def __call__(self, signum: int, frame: Any) -> None:
        log.info("signal %d: %s", signum, "shutting down" if self.stop else "ignored")
        if self.stop is not None:
            self.stop()
            threading.Thread(target=self._watchdog, daemon=True, name="exit").start()

    def _watchdog(self) -> None:
        self.closed.wait(EXIT_GRACE)
        log.info("server stopped (stdin still open)")
        logging.shutdown()
        os._exit(0)

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self)


async def serve_stdio(server: MCPServer[Any], stopper: Stopper) -> None:
    """Serve until stdin closes or ``stopper`` gets a signal."""
    loop = asyncio.get_running_loop()
    with anyio.CancelScope() as scope:
        stopper.stop = lambda: loop.call_soon_threadsafe(scope.cancel)
        try:
            await server.run_stdio_async()
        finally:
            stopper.stop = None


def serve() -> int:
    home = state_dir()
    setup_logging(home)
    log.info("loopwright %s serving on stdio (pid %d, state %s)", __version__, os.getpid(), home)
    stopper = Stopper()
    stopper.install()
    wire.screen_stdin()
    anyio.run(serve_stdio, build_server(home, stopper.closed.set), stopper)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        # Python resets its own handlers during teardown (~0.2 s) but keeps SIG_IGN.
        signal.signal(sig, signal.SIG_IGN)
    log.info("server stopped")
    return 0

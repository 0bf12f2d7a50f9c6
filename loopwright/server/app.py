"""The MCPServer: construction, lifespan (run store, recovery), and stdio serving.

stdout is the JSON-RPC channel: logs go to stderr and ``<state>/logs/server.log``; no
child inherits our stdin or stdout. SIGTERM/SIGINT/SIGHUP end the server cleanly:
blocking calls are cancelled (and with them the runs they own); detached runs go on.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer

from .. import __version__
from ..config import state_dir
from ..runs import runner
from ..runs.store import RunStore, make_private_dir
from . import tools
from .state import ServerState, log, signal_host

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


def build_server(home: Path | None = None) -> MCPServer[ServerState]:
    """The server with every tool; ``home`` defaults to the state dir ($LOOPWRIGHT_HOME)."""

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

    server: MCPServer[ServerState] = MCPServer(
        "loopwright",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",
    )
    tools.register(server)
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


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve until stdin closes or a signal arrives."""
    async with anyio.create_task_group() as tg:

        async def on_signals() -> None:
            sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
            with anyio.open_signal_receiver(*sigs) as received:
                async for signum in received:
                    log.info("signal %d: shutting down", signum)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(on_signals)
        await server.run_stdio_async()
        tg.cancel_scope.cancel()


def serve() -> int:
    home = state_dir()
    setup_logging(home)
    log.info("loopwright %s serving on stdio (pid %d, state %s)", __version__, os.getpid(), home)
    anyio.run(serve_stdio, build_server(home))
    log.info("server stopped")
    return 0

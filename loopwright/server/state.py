"""What every tool shares: the run store, the runs owned by blocking calls, error mapping."""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from ..errors import LoopwrightError, UserError, first_error
from ..loop.types import Question
from ..loop.vocab import LIVE_STATES, TERMINAL_STATES
from ..process.runner import pid_alive
from ..runs.diskspace import find_disk_full
from ..runs.status import RunStatus
from ..runs.store import RunStore
from .models import RunReply

log = logging.getLogger("loopwright.server")
Params = ParamSpec("Params")
T = TypeVar("T")


@dataclass
class ServerState:
    store: RunStore
    owned: set[str] = field(default_factory=set)
    """Runs started by a blocking call: cancelled when that call is cancelled."""


def tool_error(exc: Exception) -> ToolError:
    """What the caller of a tool reads when the tool raised ``exc``: a caller mistake names
    its field, a run error its kind, a full disk what could not be written; anything else
    is an internal error (its traceback goes to the server log)."""
    if isinstance(exc, BaseExceptionGroup):
        first = first_error(exc)
        exc = first if isinstance(first, Exception) else exc
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, UserError):
        field_ = f"{exc.field}: " if exc.field and not str(exc).startswith(exc.field) else ""
        return ToolError(f"{field_}{exc}")
    if isinstance(exc, LoopwrightError):
        return ToolError(f"{type(exc).__name__}: {exc}")
    disk = find_disk_full(exc)
    if disk is not None:
        return ToolError(str(disk))
    log.error("a tool failed", exc_info=exc)
    return ToolError(f"internal error: {type(exc).__name__}: {exc}")


def mapped(fn: Callable[Params, Awaitable[T]]) -> Callable[Params, Awaitable[T]]:
    """The tool ``fn`` with its errors mapped by ``tool_error``: the one place errors become
    tool errors, applied to every tool at registration. Protocol errors pass unchanged."""

    @functools.wraps(fn)
    async def tool(*args: Params.args, **kwargs: Params.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except MCPError:
            raise
        except Exception as exc:
            raise tool_error(exc) from exc

    return tool


def questions_of(status: RunStatus) -> list[Question]:
    return [Question.model_validate(q) for q in status.get("questions") or []]


def run_reply(store: RunStore, run_id: str, status: RunStatus) -> RunReply:
    """The reply of a started, waiting or finished run, with what to do next."""
    p = store.paths(run_id)
    request = store.read_request(run_id)
    state = status["state"]
    result = store.read_result(run_id) if state in TERMINAL_STATES else None
    return RunReply(
        status="running" if state in LIVE_STATES else state,
        run_id=run_id,
        run_dir=str(p.root),
        events_path=str(p.events),
        tail_command=f"tail -f {shlex.quote(str(p.events))}",
        cwd=request["loop"]["cwd"],
        scratch=bool(request.get("scratch")),
        message=next_step(run_id, state),
        questions=questions_of(status),
        result=result,
    )


def run_result(store: RunStore, run_id: str, status: RunStatus) -> CallToolResult:
    """``run_reply`` as the tool result of ``orchestrate``/``orchestrate_resume``, the same
    on the plain path and through ``tasks/get``.

    A ``failed`` run is ``isError: true``: the MCP spec reports a tool's own execution
    failure in its result with ``isError`` (not as a protocol error) so the model sees it,
    and SEP-2663 keeps such a call a ``completed`` task whose result says ``isError`` (a
    ``failed`` task is a JSON-RPC error only). ``stopped`` (criteria not met) is a
    legitimate outcome, not an error."""
    reply = run_reply(store, run_id, status).model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(reply, indent=2))],
        structured_content=reply,
        is_error=status["state"] == "failed",
    )


def next_step(run_id: str, state: str) -> str:
    if state in LIVE_STATES:
        return (
            f"Run {run_id} is running in its own process and goes on after this client "
            f"exits. Follow it with orchestrate_tail(run_id, cursor, wait=30) or wait for "
            f"the end with orchestrate_result(run_id, wait=true); stop it with "
            f"orchestrate_cancel(run_id)."
        )
    if state == "needs_input":
        return (
            f"Run {run_id} is paused: answer its questions with "
            f"orchestrate_resume(run_id, answers={{question_id: answer}})."
        )
    if state == "interrupted":
        return (
            f"Run {run_id}'s process died; orchestrate_resume(run_id) continues it from "
            f"its last completed iteration (a consult, delegate or debate: from the calls "
            f"its log holds)."
        )
    return f"Run {run_id} ended: {state}."


def signal_host(store: RunStore, run_id: str) -> None:
    """Ask a live run's host to cancel (SIGTERM) without waiting; it records ``cancelled``."""
    try:
        status = store.read_status(run_id)
        pid = status.get("pid")
        if status["state"] in LIVE_STATES and pid and pid_alive(int(pid), status.get("pid_start")):
            os.kill(int(pid), signal.SIGTERM)
            log.info("cancelled run %s owned by a cancelled call (pid %s)", run_id, pid)
    except (OSError, LoopwrightError, ValueError) as exc:
        log.warning("could not cancel run %s: %s", run_id, exc)


def allowed_roots() -> list[Path]:
    raw = os.environ.get("LOOPWRIGHT_ALLOWED_ROOTS", "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def inside(path: Path, roots: list[Path]) -> bool:
    """``path`` is or lies under one of ``roots`` (resolved; ``/a/bc`` is not in ``/a/b``)."""
    return any(path == r or path.is_relative_to(r) for r in roots)


def check_cwd_absolute(cwd: str) -> None:
    if not os.path.isabs(cwd):
        raise UserError(f"cwd {cwd!r} must be an absolute path", "cwd")


def check_cwd_allowed(cwd: str, client_roots: list[Path] | None) -> None:
    """Raise ``UserError`` unless ``cwd`` resolves inside every configured set of roots."""
    check_cwd_absolute(cwd)
    path = Path(cwd).resolve()
    env_roots = allowed_roots()
    if env_roots and not inside(path, env_roots):
        shown = ", ".join(map(str, env_roots))
        raise UserError(f"cwd {str(path)!r} is outside LOOPWRIGHT_ALLOWED_ROOTS ({shown})", "cwd")
    if client_roots is not None and not inside(path, client_roots):
        shown = ", ".join(map(str, client_roots)) or "none"
        raise UserError(f"cwd {str(path)!r} is outside the client's roots ({shown})", "cwd")

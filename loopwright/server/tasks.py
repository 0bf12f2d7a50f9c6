"""The ``io.modelcontextprotocol/tasks`` extension (SEP-2663) for ``orchestrate``.

A client that declares the extension on a 2026-07-28 connection gets a detached
``orchestrate`` back as a task handle (``resultType: "task"``) whose ``taskId`` is the
run id, then polls ``tasks/get``, answers questions with ``tasks/update`` and stops the
run with ``tasks/cancel``. The run directory stays the only state: a task is a view of a
run. Every other client keeps the plain reply and the ``orchestrate_*`` tools.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolRequestParams,
    CallToolResult,
    ClientCapabilities,
    ElicitResult,
    MissingRequiredClientCapabilityErrorData,
    RequestParams,
)
from pydantic import ConfigDict, Field

from ..errors import LoopwrightError
from ..loop.vocab import LIVE_STATES
from ..runs import runner
from ..runs.ids import check_run_id
from ..runs.status import RunStatus
from . import asking
from .state import ServerState, questions_of, run_result

TASKS = "io.modelcontextprotocol/tasks"
MODERN = frozenset({asking.MODERN})
POLL_MS = 1000
Ctx = ServerRequestContext[Any, Any]


class TaskParams(RequestParams):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    task_id: str = Field(alias="taskId")


class UpdateParams(TaskParams):
    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _state(ctx: Ctx) -> ServerState:
    state: ServerState = ctx.lifespan_context
    return state


def declared(ctx: Ctx) -> bool:
    caps = ctx.session.client_capabilities
    return bool(caps and caps.extensions and TASKS in caps.extensions)


def _run_id(ctx: Ctx, params: TaskParams) -> str:
    """The run behind a ``tasks/*`` request from a client that declared the extension
    (SEP-2663: -32021 otherwise), refused unless it names an existing run."""
    if not declared(ctx):
        needed = ClientCapabilities(extensions={TASKS: {}})
        data = MissingRequiredClientCapabilityErrorData(required_capabilities=needed)
        raise MCPError(
            code=MISSING_REQUIRED_CLIENT_CAPABILITY,
            message=f"tasks/* needs the {TASKS} extension declared in the client's capabilities",
            data=data.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
    try:
        run_id = check_run_id(params.task_id, "taskId")
        _state(ctx).store.existing(run_id)
    except LoopwrightError as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
    return run_id


def _base(run_id: str, status: RunStatus, task_status: str) -> dict[str, Any]:
    return {
        "taskId": run_id,
        "status": task_status,
        "ttlMs": None,
        "pollIntervalMs": POLL_MS,
        "createdAt": _iso(float(status.get("started_at") or time.time())),
        "lastUpdatedAt": _iso(float(status.get("updated_at") or time.time())),
        "statusMessage": f"{status['state']}: {status.get('phase')} "
        f"(iteration {status.get('iteration', 0)})",
    }


def _tool_result(state: ServerState, run_id: str, status: RunStatus) -> dict[str, Any]:
    """What the plain ``orchestrate`` call would have returned (a failed run is isError)."""
    result = run_result(state.store, run_id, status)
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def describe(state: ServerState, run_id: str) -> dict[str, Any]:
    """The task view of a run (``tasks/get``): working, input_required or settled."""
    status = runner.refresh(state.store, run_id)
    s = status["state"]
    if s in LIVE_STATES:
        return _base(run_id, status, "working")
    if s == "needs_input":
        request = asking.question_round(run_id, questions_of(status)).input_requests
        wire = {
            k: v.model_dump(mode="json", by_alias=True, exclude_none=True)
            for k, v in (request or {}).items()
        }
        return {**_base(run_id, status, "input_required"), "inputRequests": wire}
    if s == "cancelled":
        return _base(run_id, status, "cancelled")
    if s == "interrupted":
        error = {
            "code": INTERNAL_ERROR,
            "message": f"run {run_id}'s process died; orchestrate_resume(run_id) continues it",
        }
        return {**_base(run_id, status, "failed"), "error": error}
    return {**_base(run_id, status, "completed"), "result": _tool_result(state, run_id, status)}


class TasksExtension(Extension):
    identifier = TASKS

    def methods(self) -> Sequence[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskParams, self.get, MODERN),
            MethodBinding("tasks/cancel", TaskParams, self.cancel, MODERN),
            MethodBinding("tasks/update", UpdateParams, self.update, MODERN),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: Ctx, call_next: CallNext
    ) -> HandlerResult:
        result = await call_next(ctx)
        if params.name != "orchestrate" or ctx.protocol_version not in MODERN or not declared(ctx):
            return result
        reply = result.structured_content if isinstance(result, CallToolResult) else None
        if not reply or result.is_error or reply.get("status") not in ("running", "needs_input"):  # type: ignore[union-attr]
            return result  # ended blocking calls, errors and question rounds stay plain
        run_id = reply["run_id"]
        return {**describe(_state(ctx), run_id), "resultType": "task"}

    async def get(self, ctx: Ctx, params: TaskParams) -> HandlerResult:
        run_id = _run_id(ctx, params)
        try:
            return describe(_state(ctx), run_id)
        except LoopwrightError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc

    async def cancel(self, ctx: Ctx, params: TaskParams) -> HandlerResult:
        run_id = _run_id(ctx, params)
        try:
            await anyio.to_thread.run_sync(runner.cancel, _state(ctx).store, run_id)
        except LoopwrightError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
        return {}

    async def update(self, ctx: Ctx, params: UpdateParams) -> HandlerResult:
        """Answers to an input_required task resume the run; a declined form leaves it."""
        run_id = _run_id(ctx, params)
        raw = params.input_responses.get(asking.ANSWERS)
        answer = ElicitResult.model_validate(raw) if raw is not None else None
        answers = asking.accepted(answer) if answer is not None else None
        if answers is None:
            return {}
        store = _state(ctx).store
        try:
            for q in questions_of(store.read_status(run_id)):
                if not answers.get(q.id) and q.default:
                    answers[q.id] = q.default
            await anyio.to_thread.run_sync(runner.resume, store, run_id, answers)
        except LoopwrightError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
        return {}

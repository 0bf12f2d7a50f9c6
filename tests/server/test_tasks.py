"""The tasks extension: a client that declares it gets ``orchestrate`` as a task."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
import pytest
from mcp import Client, MCPError
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.server.mcpserver import MCPServer
from mcp_types import INVALID_PARAMS, CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict, Field, TypeAdapter

from loopwright.server.state import ServerState
from loopwright.server.tasks import TASKS

from .conftest import ASKING, SLOW
from .test_tools import call


class TaskParams(RequestParams):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    task_id: str = Field(alias="taskId")
    input_responses: dict[str, Any] | None = Field(None, alias="inputResponses")


class TaskRequest(Request[TaskParams, str]):
    name_param: ClassVar[str | None] = "taskId"


class TaskHandle(Result):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str


ANY = TypeAdapter(dict[str, Any])


class TaskClient(ClientExtension):
    """Settles task handles by polling ``tasks/get``; records what it saw."""

    identifier = TASKS

    def __init__(self, answers: dict[str, str] | None = None, poll: bool = True) -> None:
        self.handles: list[TaskHandle] = []
        self.seen: list[str] = []
        self.answers = answers
        self.poll = poll

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=self.settle)]

    async def request(self, ctx: ClaimContext, method: str, **params: Any) -> dict[str, Any]:
        req = TaskRequest(method=method, params=TaskParams(**params))
        return await ctx.session.send_request(req, ANY)  # type: ignore[no-any-return]

    async def settle(self, handle: TaskHandle, ctx: ClaimContext) -> CallToolResult:
        self.handles.append(handle)
        if not self.poll:  # hand back at once (an error result skips output validation)
            return CallToolResult(content=[], is_error=True)
        with anyio.fail_after(30):
            while True:
                task = await self.request(ctx, "tasks/get", taskId=handle.task_id)
                self.seen.append(task["status"])
                if task["status"] == "input_required" and self.answers is not None:
                    responses = {"answers": {"action": "accept", "content": self.answers}}
                    await self.request(
                        ctx, "tasks/update", taskId=handle.task_id, inputResponses=responses
                    )
                    self.answers = None
                elif task["status"] in ("completed", "failed", "cancelled", "input_required"):
                    return CallToolResult.model_validate(
                        task.get("result") or {"content": [], "isError": True}
                    )
                await anyio.sleep(0.05)


async def test_a_declaring_client_gets_a_task_that_settles_with_the_run_result(
    server: MCPServer[ServerState], home: Path
) -> None:
    ext = TaskClient()
    async with Client(server, extensions=[ext]) as c:
        reply = await call(c, "orchestrate", goal="write the scripted file")
    assert ext.handles and ext.handles[0].status == "working"
    assert ext.seen[-1] == "completed"
    assert reply["status"] == "completed" and reply["run_id"] == ext.handles[0].task_id
    assert reply["result"]["state"] == "completed"


async def test_input_required_tasks_are_answered_with_tasks_update(
    server: MCPServer[ServerState], scenario: Any
) -> None:
    ext = TaskClient(answers={"q1": "", "q2": "blue"})
    async with Client(server, extensions=[ext]) as c:
        reply = await call(c, "orchestrate", goal="g", backend=scenario(ASKING), questions="ask")
    assert "input_required" in ext.seen and ext.seen[-1] == "completed"
    assert reply["status"] == "completed"


async def test_tasks_cancel_stops_the_run_and_bad_task_ids_are_refused(
    server: MCPServer[ServerState], scenario: Any
) -> None:
    ext = TaskClient(poll=False)
    async with Client(server, extensions=[ext]) as c:
        await c.call_tool("orchestrate", {"goal": "g", "backend": scenario(SLOW)})
        run_id = ext.handles[0].task_id
        session = c.session
        req = TaskRequest(method="tasks/cancel", params=TaskParams(taskId=run_id))
        await session.send_request(req, ANY)
        got = await session.send_request(
            TaskRequest(method="tasks/get", params=TaskParams(taskId=run_id)), ANY
        )
        assert got["status"] == "cancelled"
        with pytest.raises(MCPError, match="not a run id"):
            await session.send_request(
                TaskRequest(method="tasks/get", params=TaskParams(taskId="../x")), ANY
            )


async def test_clients_without_the_extension_and_legacy_clients_get_plain_replies(
    server: MCPServer[ServerState], mode: str
) -> None:
    async with Client(server, mode=mode) as c:
        reply = await call(c, "orchestrate", goal="g")
    assert reply["status"] == "running"


FAILING = {"planner": ["no json here", "still no json"]}
"""A planner whose replies cannot be used, even repaired: the run ends ``failed``."""


async def test_a_failed_run_is_an_error_result_on_the_plain_path_and_through_tasks_get(
    server: MCPServer[ServerState], scenario: Any
) -> None:
    """The same call gives the same result either way (see ``state.run_result``)."""
    async with Client(server) as c:
        with anyio.fail_after(30):
            plain = await c.call_tool(
                "orchestrate", {"goal": "g", "backend": scenario(FAILING), "detach": False}
            )
    assert plain.is_error and plain.structured_content
    assert plain.structured_content["status"] == "failed"
    ext = TaskClient()
    async with Client(server, extensions=[ext]) as c:
        tasked = await c.call_tool("orchestrate", {"goal": "g", "backend": scenario(FAILING)})
    assert ext.seen[-1] == "completed"  # SEP-2663: a tool's error result is a completed task
    assert tasked.is_error and tasked.structured_content
    assert tasked.structured_content["status"] == "failed"


async def test_tasks_methods_from_a_client_that_did_not_declare_the_extension_are_refused(
    server: MCPServer[ServerState],
) -> None:
    async with Client(server) as c:  # 2026-07-28, no tasks extension declared
        run_id = (await call(c, "orchestrate", goal="g"))["run_id"]
        for method, extra in (
            ("tasks/get", {}),
            ("tasks/cancel", {}),
            ("tasks/update", {"inputResponses": {}}),
        ):
            req = TaskRequest(method=method, params=TaskParams(taskId=run_id, **extra))
            with pytest.raises(MCPError) as raised:
                await c.session.send_request(req, ANY)
            assert raised.value.error.code == -32021, method
            data = raised.value.error.data
            assert data == {"requiredCapabilities": {"extensions": {TASKS: {}}}}, method
        assert (await call(c, "orchestrate_status", run_id=run_id))["state"] != "cancelled"


async def test_tasks_update_and_get_of_an_unknown_task_are_refused(
    server: MCPServer[ServerState],
) -> None:
    ext = TaskClient(poll=False)
    async with Client(server, extensions=[ext]) as c:
        await c.call_tool("orchestrate", {"goal": "g"})  # the session now knows the extension
        unknown = "20261123-071300123-a3f9c2"
        for method in ("tasks/update", "tasks/get", "tasks/cancel"):
            req = TaskRequest(method=method, params=TaskParams(taskId=unknown))
            with pytest.raises(MCPError, match="no run") as raised:
                await c.session.send_request(req, ANY)
            assert raised.value.error.code == INVALID_PARAMS, method

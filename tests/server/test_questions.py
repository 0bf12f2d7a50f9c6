"""Clarifying questions on every path: elicitation by era, needs_input and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import ElicitRequestFormParams, ElicitResult

from loopwright.server.state import ServerState

from ..helpers import events_of
from .conftest import ASKING
from .test_tools import call, error


def answering(action: str, content: dict[str, Any] | None = None) -> Any:
    asked: list[ElicitRequestFormParams] = []

    async def callback(ctx: Any, params: ElicitRequestFormParams) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


async def test_the_client_is_asked_by_form_and_the_same_run_goes_on(
    server: MCPServer[ServerState], mode: str, scenario: Any, home: Path
) -> None:
    callback = answering("accept", {"q1": "", "q2": "blue"})
    async with Client(server, mode=mode, elicitation_callback=callback) as c:
        with anyio.fail_after(30):
            reply = await call(
                c, "orchestrate", goal="g", questions="ask", backend=scenario(ASKING), detach=False
            )
    assert reply["status"] == "completed"
    form = callback.asked[0]
    assert set(form.requested_schema["properties"]) == {"q1", "q2"}
    assert form.requested_schema["required"] == ["q2"]
    events = events_of(home / "runs" / reply["run_id"] / "events.jsonl")
    answers = [e["data"]["answers"] for e in events if e["type"] == "answers"]
    assert answers == [{"q1": "a", "q2": "blue"}]  # a blank answer takes the default
    assert [e["type"] for e in events].count("run_started") == 1
    assert len(list((home / "runs").iterdir())) == 1


async def test_a_detached_start_asks_after_intake_and_returns_running(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    callback = answering("accept", {"q1": "x", "q2": "y"})
    async with Client(server, mode=mode, elicitation_callback=callback) as c:
        with anyio.fail_after(30):
            reply = await call(
                c, "orchestrate", goal="g", questions="ask", backend=scenario(ASKING)
            )
            assert reply["status"] == "running"
            result = await call(c, "orchestrate_result", run_id=reply["run_id"], wait=True)
    assert result["state"] == "completed"


async def test_a_cancelled_form_leaves_the_run_waiting_for_orchestrate_resume(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    async with Client(server, mode=mode, elicitation_callback=answering("cancel")) as c:
        with anyio.fail_after(30):
            reply = await call(
                c, "orchestrate", goal="g", questions="ask", backend=scenario(ASKING)
            )
            assert reply["status"] == "needs_input"
            assert [q["id"] for q in reply["questions"]] == ["q1", "q2"]
            assert "orchestrate_resume" in reply["message"]
            resumed = await call(
                c,
                "orchestrate_resume",
                run_id=reply["run_id"],
                answers={"q1": "a", "q2": "b"},
                detach=False,
            )
    assert resumed["status"] == "completed"


async def test_a_client_without_elicitation_gets_needs_input_and_must_answer_all(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    async with Client(server, mode=mode) as c:
        with anyio.fail_after(30):
            reply = await call(
                c, "orchestrate", goal="g", questions="ask", backend=scenario(ASKING), detach=False
            )
            run_id = reply["run_id"]
            assert reply["status"] == "needs_input"
            status = await call(c, "orchestrate_status", run_id=run_id)
            assert status["state"] == "needs_input" and len(status["questions"]) == 2
            text = await error(c, "orchestrate_resume", run_id=run_id, answers={"q1": "a"})
            assert "answers" in text and "q2" in text
            resumed = await call(
                c, "orchestrate_resume", run_id=run_id, answers={"q1": "a", "q2": "b"}
            )
            assert resumed["status"] == "running"
            result = await call(c, "orchestrate_result", run_id=run_id, wait=True)
    assert result["state"] == "completed"


async def test_resume_without_answers_asks_a_client_that_can_answer(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    async with Client(server, mode=mode) as c:
        with anyio.fail_after(30):
            run_id = (
                await call(c, "orchestrate", goal="g", questions="ask", backend=scenario(ASKING))
            )["run_id"]
    callback = answering("accept", {"q1": "a", "q2": "b"})
    async with Client(server, mode=mode, elicitation_callback=callback) as c:
        with anyio.fail_after(30):
            resumed = await call(c, "orchestrate_resume", run_id=run_id, detach=False)
    assert resumed["status"] == "completed" and callback.asked

"""consult, delegate and debate over MCP: runs like orchestrate's, followed and cancelled
with the same tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.runs.store import RunStore
from loopwright.server.state import ServerState

from .test_tools import call, tail_to_end, until_phase

QUESTION = "Which queue should the service use?"


async def test_consult_over_mcp_returns_at_once_and_tails_to_attributed_answers(
    server: MCPServer[ServerState], scenario: Any
) -> None:
    a = scenario({"consult": ["Use Redis streams"]}, "a.json")
    b = scenario(
        {
            "consult": [
                {
                    "text": "Use Postgres",
                    "usage": {"input_tokens": 9, "output_tokens": 3, "cost_usd": 0.001},
                }
            ]
        },
        "b.json",
    )
    async with Client(server) as c:
        started = await call(c, "consult", question=QUESTION, models=[a, b])
        assert started["status"] == "running"
        events = await tail_to_end(c, started["run_id"])
        result = await call(c, "orchestrate_result", run_id=started["run_id"])
    exchanges = [e["data"] for e in events if e["type"] == "exchange"]
    assert sorted((x["spec"], x["text"]) for x in exchanges) == [
        (a, "Use Redis streams"),
        (b, "Use Postgres"),
    ]
    assert result["state"] == "completed"
    answers = result["result"]["extra"]["answers"]
    assert [(x["spec"], x["input_tokens"], x["cost_usd"]) for x in answers] == [
        (a, 0, 0.0),
        (b, 9, 0.001),
    ]
    assert result["result"]["extra"]["disagreement"]["mean"] is not None


async def test_delegate_over_mcp_edits_a_worktree_and_the_reviewer_judges_it(
    server: MCPServer[ServerState], scenario: Any, repo: Path
) -> None:
    reviewer = scenario({"reviewer": [{"json": {"complete": True, "score": 1}}]}, "r.json")
    async with Client(server) as c:
        with anyio.fail_after(60):
            r = await c.call_tool(
                "delegate",
                {
                    "backend": "scripted",
                    "task": "write notes",
                    "reviewer": reviewer,
                    "cwd": str(repo),
                    "detach": False,
                },
            )
        reply = r.structured_content
        assert reply is not None and reply["status"] == "completed", reply
        diff = await call(c, "orchestrate_diff", run_id=reply["run_id"])
    extra = reply["result"]["extra"]
    assert extra["verdict"]["complete"] and extra["verdict"]["reviewer"] == reviewer
    assert "loopwright-scripted.md" in extra["patch"]
    assert [f["path"] for f in diff["files"]] == ["loopwright-scripted.md"]


async def test_debate_over_mcp_is_cancelled_mid_round_with_orchestrate_cancel(
    server: MCPServer[ServerState], scenario: Any, home: Path
) -> None:
    quick = scenario({"debate": ["tabs"]}, "q.json")
    slow = scenario({"debate": [{"text": "spaces", "delay": 60}]}, "s.json")
    async with Client(server) as c:
        started = await call(c, "debate", question="Tabs or spaces?", models=[quick, slow])
        run_id = started["run_id"]
        await until_phase(c, run_id, "debate")
        cancelled = await call(c, "orchestrate_cancel", run_id=run_id)
        result = await call(c, "orchestrate_result", run_id=run_id)
    assert cancelled["state"] == "cancelled"
    assert result["state"] == "cancelled"
    rounds = result["result"]["extra"]["rounds"]
    assert [x["text"] for x in rounds[0]["exchanges"]] in ([], ["tabs"])
    assert RunStore(home).read_status(run_id)["state"] == "cancelled"


async def test_a_debate_with_a_judge_blocks_until_the_pick(
    server: MCPServer[ServerState], scenario: Any
) -> None:
    a = scenario({"debate": ["tabs tabs"]}, "a.json")
    b = scenario({"debate": ["spaces spaces"]}, "b.json")
    judge = scenario({"judge": [{"json": {"pick": 2, "reason": "PEP 8"}}]}, "j.json")
    async with Client(server) as c:
        with anyio.fail_after(60):
            r = await c.call_tool(
                "debate",
                {
                    "question": "Tabs or spaces?",
                    "models": [a, b],
                    "judge": judge,
                    "rounds": 1,
                    "detach": False,
                },
            )
    reply = r.structured_content
    assert reply is not None and reply["status"] == "completed", reply
    pick = reply["result"]["extra"]["pick"]
    assert (pick["by"], pick["spec"], pick["reason"]) == ("judge", b, "PEP 8")


async def test_a_debate_of_one_is_refused_by_the_schema_and_starts_nothing(
    server: MCPServer[ServerState], home: Path
) -> None:
    async with Client(server) as c:
        r = await c.call_tool("debate", {"question": "q", "models": ["scripted"]})
    assert r.is_error
    assert "models" in json.dumps([getattr(x, "text", "") for x in r.content])
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())

"""Every tool through the SDK's in-memory client, on 2026-07-28 and on the legacy era."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.runs.store import RunStore
from loopwright.server.state import ServerState

from .conftest import SLOW

TOOLS = {
    "orchestrate",
    "orchestrate_resume",
    "orchestrate_tail",
    "orchestrate_status",
    "orchestrate_result",
    "orchestrate_cancel",
    "orchestrate_list",
    "orchestrate_diff",
    "orchestrate_merge",
    "orchestrate_delete",
    "list_backends",
    "doctor",
    "consult",
    "delegate",
    "debate",
    "improve",
    "list_hosts",
}


async def call(c: Client, name: str, **args: Any) -> dict[str, Any]:
    r = await c.call_tool(name, args)
    assert not r.is_error, r.content
    assert r.structured_content is not None
    return r.structured_content


async def error(c: Client, name: str, **args: Any) -> str:
    r = await c.call_tool(name, args)
    assert r.is_error
    text: str = r.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return text


async def tail_to_end(c: Client, run_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    with anyio.fail_after(30):
        while True:
            page = await call(c, "orchestrate_tail", run_id=run_id, cursor=cursor, wait=10)
            events += page["events"]
            cursor = page["cursor"]
            if not page["running"] and not page["more"]:
                return events


async def until_phase(c: Client, run_id: str, phase: str) -> None:
    with anyio.fail_after(20):
        while (await call(c, "orchestrate_status", run_id=run_id))["phase"] != phase:
            await anyio.sleep(0.02)


async def test_every_tool_is_listed_with_described_inputs_and_an_output_schema(
    server: MCPServer[ServerState], mode: str
) -> None:
    async with Client(server, mode=mode) as c:
        tools = (await c.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for t in tools:
        assert t.description and t.output_schema, t.name
        for name, prop in t.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{t.name}.{name} has no description"


async def test_a_detached_run_returns_at_once_and_is_tailed_to_completion(
    server: MCPServer[ServerState], mode: str, home: Path
) -> None:
    async with Client(server, mode=mode) as c:
        started = await call(c, "orchestrate", goal="write the scripted file")
        assert started["status"] == "running"
        assert started["tail_command"] == f"tail -f {started['events_path']}"
        assert "goes on after this client exits" in started["message"]
        assert "orchestrate_cancel" in started["message"]
        assert started["scratch"] and started["cwd"].startswith(str(home / "scratch"))
        events = await tail_to_end(c, started["run_id"])
        assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_finished"
        assert [e["seq"] for e in events] == list(range(len(events)))
        result = await call(c, "orchestrate_result", run_id=started["run_id"])
    assert result["done"] and result["state"] == "completed"
    assert result["result"]["workspace"]["repo"] == started["cwd"]
    workspace = result["result"]["workspace"]
    assert workspace["branch"] == f"loopwright/{started['run_id']}"
    assert [f["path"] for f in workspace["changed_files"]] == ["loopwright-scripted.md"]


async def test_a_blocking_run_reports_progress_per_phase_and_iteration(
    server: MCPServer[ServerState], mode: str
) -> None:
    messages: list[str] = []

    async def progress(p: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(server, mode=mode) as c:
        with anyio.fail_after(30):
            r = await c.call_tool(
                "orchestrate", {"goal": "write it", "detach": False}, progress_callback=progress
            )
    reply = r.structured_content
    assert reply is not None and reply["status"] == "completed"
    assert reply["result"]["state"] == "completed"
    assert "iteration 1/5: 1/1 subgoals ok, verify none, review: complete" in messages
    assert messages[-1].startswith("finished: completed")


async def test_a_quiet_blocking_run_still_sends_progress_as_a_heartbeat(
    server: MCPServer[ServerState], scenario: Any, monkeypatch: Any
) -> None:
    """Progress resets Claude Code's idle timeout: it must flow while a phase is long."""
    monkeypatch.setattr("loopwright.server.waiting.HEARTBEAT", 0.1)
    messages: list[str] = []

    async def progress(p: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    quiet = scenario({"worker": [{"delay": 0.6, "text": "slow"}]})
    async with Client(server) as c:
        with anyio.fail_after(30):
            r = await c.call_tool(
                "orchestrate",
                {"goal": "g", "backend": quiet, "detach": False},
                progress_callback=progress,
            )
    assert not r.is_error
    assert any("s elapsed" in m for m in messages), messages


async def test_status_list_backends_and_doctor_answer(
    server: MCPServer[ServerState], mode: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-very-secret-value")
    async with Client(server, mode=mode) as c:
        run_id = (await call(c, "orchestrate", goal="g", detach=False))["run_id"]
        status = await call(c, "orchestrate_status", run_id=run_id)
        listed = await call(c, "orchestrate_list", state="completed")
        backends = await call(c, "list_backends")
        doctor = await call(c, "doctor", cwd=str(Path.cwd()))
    assert status["state"] == "completed" and not status["running"]
    assert status["usage"]["agent_calls"] >= 3
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    scripted = next(b for b in backends["backends"] if b["name"] == "scripted")
    assert scripted["available"]
    assert all(b["fix"] for b in backends["backends"] if not b["available"])
    assert doctor["credentials"]["ANTHROPIC_API_KEY"] is True
    assert "sk-very-secret-value" not in str(doctor)
    assert {"python", "loopwright", "mcp", "git"} <= set(doctor["versions"])
    assert any("Claude Code" in a for a in doctor["advice"])


async def test_a_run_is_cancelled_and_its_result_says_so(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    async with Client(server, mode=mode) as c:
        run_id = (await call(c, "orchestrate", goal="g", backend=scenario(SLOW)))["run_id"]
        reply = await call(c, "orchestrate_cancel", run_id=run_id)
        result = await call(c, "orchestrate_result", run_id=run_id)
        again = await call(c, "orchestrate_cancel", run_id=run_id)
    assert reply["state"] == "cancelled" and again["state"] == "cancelled"
    assert result["result"]["state"] == "cancelled"


async def test_other_calls_are_answered_while_a_call_waits(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    async with Client(server, mode=mode) as c:
        run_id = (await call(c, "orchestrate", goal="g", backend=scenario(SLOW)))["run_id"]
        await until_phase(c, run_id, "work")
        waited: dict[str, Any] = {}

        async def wait_result() -> None:
            waited.update(await call(c, "orchestrate_result", run_id=run_id, wait=True, timeout=20))

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_result)
            tg.start_soon(c.call_tool, "orchestrate_tail", {"run_id": run_id, "wait": 20})
            with anyio.fail_after(5):
                for _ in range(5):
                    t0 = time.perf_counter()
                    await call(c, "orchestrate_status", run_id=run_id)
                    assert time.perf_counter() - t0 < 1.0
            await call(c, "orchestrate_cancel", run_id=run_id)
    assert waited["state"] == "cancelled" and waited["done"]


async def test_result_without_wait_says_not_done_while_running(
    server: MCPServer[ServerState], mode: str, scenario: Any
) -> None:
    async with Client(server, mode=mode) as c:
        run_id = (await call(c, "orchestrate", goal="g", backend=scenario(SLOW)))["run_id"]
        result = await call(c, "orchestrate_result", run_id=run_id)
        waited = await call(c, "orchestrate_result", run_id=run_id, wait=True, timeout=0.2)
        await call(c, "orchestrate_cancel", run_id=run_id)
    assert not result["done"] and result["result"] is None
    assert not waited["done"] and "orchestrate_tail" in waited["message"]


async def test_cancelling_a_blocking_call_cancels_its_run(
    server: MCPServer[ServerState], mode: str, scenario: Any, home: Path
) -> None:
    store = RunStore(home)
    async with Client(server, mode=mode) as c:
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                c.call_tool,
                "orchestrate",
                {"goal": "g", "backend": scenario(SLOW), "detach": False},
            )
            with anyio.fail_after(20):
                while not store.index.list("running", 5):
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
        run_id = store.index.list(None, 1)[0]["run_id"]
        with anyio.fail_after(20):
            while (await call(c, "orchestrate_status", run_id=run_id))["state"] != "cancelled":
                await anyio.sleep(0.05)


async def test_bad_inputs_are_tool_errors_naming_the_argument(
    server: MCPServer[ServerState], mode: str, home: Path, tmp_path: Path
) -> None:
    async with Client(server, mode=mode) as c:
        for bad in ("../x", "/etc/passwd", "", "20261123-071300123-A3F9C2"):
            assert "is not a run id" in await error(c, "orchestrate_status", run_id=bad)
            assert "is not a run id" in await error(c, "orchestrate_tail", run_id=bad)
            assert "is not a run id" in await error(c, "orchestrate_cancel", run_id=bad)
        missing = "20261123-071300123-a3f9c2"
        assert "no run" in await error(c, "orchestrate_result", run_id=missing)
        assert "no run" in await error(c, "orchestrate_resume", run_id=missing)
        assert "must be an absolute path" in await error(c, "orchestrate", goal="g", cwd="rel")
        gone = str(tmp_path / "nowhere")
        assert "does not exist" in await error(c, "orchestrate", goal="g", cwd=gone)
        assert "goal" in await error(c, "orchestrate", goal="   ")
        assert "backend" in await error(c, "orchestrate", goal="g", backend="nope:x")
        plain = str(tmp_path)  # not a git repository: isolation needs one
        assert "isolate=false" in await error(c, "orchestrate", goal="g", cwd=plain)
        assert "max_iterations" in await error(c, "orchestrate", goal="g", max_iterations=0)
        assert "verify" in await error(c, "orchestrate", goal="g", verify_commands=[[]])
        run_id = (await call(c, "orchestrate", goal="g", detach=False))["run_id"]
        assert "cursor" in await error(c, "orchestrate_tail", run_id=run_id, cursor="x")
        assert "cursor" in await error(c, "orchestrate_tail", run_id=run_id, cursor="99999999")
        assert "only needs_input, interrupted or paused" in await error(
            c, "orchestrate_resume", run_id=run_id
        )
    assert not (home / "runs" / "..").joinpath("x").exists()
    assert len(list((home / "runs").iterdir())) == 1  # rejected requests created nothing

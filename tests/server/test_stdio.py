"""``loopwright serve`` as a real stdio subprocess: runs, restarts, host deaths, shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client as stdio_client_transport

from loopwright.process.runner import kill_session
from loopwright.runs.store import RunStore

from ..helpers import wait_dead
from .conftest import SLOW
from .test_tools import call, tail_to_end

LOOPWRIGHT = str(Path(sys.executable).with_name("loopwright"))


def server_env(home: Path) -> dict[str, str]:
    return {"LOOPWRIGHT_HOME": str(home), "PATH": os.environ["PATH"]}


@asynccontextmanager
async def stdio_client(home: Path, mode: str = "auto") -> AsyncIterator[Client]:
    params = StdioServerParameters(command=LOOPWRIGHT, args=["serve"], env=server_env(home))
    with (home.parent / "server-stderr.log").open("a") as errlog:
        async with Client(stdio_client_transport(params, errlog=errlog), mode=mode) as c:
            yield c


async def until_state(store: RunStore, run_id: str, states: set[str], timeout: float = 30) -> str:
    from loopwright.runs import runner

    with anyio.fail_after(timeout):
        while (state := runner.refresh(store, run_id)["state"]) not in states:
            await anyio.sleep(0.02)
    return state


async def test_a_run_over_stdio_is_tailed_to_its_completed_result(
    home: Path, scenario: Any
) -> None:
    noisy = scenario(
        {
            "worker": [
                {
                    "run": ["sh", "-c", "echo NOT-JSON; echo NOT-JSON >&2"],
                    "text": "printed to fd 1 and 2",
                }
            ]
        }
    )
    async with stdio_client(home) as c:
        started = await call(c, "orchestrate", goal="print things", backend=noisy)
        events = await tail_to_end(c, started["run_id"])
        result = await call(c, "orchestrate_result", run_id=started["run_id"], wait=True)
    assert events[-1]["type"] == "run_finished"
    assert result["state"] == "completed" and result["result"]["state"] == "completed"


async def test_a_detached_run_finishes_after_the_server_is_closed(
    home: Path, scenario: Any
) -> None:
    brief = scenario({"worker": [{"delay": 1.0, "text": "done"}]})
    async with stdio_client(home) as c:
        run_id = (await call(c, "orchestrate", goal="g", backend=brief))["run_id"]
    store = RunStore(home)
    assert await until_state(store, run_id, {"completed", "failed", "interrupted"}) == "completed"


async def test_a_killed_host_is_interrupted_then_resumed_to_completion(
    home: Path, scenario: Any, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    held = scenario(
        {
            "worker": [
                {
                    "run": ["sh", "-c", f"while [ ! -f {gate} ]; do sleep 0.05; done"],
                    "text": "passed the gate",
                }
            ]
        }
    )
    store = RunStore(home)
    async with stdio_client(home) as c:
        run_id = (await call(c, "orchestrate", goal="g", backend=held))["run_id"]
        with anyio.fail_after(20):
            while store.read_status(run_id).get("phase") != "work":
                await anyio.sleep(0.02)
    pid = int(store.read_status(run_id)["pid"])
    kill_session(pid)
    await wait_dead(pid)
    gate.touch()
    async with stdio_client(home) as c:
        status = await call(c, "orchestrate_status", run_id=run_id)
        assert status["state"] == "interrupted"
        resumed = await call(c, "orchestrate_resume", run_id=run_id, detach=False)
    assert resumed["status"] == "completed"
    assert json.loads(store.paths(run_id).result.read_text())["state"] == "completed"


def rpc(id: int | None, method: str, params: dict[str, Any]) -> bytes:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if id is not None:
        msg["id"] = id
    return (json.dumps(msg) + "\n").encode()


def orchestrate_rpc(id: int, **arguments: Any) -> bytes:
    return rpc(id, "tools/call", {"name": "orchestrate", "arguments": arguments})


async def serve_two_runs(home: Path, scenario: Any) -> tuple[Process, dict[str, str]]:
    """A raw server (legacy handshake) with a detached run and a blocking call's run."""
    store = RunStore(home)
    slow, brief = scenario(SLOW, "slow.json"), scenario({"worker": [{"delay": 0.5}]}, "b.json")
    env = {**os.environ, **server_env(home)}
    proc = await anyio.open_process([LOOPWRIGHT, "serve"], env=env, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    }
    await proc.stdin.send(rpc(1, "initialize", init))
    await proc.stdin.send(rpc(None, "notifications/initialized", {}))
    await proc.stdin.send(orchestrate_rpc(2, goal="detached", backend=brief))
    await proc.stdin.send(orchestrate_rpc(3, goal="blocking", backend=slow, detach=False))
    with anyio.fail_after(20):
        while len(store.index.list("running", 10)) < 2:
            await anyio.sleep(0.02)
    return proc, {r["goal"]: r["run_id"] for r in store.index.list(None, 10)}


@pytest.mark.parametrize("how", ["eof_then_sigterm", "sigterm", "sigint"])
async def test_shutdown_is_prompt_and_cancels_only_the_blocking_run(
    home: Path, scenario: Any, how: str
) -> None:
    """Claude Code's exit closes stdin and sends SIGTERM ~0.1 s later; a terminal's Ctrl-C
    or a kill leaves stdin open."""
    proc, runs = await serve_two_runs(home, scenario)
    assert proc.stdin is not None and proc.stdout is not None
    if how == "eof_then_sigterm":
        await proc.stdin.aclose()
        await anyio.sleep(0.1)  # the client's own delay before its SIGTERM, not a settle
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
    with anyio.fail_after(5):
        code = await proc.wait()
    out = b"".join([chunk async for chunk in proc.stdout])
    await proc.aclose()
    assert code == 0
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in out.splitlines() if line)
    store = RunStore(home)
    assert await until_state(store, runs["blocking"], {"cancelled"}) == "cancelled"
    assert await until_state(store, runs["detached"], {"completed", "cancelled"}) == "completed"


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


async def replies(proc: Process, ids: set[int]) -> dict[int, dict[str, Any]]:
    """The replies to ``ids``, read line by line from the server's stdout (bounded)."""
    assert proc.stdout is not None
    got: dict[int, dict[str, Any]] = {}
    buffer = b""
    with anyio.fail_after(20):
        while not ids <= set(got):
            buffer += await proc.stdout.receive()
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                if msg.get("id") in ids:
                    got[msg["id"]] = msg
    return got


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_a_lone_surrogate_gets_an_invalid_params_error_and_the_server_goes_on(
    home: Path, era: str
) -> None:
    """Without the screen the SDK drops the line and no reply ever comes."""
    env = {**os.environ, **server_env(home)}
    proc = await anyio.open_process([LOOPWRIGHT, "serve"], env=env, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    meta = {"_meta": MODERN_META} if era == "modern" else {}
    if era == "legacy":
        init = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        }
        await proc.stdin.send(rpc(1, "initialize", init))
        await proc.stdin.send(rpc(None, "notifications/initialized", {}))
    try:
        bad = {"name": "doctor", "arguments": {"cwd": "/tmp/\ud800"}, **meta}
        await proc.stdin.send(rpc(2, "tools/call", bad))  # json.dumps writes "\ud800"
        await proc.stdin.send(rpc(3, "tools/call", {"name": "orchestrate_list", **meta}))
        got = await replies(proc, {2, 3})
    finally:
        await proc.stdin.aclose()
        with anyio.fail_after(10):
            await proc.wait()
        await proc.aclose()
    assert got[2]["error"]["code"] == -32602
    assert "params.arguments.cwd" in got[2]["error"]["message"]
    assert "surrogate" in got[2]["error"]["message"]
    assert got[3]["result"]["structuredContent"] == {"runs": []}

"""``orchestrate_status`` latency through a real ``loopwright serve`` with 50 detached runs.

Starts ``--runs`` detached runs whose workers sleep (so every host stays alive), then times
``--calls`` sequential ``orchestrate_status`` calls from the client (JSON-RPC round trip
included): once alone, once while another call waits in ``orchestrate_result(wait=true)``
and a third in ``orchestrate_tail(wait=60)``; then once more through a bare JSON-RPC pipe
to a second server (no SDK client overhead). Targets: median <= 5 ms with 50 runs
active; p99 <= 20 ms while another call waits. Baseline (athena-loops, mcp 1.x): a status
call held up 4.8 s while another call waited. All runs are cancelled at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

LOOPWRIGHT = str(Path(sys.executable).with_name("loopwright"))


async def timed_status(c: Client, run_ids: list[str], n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        r = await c.call_tool("orchestrate_status", {"run_id": run_ids[i % len(run_ids)]})
        out.append((time.perf_counter() - t0) * 1000)
        assert not r.is_error and r.structured_content
        assert r.structured_content["state"] == "running", r.structured_content
    return out


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    med = statistics.median(ms)
    return f"{name:<44} median {med:6.2f} ms   p99 {p99:6.2f} ms   max {ms[-1]:6.2f} ms"


def raw_status(home: str, run_ids: list[str], n: int) -> list[float]:
    """The same call over a bare JSON-RPC pipe (legacy handshake): server + wire cost only,
    without the SDK client's own validation."""
    env = {"LOOPWRIGHT_HOME": home, "PATH": os.environ["PATH"]}
    proc = subprocess.Popen(
        [LOOPWRIGHT, "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin and proc.stdout

    def ask(msg: dict[str, Any]) -> dict[str, Any]:
        proc.stdin.write((json.dumps({"jsonrpc": "2.0", **msg}) + "\n").encode())  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(proc.stdout.readline()) if "id" in msg else {}  # type: ignore[union-attr]

    ask(
        {
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        }
    )
    ask({"method": "notifications/initialized", "params": {}})
    out = []
    for i in range(n):
        args = {"name": "orchestrate_status", "arguments": {"run_id": run_ids[i % len(run_ids)]}}
        t0 = time.perf_counter()
        reply = ask({"id": i + 1, "method": "tools/call", "params": args})
        out.append((time.perf_counter() - t0) * 1000)
        assert reply["result"]["structuredContent"]["state"] == "running"
    proc.stdin.close()
    proc.wait(10)
    return out


async def start_runs(c: Client, backend: str, n: int) -> list[str]:
    ids: list[str] = []

    async def one() -> None:
        r = await c.call_tool("orchestrate", {"goal": "sleep", "backend": backend})
        assert not r.is_error and r.structured_content, r.content
        ids.append(r.structured_content["run_id"])

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return ids


async def until_running(c: Client, ids: list[str]) -> None:
    with anyio.fail_after(300):
        for run_id in ids:
            while True:
                r = await c.call_tool("orchestrate_status", {"run_id": run_id})
                sc: dict[str, Any] = r.structured_content or {}
                if sc.get("state") == "running" and sc.get("phase") == "work":
                    break
                await anyio.sleep(0.1)


async def bench(runs: int, calls: int) -> None:
    home = tempfile.mkdtemp(prefix="lw-bench-status-")
    scenario = Path(home) / "sleep.json"
    scenario.write_text(json.dumps({"worker": [{"delay": 900, "text": "slept"}]}))
    env = {"LOOPWRIGHT_HOME": home, "PATH": os.environ["PATH"]}
    params = StdioServerParameters(command=LOOPWRIGHT, args=["serve"], env=env)
    async with Client(params) as c:
        t0 = time.perf_counter()
        ids = await start_runs(c, f"scripted:{scenario}", runs)
        await until_running(c, ids)
        print(f"{runs} detached runs started and working in {time.perf_counter() - t0:.1f} s")
        alone = await timed_status(c, ids, calls)
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                c.call_tool, "orchestrate_result", {"run_id": ids[0], "wait": True, "timeout": 600}
            )
            tg.start_soon(c.call_tool, "orchestrate_tail", {"run_id": ids[1], "wait": 60})
            await anyio.sleep(0.5)  # let both calls reach their wait
            busy = await timed_status(c, ids, calls)
            tg.cancel_scope.cancel()
        raw = await anyio.to_thread.run_sync(raw_status, home, ids, calls)
        print(summary(f"orchestrate_status, {runs} runs active", alone))
        print(summary("... while result(wait) and tail(wait) wait", busy))
        print(summary("... bare JSON-RPC pipe, no SDK client", raw))
        print("targets: median <= 5 ms; p99 <= 20 ms while another call waits")
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for run_id in ids:
                    tg.start_soon(c.call_tool, "orchestrate_cancel", {"run_id": run_id})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    anyio.run(bench, args.runs, args.calls)


if __name__ == "__main__":
    main()

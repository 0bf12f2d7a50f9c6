"""``loopwright serve``: spawn to initialize reply, and idle RSS, side by side with the SDK.

Interleaves N rounds of: (a) ``python -c "import mcp.server.mcpserver"`` to exit, with its
peak RSS; (b) ``loopwright serve`` from spawn to the initialize reply (legacy handshake),
then its RSS after 1 s idle. Prints medians and the ratios the issue sets as targets:
spawn-to-initialize <= 1.2 x the bare import; idle RSS <= the import's RSS + 15 MB.
Also times ``import mcp.server.lowlevel`` (would the low-level server be leaner?) and
lists which heavy modules the serving process has loaded (they should be absent).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
LOOPWRIGHT = str(Path(PY).with_name("loopwright"))
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"},
    },
}
HEAVY = (
    "anthropic",
    "git",
    "httpx",
    "google.genai",
    "loopwright.loop.harness",
    "loopwright.backends.scripted",
)


def bare_import(module: str = "mcp.server.mcpserver") -> tuple[float, float]:
    """Spawn to the line printed right after the import (not to exit: interpreter teardown
    takes ~0.2 s and would flatter the comparison), and the peak RSS."""
    code = (
        f"import {module}, resource, sys; print(resource.getrusage(0).ru_maxrss); "
        "sys.stdout.flush()"
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait()
    return elapsed, int(line) / 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve_once(home: str, idle: float) -> tuple[float, float]:
    env = {**os.environ, "LOOPWRIGHT_HOME": home}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [LOOPWRIGHT, "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write((json.dumps(INIT) + "\n").encode())
    proc.stdin.flush()
    reply = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    assert b'"result"' in reply, reply
    time.sleep(idle)  # a benchmark, not a test: let it settle to its idle size
    rss = rss_mb(proc.pid)
    proc.stdin.close()
    proc.wait(10)
    return elapsed, rss


def loaded_heavy(home: str) -> list[str]:
    """Heavy modules present in a serving process (after initialize and tools/list)."""
    code = (
        "import sys, anyio\n"
        "from loopwright.server.app import build_server\n"
        "from mcp import Client\n"
        "async def main():\n"
        "    async with Client(build_server()) as c:\n"
        "        await c.list_tools()\n"
        "anyio.run(main)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "LOOPWRIGHT_HOME": home}
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, check=True)
    return list(eval(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10, help="rounds (default 10)")
    ap.add_argument("--idle", type=float, default=1.0, help="seconds idle before RSS")
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="lw-bench-")
    try:
        serve_once(home, 0)  # warm the page cache and .pyc files
        bare_import()
        imp_t, imp_rss, srv_t, srv_rss, low_t = [], [], [], [], []
        for _ in range(args.n):
            t, r = bare_import()
            imp_t.append(t)
            imp_rss.append(r)
            low_t.append(bare_import("mcp.server.lowlevel")[0])
            t, r = serve_once(home, args.idle)
            srv_t.append(t)
            srv_rss.append(r)
        heavy = loaded_heavy(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    it, st = statistics.median(imp_t), statistics.median(srv_t)
    ir, sr = statistics.median(imp_rss), statistics.median(srv_rss)
    print(f"bare `import mcp.server.mcpserver`: {it * 1000:7.0f} ms   peak RSS {ir:6.1f} MB")
    print(f"loopwright serve to initialize:     {st * 1000:7.0f} ms   idle RSS {sr:6.1f} MB")
    print(f"ratio spawn-to-initialize / import: {st / it:.2f}  (target <= 1.20)")
    print(f"idle RSS - import RSS:              {sr - ir:+.1f} MB  (target <= +15 MB)")
    print(
        f"bare `import mcp.server.lowlevel`:  {statistics.median(low_t) * 1000:7.0f} ms   "
        "(the low-level server pays the same: mcp/__init__ imports client and all types)"
    )
    print(f"heavy modules loaded while serving: {heavy or 'none'}")


if __name__ == "__main__":
    main()

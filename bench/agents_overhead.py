"""Adapter overhead per call of a coding-agent CLI backend over a bare subprocess.

Both run the same fake ``claude`` (``/bin/sh`` + ``cat`` of a recorded Claude Code
stream-json run). The bare side starts it with asyncio and reads stdout to EOF; the
adapter side is ``claude_code`` through the registry: env allowlist, temp dir and system
prompt file, process group, line parsing, events and the capped output file.
Calls alternate so drift hits both alike. Target: <= 20 ms per call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from loopwright.backends.base import AgentRequest
from loopwright.backends.registry import create_backend
from loopwright.runs.recorder import CappedFile
from loopwright.runs.redact import Redactor

STREAM = Path(__file__).parent.parent / "tests" / "agents" / "streams" / "claude-write.jsonl"


async def bare(argv: list[str], cwd: str) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    await proc.stdout.read()
    await proc.wait()
    return time.perf_counter() - started


async def adapter(cwd: str, out_dir: str, n: int) -> float:
    backend = create_backend("claude_code:sonnet")
    events: list[Any] = []
    out = CappedFile(f"{out_dir}/{n}.out", Redactor.from_env())
    request = AgentRequest(
        "work", "Be terse.", "Create hello.py", cwd, 60,
        emit=lambda t, d: events.append((t, d)), output=out, may_edit=True,
    )  # fmt: skip
    started = time.perf_counter()
    response = await backend.run(request)
    elapsed = time.perf_counter() - started
    out.close()
    assert response.ok, response.error
    return elapsed


async def main(calls: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="lw-bench-agents-"))
    bin_dir, work, outs = root / "bin", root / "work", root / "out"
    for d in (bin_dir, work, outs):
        d.mkdir()
    fake = bin_dir / "claude"
    fake.write_text(f"#!/bin/sh\ncat {STREAM}\n")
    fake.chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    for n in range(5):  # warm up both paths
        await bare([str(fake)], str(work))
        await adapter(str(work), str(outs), -n - 1)
    b, a = [], []
    for n in range(calls):
        b.append(await bare([str(fake)], str(work)))
        a.append(await adapter(str(work), str(outs), n))
    mb, ma = statistics.median(b) * 1000, statistics.median(a) * 1000
    print(f"calls: {calls} each; stream {STREAM.stat().st_size} bytes")
    print(f"bare subprocess: median {mb:.2f} ms, p90 {_p90(b):.2f} ms")
    print(f"claude_code adapter: median {ma:.2f} ms, p90 {_p90(a):.2f} ms")
    print(f"adapter overhead per call: {ma - mb:.2f} ms (target <= 20 ms)")


def _p90(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.9)] * 1000


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100)
    asyncio.run(main(ap.parse_args().calls))

"""Harness overhead per iteration with a zero-latency scripted backend (3 subgoals/iteration),
with the state dir on a quiet disk and on a busy one, side by side in one run.

Drives a real run (event log, status, worker outputs) in-process for N iterations where
the reviewer never approves, and prints ms per iteration and peak RSS. "Busy" is the same
file system while a background process writes there: 1 MiB blocks and small files, each
followed by fsync (as a build, a database or another run's checkpoints would).
Baseline (athena-loops, same machine kind): 6-7 ms per iteration. With a file per worker
output (before short outputs stayed in their event), issue 9 measured 0.36 ms quiet and
0.96-3.3 ms busy.
Target: <= 0.5 ms quiet, <= 1 ms busy, <= 40 MB.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from loopwright.backends.scripted import ScriptedBackend
from loopwright.loop.harness import Roles
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

PLAN = {"json": {"subgoals": [{"id": f"s{i}", "title": f"part {i}"} for i in range(3)]}}
NEVER = {"json": {"complete": False, "score": 0.5, "issues": ["more"], "next_steps": []}}
BASELINE_MS = 6.5  # athena-loops
WRITER = """
import os, sys, time
d, deadline, n = sys.argv[1], time.monotonic() + float(sys.argv[2]), 0
os.makedirs(d, exist_ok=True)
big = os.open(os.path.join(d, "blocks"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
block = b"x" * (1 << 20)
while time.monotonic() < deadline:
    os.write(big, block)
    os.fsync(big)
    n += 1
    if n % 256 == 0:
        os.ftruncate(big, 0); os.lseek(big, 0, 0)
    for k in range(8):  # and metadata: small files created, synced and removed
        path = os.path.join(d, f"f{k}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, block[:4096]); os.fsync(fd); os.close(fd)
        os.unlink(path)
"""


def measure(base: Path, n: int) -> tuple[float, int]:
    """ms per iteration over ``n`` iterations of a new run under ``base``; its event count."""
    home = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    store = RunStore(home)
    work = home / "work"
    work.mkdir()
    request = build_request(
        "benchmark",
        cwd=str(work),
        isolate=False,  # the harness alone: git checkpoints are measured by bench/worktrees.py
        criteria=["never"],
        budget={"max_iterations": n, "max_agent_calls": 100_000},
        options={"retry_backoff": 0},
    )
    run_id = runner.create_run(store, request)
    backend = ScriptedBackend({"planner": [PLAN], "worker": ["done"], "reviewer": [NEVER]})
    roles = Roles(planner=backend, workers=[backend], reviewers=[backend])
    started = time.perf_counter()
    result = anyio.run(lambda: drive(store, run_id, roles=roles))
    elapsed = time.perf_counter() - started
    events = sum(1 for _ in store.paths(run_id).events.open("rb"))
    return elapsed / result.iterations * 1000, events


def busy_writer(base: Path, seconds: float) -> subprocess.Popen[bytes]:
    """A process that keeps the file system under ``base`` busy with fsync'd writes; it
    stops by itself after ``seconds`` if nobody stops it first."""
    return subprocess.Popen([sys.executable, "-c", WRITER, str(base / "busy"), str(seconds)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                    help="where the state dirs go (the disk under test)")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=3, help="runs per case (median reported)")
    args = ap.parse_args()
    n, base = args.iterations, Path(tempfile.mkdtemp(prefix="lw-bench-", dir=args.dir))
    try:
        measure(base, 20)  # warm up imports and caches
        quiet_runs = [measure(base, n) for _ in range(args.rounds)]
        writer = busy_writer(base, seconds=300)
        try:
            time.sleep(1.0)  # let the writer reach a steady state
            busy_runs = [measure(base, n) for _ in range(args.rounds)]
        finally:
            writer.kill()
            writer.wait(timeout=10)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    quiet = statistics.median(ms for ms, _ in quiet_runs)
    busy = statistics.median(ms for ms, _ in busy_runs)
    events = quiet_runs[0][1]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"iterations: {n} per run, {args.rounds} runs per case (median), events per run: "
          f"{events}, state dirs under {args.dir}")  # fmt: skip
    for name, ms, target in (("quiet", quiet, 0.5), ("busy", busy, 1.0)):
        ratio = BASELINE_MS / ms
        print(f"harness overhead, {name} disk: {ms:.3f} ms/iteration (target <= {target:g} ms; "
              f"baseline athena-loops {BASELINE_MS:g} ms -> {ratio:.1f}x faster)")  # fmt: skip
    print(f"busy / quiet: {busy / quiet:.2f}x")
    print(f"peak RSS: {rss_mb:.1f} MB (target <= 40 MB)")


if __name__ == "__main__":
    main()

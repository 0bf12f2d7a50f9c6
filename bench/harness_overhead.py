"""Harness overhead per iteration with a zero-latency scripted backend (3 subgoals/iteration).

Drives a real run (event log, status, worker output files) in-process for N iterations
where the reviewer never approves, and prints ms per iteration and peak RSS.
Baseline (athena-loops, same machine kind): 6-7 ms per iteration. Target: <= 1 ms, <= 40 MB.
"""

from __future__ import annotations

import argparse
import resource
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=1000)
    n = ap.parse_args().iterations
    home = Path(tempfile.mkdtemp(prefix="lw-bench-"))
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
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_it = elapsed / result["iterations"] * 1000
    events = sum(1 for _ in store.paths(run_id).events.open("rb"))
    print(f"iterations: {result['iterations']} ({result['state']}), events: {events}")
    print(f"harness overhead: {per_it:.3f} ms/iteration (target <= 1 ms; "
          f"baseline athena-loops 6-7 ms -> {6.5 / per_it:.1f}x faster)")  # fmt: skip
    print(f"peak RSS: {rss_mb:.1f} MB (target <= 40 MB)")


if __name__ == "__main__":
    main()

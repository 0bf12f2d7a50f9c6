"""What the sandbox costs per verify call: the sandbox runner against the plain runner,
side by side in one run, for ``true`` and ``python -c pass``.

Each call goes through ``ProcessRunner.run`` as a verify command does: in a git worktree in
the state dir (where runs put theirs; ``LOOPWRIGHT_HOME`` moves it), with the allowlisted
environment of a verify. The sandbox runner adds bubblewrap (namespaces, mounts), a
private /tmp made and removed per call, ``prlimit`` and, for root, a pids cgroup. The two
runners alternate call by call so that a busy machine weighs on both alike; medians and
p90s are printed.
Target: <= 50 ms added per call.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from loopwright.config import state_dir
from loopwright.process.env import allowlisted_env
from loopwright.process.runner import PlainRunner, ProcessRunner
from loopwright.process.sandbox import SandboxRunner, sandbox_problem
from loopwright.runs.git.scratch import make_scratch_repo

TARGET_MS = 50.0
COMMANDS = {"true": ["true"], "python -c pass": [sys.executable, "-c", "pass"]}


async def one(runner: ProcessRunner, argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = await runner.run(argv, cwd=cwd, timeout=60, env=env)
    took = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"{argv} failed under {type(runner).__name__}: {result.output}")
    return took * 1000


async def measure(calls: int, cwd: Path) -> dict[str, dict[str, list[float]]]:
    env = allowlisted_env(())
    runners: dict[str, ProcessRunner] = {"plain": PlainRunner(), "sandbox": SandboxRunner()}
    times: dict[str, dict[str, list[float]]] = {c: {r: [] for r in runners} for c in COMMANDS}
    for name, argv in COMMANDS.items():
        for runner in runners.values():  # warm up: page cache, imports
            await one(runner, argv, cwd, env)
        for _ in range(calls):
            for label, runner in runners.items():
                times[name][label].append(await one(runner, argv, cwd, env))
    return times


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per runner and command")
    args = parser.parse_args()
    why = sandbox_problem()
    if why is not None:
        print(f"the sandbox cannot work here: {why}", file=sys.stderr)
        return 2
    state_dir().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-sandbox-", dir=state_dir()))
    try:
        repo = make_scratch_repo(work / "repo")
        tree = work / "wt"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", str(tree)], check=True)
        times = anyio.run(measure, args.calls, tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.calls} calls each, alternating; uid {os.geteuid()}, {os.cpu_count()} cpus")
    print(f"{'command':<16} {'plain ms':>16} {'sandbox ms':>16} {'added ms':>10} {'ratio':>6}")
    worst = 0.0
    for name, by in times.items():
        plain, boxed = statistics.median(by["plain"]), statistics.median(by["sandbox"])
        worst = max(worst, boxed - plain)
        print(
            f"{name:<16} {plain:>7.1f} (p90 {p90(by['plain']):>4.1f}) "
            f"{boxed:>7.1f} (p90 {p90(by['sandbox']):>4.1f}) {boxed - plain:>10.1f} "
            f"{boxed / plain:>5.1f}x"
        )
    verdict = "ok" if worst <= TARGET_MS else "OVER"
    print(f"added per call (median, worst command): {worst:.1f} ms, target <= {TARGET_MS:.0f}: "
          f"{verdict}")  # fmt: skip
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Worktree start-up and checkpoint cost on generated repositories.

Targets: first run's start to ``worktree_ready`` <= 1.1x raw ``git worktree add``; a later
run from the pool <= 2 s on 50,000 files; a checkpoint commit <= 1.2x raw
``git add -A && git commit`` on the same change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import anyio

from loopwright.runs import runner
from loopwright.runs.git.worktree import Workspace
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore


def sh(cwd: Path, *args: str) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def make_repo(root: Path, files: int) -> Path:
    repo = root / f"repo-{files}"
    for i in range(files):
        d = repo / f"d{i % 100:02d}" / f"e{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.py").write_text(f"# file {i}\nVALUE = {i}\n" + "x = 1\n" * 20)
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "init")
    sh(repo, "git", "status", "--porcelain")  # settle the index as a working repo would be
    return repo


def raw_worktree_add(repo: Path, root: Path, n: int) -> float:
    """``git worktree add`` alone. Nothing is removed between samples: on this kind of
    machine the kernel's work after deleting 50,000 files lands on whatever runs next
    (a single add was seen taking 2 s or 32 s), so removals wait until the end."""
    sh(repo, "sync")
    t = time.perf_counter()
    sh(repo, "git", "worktree", "add", "-q", "--no-track", "-b", f"raw{n}", str(root / f"raw{n}"))
    return time.perf_counter() - t


def run_to_ready(store: RunStore, repo: Path, scenario: str, cleanup: str) -> tuple[float, bool]:
    """A detached run, as runs normally go: run start to ``worktree_ready``."""
    sh(repo, "sync")
    request = build_request("bench", backend=scenario, cwd=str(repo), cleanup=cleanup)
    run_id = runner.start(store, request)
    assert runner.wait(store, run_id, 600)["state"] == "completed"
    events = [json.loads(x) for x in store.paths(run_id).events.read_text().splitlines()]
    started = next(e for e in events if e["type"] == "run_started")["ts"]
    ready = next(e for e in events if e["type"] == "worktree_ready")
    return ready["ts"] - started, bool(ready["data"]["pooled"])


def _touch(tree: Path, round_: int) -> None:
    for i in range(0, 200, 10):
        f = tree / f"d{i % 100:02d}" / f"e{i % 7}" / f"f{i}.py"
        f.write_text(f.read_text() + f"changed = {round_}\n")


async def _timed_checkpoint(ws: Workspace, iteration: int) -> float:
    await ws.begin_iteration(iteration)  # as the harness does (not timed)
    t = time.perf_counter()
    await ws.checkpoint(iteration, "bench", "incomplete")
    return time.perf_counter() - t


def checkpoint_vs_raw(repo: Path, root: Path, rounds: int = 5) -> tuple[float, float]:
    """The same change (20 files) committed by ``git add -A && git commit`` in one worktree
    and by our checkpoint in another, alternating; medians."""
    for tree in ("cp-raw", "cp-ours"):
        sh(repo, "git", "worktree", "add", "-q", "-b", tree, str(root / tree), "HEAD")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root / "cp-ours", check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    record = {"path": str(root / "cp-ours"), "base": head, "head": head, "branch": "cp-ours",
              "repo": str(repo), "errors": [], "commits": 0}  # fmt: skip
    ws = Workspace(record, "bench", lambda *a: None, lambda: None, root)
    raws, ours = [], []
    for r in range(rounds):
        _touch(root / "cp-raw", r)
        _touch(root / "cp-ours", r)
        t = time.perf_counter()
        sh(root / "cp-raw", "git", "add", "-A")
        sh(
            root / "cp-raw",
            "git",
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@b",
            "commit",
            "-qm",
            "x",
        )
        raws.append(time.perf_counter() - t)
        ours.append(anyio.run(_timed_checkpoint, ws, r + 1))
    assert record["commits"] == rounds
    return statistics.median(raws), statistics.median(ours)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, nargs="+", default=[2000, 50_000])
    args = ap.parse_args()
    for n in args.files:
        root = Path(tempfile.mkdtemp(prefix=f"lw-wt-{n}-"))
        t = time.perf_counter()
        repo = make_repo(root, n)
        print(f"{n} files: repo made in {time.perf_counter() - t:.1f} s")
        store = RunStore(root / "home")
        nothing = root / "nothing.json"
        nothing.write_text(json.dumps({"worker": [{"text": "no changes"}]}))
        spec = f"scripted:{nothing}"
        raws, firsts = [], []
        for i in range(3):  # alternating, medians
            raws.append(raw_worktree_add(repo, root, i))
            firsts.append(run_to_ready(store, repo, spec, "never")[0])
        raw, first = statistics.median(raws), statistics.median(firsts)
        run_to_ready(store, repo, spec, "auto")  # parks its clean checkout
        second, pooled = run_to_ready(store, repo, spec, "never")
        assert pooled
        raw_cp, ours_cp = checkpoint_vs_raw(repo, root)
        print(f"  raw git worktree add: {raw:.2f} s; first run start->worktree_ready: "
              f"{first:.2f} s ({first / raw:.2f}x, target <= 1.1x)")  # fmt: skip
        print(f"  later run from the pool: {second:.2f} s (target <= 2 s)")
        print(f"  checkpoint (20 files changed): ours {ours_cp * 1e3:.0f} ms vs raw add+commit "
              f"{raw_cp * 1e3:.0f} ms ({ours_cp / raw_cp:.2f}x, target <= 1.2x)")  # fmt: skip


if __name__ == "__main__":
    main()

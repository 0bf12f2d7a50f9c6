"""Recall from memory at 10,000 remembered runs: what one run's planner waits for. Target:
<= 20 ms.

10,000 runs over 20 repositories, each with a goal, criteria, two plans, a failed subgoal,
a verify failure and its fix, reviewer issues and a diff stat drawn from a vocabulary of
coding words (so a query matches many runs, as real goals do). Timed: ``StoreMemory.recall``
(FTS5 search, bm25 ranking, fitting under the token cap) for goals not in the store, in
the same repository (``--memory repo``, the default) and across all (``all``), on an open
store and on a fresh one (first recall of a run: the connection is opened).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from loopwright.memory.recall import StoreMemory
from loopwright.memory.record import RunMemory, SubgoalOutcome, VerifyFix
from loopwright.memory.store import MemoryStore
from loopwright.runs.redact import Redactor

RUNS = 10_000


def _words(text: str) -> list[str]:
    return text.split()


REPOS = 20
QUERIES = 200
WORDS = _words(
    "parser date time zone week iso format config loader yaml toml json schema cache "
    "retry backoff http client server route handler auth token session cookie login user "
    "admin role permission database migration index query transaction pool connection "
    "logger metrics trace span export import cli flag option argument subcommand test "
    "fixture mock flaky timeout async await thread lock queue worker job scheduler cron "
    "email template render html css layout button form validation error message warning "
    "upload download file path stream buffer encode decode unicode bytes compress archive "
    "image resize thumbnail crop video audio search filter sort page cursor limit offset "
    "report csv excel chart graph dashboard widget plugin hook event signal callback "
    "memory leak performance profile benchmark latency throughput refactor rename split "
    "merge module package dependency version upgrade deprecate remove legacy docs readme"
)
VERBS = _words("add fix speed rewrite remove support handle make teach accept port test")


def goal(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} the {' '.join(rng.sample(WORDS, 8))} so that it works"


def run(n: int, rng: random.Random) -> RunMemory:
    titles = [" ".join(rng.sample(WORDS, 4)) for _ in range(3)]
    return RunMemory(
        run_id=f"20260101-{n:09d}-abcdef",
        repo=f"/srv/repo{n % REPOS}",
        ended=1.7e9 + n,
        state=rng.choice(["completed", "completed", "stopped", "failed"]),
        goal=goal(rng),
        criteria=[" ".join(rng.sample(WORDS, 6)) for _ in range(2)],
        plans=[titles[:2], titles[2:]],
        subgoals=[SubgoalOutcome(1, titles[0], "failed", 2, " ".join(rng.sample(WORDS, 10)))],
        verify=[VerifyFix("pytest -q", 1, " ".join(rng.sample(WORDS, 30)), 2, titles[2:],
                          [f"M src/{w}.py" for w in rng.sample(WORDS, 3)])],
        issues=[" ".join(rng.sample(WORDS, 8)) for _ in range(2)],
        files=[f"M src/{w}.py" for w in rng.sample(WORDS, 4)],
        files_changed=4,
        iterations=2,
        cost_usd=0.12,
        tokens=54_321,
    )  # fmt: skip


def populate(store: MemoryStore, rng: random.Random) -> float:
    t0 = time.perf_counter()
    for n in range(RUNS):
        store.put(run(n, rng))
    return time.perf_counter() - t0


def timed(memory: StoreMemory, goals: list[str]) -> list[float]:
    out = []
    for g in goals:
        t0 = time.perf_counter()
        got = memory.recall(g, ["the tests pass"])
        out.append((time.perf_counter() - t0) * 1e3)
        assert got.lessons and got.error is None
    return out


def summary(ms: list[float]) -> str:
    p95 = sorted(ms)[int(len(ms) * 0.95)]
    return f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms"


def fresh(path: Path, scope: str, goals: list[str]) -> list[float]:
    """Each recall on a store opened for it, as a run host's first (and only) recall is."""
    out = []
    for g in goals:
        store = MemoryStore(path, Redactor.from_env())
        out += timed(StoreMemory(store, "/srv/repo3", scope), [g])
        store.close()
    return out


def main() -> None:
    rng = random.Random(15)
    path = Path(tempfile.mkdtemp(prefix="lw-memory-")) / "memory.sqlite"
    store = MemoryStore(path, Redactor.from_env())
    took = populate(store, rng)
    store.close()
    goals = [goal(rng) for _ in range(QUERIES)]
    store = MemoryStore(path, Redactor.from_env())
    repo = timed(StoreMemory(store, "/srv/repo3", "repo"), goals)
    every = timed(StoreMemory(store, "/srv/repo3", "all"), goals)
    store.close()
    size = sum(p.stat().st_size for p in path.parent.iterdir()) / 2**20
    print(f"memory: {RUNS:,} runs remembered in {took:.1f} s ({took / RUNS * 1e3:.2f} ms a run), "
          f"{size:.1f} MiB")  # fmt: skip
    print("recall (FTS5 search, bm25, fitting under the token cap), target <= 20 ms:")
    print(f"  --memory repo ({RUNS // REPOS:,} runs of the repository): {summary(repo)}; "
          f"on a store opened for it: {summary(fresh(path, 'repo', goals[:40]))}")  # fmt: skip
    print(f"  --memory all ({RUNS:,} runs): {summary(every)}; "
          f"on a store opened for it: {summary(fresh(path, 'all', goals[:40]))}")  # fmt: skip


if __name__ == "__main__":
    main()

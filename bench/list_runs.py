"""``list`` over 100,000 indexed runs, timed in a new process. Target: <= 50 ms."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loopwright.runs.ids import new_run_id
from loopwright.runs.index import RunIndex

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from loopwright.runs.store import RunStore
from pathlib import Path
store = RunStore(Path(sys.argv[1]))
newest = store.index.list(limit=20)
t1 = time.perf_counter()
done = store.index.list("completed", limit=20)
t2 = time.perf_counter()
assert len(newest) == 20 and len(done) == 20
print(json.dumps({"cold_ms": (t1 - t0) * 1e3, "filtered_ms": (t2 - t1) * 1e3}))
"""


def populate(home: Path, n: int) -> None:
    home.mkdir(parents=True, exist_ok=True)
    index = RunIndex(home / "index.sqlite")
    db = index._db()
    now = time.time()
    rows = [(new_run_id(), "completed" if i % 3 else "stopped", now, now, f"goal {i}", "/tmp",
             "scripted") for i in range(n)]  # fmt: skip
    db.execute("BEGIN")
    db.executemany("INSERT INTO runs VALUES (?,?,?,?,?,?,?)", rows)
    db.execute("COMMIT")
    (home / "runs").mkdir(exist_ok=True)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="lw-list-")) / "home"
    populate(home, 100_000)
    samples = []
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", PROBE, str(home)], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        samples.append(json.loads(out))
    cold = sorted(s["cold_ms"] for s in samples)[3]
    filtered = sorted(s["filtered_ms"] for s in samples)[3]
    print(f"list over 100,000 runs, new process (imports + open + query): {cold:.1f} ms; "
          f"a filtered list after that: {filtered:.2f} ms (target <= 50 ms)")  # fmt: skip


if __name__ == "__main__":
    main()

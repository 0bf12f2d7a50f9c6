"""A 200-event tail page read cold (in a new process) from logs of 1,000 and 100,000 events.

Baseline (athena-loops, same machine kind): its tail re-parses the whole log, 64 ms at
14,000 events. Target: <= 5 ms at 100,000 events, and within 2x of the 1,000-event figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from loopwright.runs.eventlog import EventWriter

PROBE = """
import sys, time, json
t0 = time.perf_counter()
from loopwright.runs.eventlog import read_events, read_last
t1 = time.perf_counter()
path, cursor = sys.argv[1], sys.argv[2]
last = read_last(__import__("pathlib").Path(path), 200)
t2 = time.perf_counter()
page = read_events(__import__("pathlib").Path(path), cursor, 200)
t3 = time.perf_counter()
assert len(last.events) == 200 and len(page.events) == 200
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "last_ms": (t2 - t1) * 1e3,
                  "cursor_ms": (t3 - t2) * 1e3}))
"""


def make_log(path: Path, n: int) -> str:
    """Write ``n`` realistic events; return the cursor 200 events before the end."""
    w = EventWriter(path, "bench")
    data = {"subgoal": "s1", "title": "part 1", "attempt": 1, "status": "ok", "error": None,
            "duration": 0.01, "preview": "x" * 200, "usage": {"input_tokens": 10}}  # fmt: skip
    cursor = "0"
    for i in range(n):
        if i == n - 200:
            cursor = str(path.stat().st_size)
        w.append("worker_finished", i // 11, data)
    w.close()
    return cursor


def cold(path: Path, cursor: str, runs: int = 7) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE, str(path), cursor], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        samples.append(json.loads(out))
    return {k: sorted(s[k] for s in samples)[runs // 2] for k in samples[0]}


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="lw-tail-"))
    figures = {}
    for n in (1_000, 100_000):
        path = d / f"{n}.jsonl"
        cursor = make_log(path, n)
        figures[n] = cold(path, cursor)
        f = figures[n]
        print(f"{n:>7} events ({path.stat().st_size / 1e6:.1f} MB): last-200 page "
              f"{f['last_ms']:.2f} ms, page from cursor {f['cursor_ms']:.2f} ms "
              f"(module import {f['import_ms']:.1f} ms), median of 7 new processes")  # fmt: skip
    big, small = figures[100_000], figures[1_000]
    worst = max(big["last_ms"], big["cursor_ms"])
    print(f"target <= 5 ms at 100,000 events: {worst:.2f} ms; growth 1k -> 100k: "
          f"{big['last_ms'] / small['last_ms']:.2f}x (last), "
          f"{big['cursor_ms'] / small['cursor_ms']:.2f}x (cursor); baseline athena-loops 64 ms "
          f"at 14,000 events -> {64 / worst:.0f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()

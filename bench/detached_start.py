"""Starting a detached run: host process up and ``run_started`` written; idle host RSS.

Targets: <= 300 ms to ``run_started`` with the scripted backend; an idle host <= 40 MB.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

SLOW = {"worker": [{"delay": 60}]}


def until(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.001)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="lw-start-"))
    store = RunStore(home)
    scenario = home / "slow.json"
    scenario.write_text(json.dumps(SLOW))
    times, rss = [], []
    for _ in range(10):
        request = build_request("bench", backend=f"scripted:{scenario}")
        t0 = time.perf_counter()
        run_id = runner.start(store, request)
        events = store.paths(run_id).events
        until(lambda e=events: e.exists() and b"run_started" in e.read_bytes())
        times.append((time.perf_counter() - t0) * 1e3)
        until(lambda r=run_id: store.read_status(r).get("phase") == "work")
        rss.append(rss_mb(store.read_status(run_id)["pid"]))
        runner.cancel(store, run_id)
    print(f"start to run_started: median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms over 10 runs (target <= 300 ms)")  # fmt: skip
    print(f"idle host RSS (worker waiting): median {statistics.median(rss):.1f} MB "
          f"(target <= 40 MB)")  # fmt: skip


if __name__ == "__main__":
    main()

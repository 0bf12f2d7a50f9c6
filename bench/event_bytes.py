"""Event-log bytes per iteration with long worker outputs, before and after iteration_finished
referred to the other events by seq instead of repeating them.

Drives a real run (3 subgoals whose workers answer 8,000 characters each, a verify command
that fails with 6,000 characters of output) and measures its log. The "before" figure is
the same log with each event in the shape it had before (``iteration_finished`` carrying
the whole record: worker summaries, verify output tails, subgoals, verdicts), serialized
the same way, so both shapes are measured side by side in one run.
Baseline (the issue's measure): iteration_finished was 45% of such a log, and the log
3.2x athena-loops' bytes per iteration. Target: iteration_finished carries no worker or
verify text; the log shrinks by about that share.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import orjson

from loopwright import AgentRequest, AgentResponse, FunctionBackend, ScriptedBackend
from loopwright.config import PREVIEW_CHARS
from loopwright.loop.harness import Roles
from loopwright.loop.history import REFERRED, rebuild
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

PLAN = {"json": {"subgoals": [{"id": f"s{i}", "title": f"part {i}"} for i in range(3)]}}
NEVER = {"json": {"complete": False, "score": 0.5, "issues": ["more"], "next_steps": []}}
VERIFY = [sys.executable, "-c", "print('E   assert 1 == 2\\n' * 375); raise SystemExit(1)"]
OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def worker(request: AgentRequest) -> AgentResponse:
    text = f"Changed {request.work.title if request.work else ''}: " + "diff line\n" * 800
    if request.output is not None:
        request.output.write(text)
    return AgentResponse(text=text)


def run(home: Path, n: int) -> list[dict[str, Any]]:
    store = RunStore(home)
    work = home / "work"
    work.mkdir()
    request = build_request(
        "benchmark",
        cwd=str(work),
        isolate=False,
        criteria=["never"],
        verify=[VERIFY],
        budget={"max_iterations": n, "max_agent_calls": 100_000},
        options={"retry_backoff": 0},
    )
    run_id = runner.create_run(store, request)
    scripted = ScriptedBackend({"planner": [PLAN], "reviewer": [NEVER]})
    roles = Roles(planner=scripted, workers=[FunctionBackend(worker)], reviewers=[scripted])
    anyio.run(lambda: drive(store, run_id, roles=roles))
    lines = store.paths(run_id).events.read_bytes().splitlines()
    return [orjson.loads(line) for line in lines]


def old_shape(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same events as the code before referring by seq wrote them."""
    out, referred = [], {}
    for e in events:
        data = e["data"]
        if e["type"] in REFERRED:
            referred[e["seq"]] = data
        if e["type"] == "worker_finished":
            data = {k: v for k, v in data.items() if k not in ("backend", "output")}
        elif e["type"] == "iteration_finished":
            record = rebuild(data["record"], referred).model_dump()  # verify output: the tail
            data = {"passed": data["passed"], "reasons": data["reasons"], "record": record}
            referred = {}
        out.append({**e, "data": data})
    return out


def size(events: list[dict[str, Any]], kind: str | None = None) -> int:
    return sum(len(orjson.dumps(e, option=OPTS)) for e in events if kind in (None, e["type"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=50)
    n = ap.parse_args().iterations
    home = Path(tempfile.mkdtemp(prefix="lw-bench-"))
    try:
        events = run(home, n)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    before, after = old_shape(events), events
    print(f"{n} iterations, 3 subgoals, worker answers of 8,000 chars (preview {PREVIEW_CHARS})")
    for name, shape in (("before", before), ("after", after)):
        total, it = size(shape), size(shape, "iteration_finished")
        print(f"{name:>6}: {total / n:8.0f} bytes/iteration; iteration_finished "
              f"{it / n:6.0f} bytes ({100 * it / total:.0f}% of the log)")  # fmt: skip
    print(f"the log is {size(before) / size(after):.2f}x smaller per iteration")


if __name__ == "__main__":
    main()

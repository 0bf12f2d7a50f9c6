"""Routing on a simulated workload: all-cloud, local-first and planner routing side by side.

A few hundred subgoals (tasks of 3; sizes drawn log-normally around 8,000 worker tokens;
30% of them hard) go through the real harness (``--route cloud|local-first|planner``),
the real profile writer and the real card (``hosts.routing.StoreCard`` over a fresh
``ProfileStore`` per strategy: each one learns from its own measurements). The hosts are
stand-ins, seeded and deterministic, built like the real ones report:

- a small model on this machine (Ollama-like: ~85 generated tok/s, 1,200 prompt tok/s,
  2 s load; free; passes 94% of easy subgoals, 50% of hard ones),
- a rented 32B model (llama.cpp-like timings: ~35 tok/s, 700 prompt tok/s, 8 s load;
  $0.60/h of the time it works; 97% / 78%),
- a cloud model (~70 tok/s after a 1 s first token; $3 / $15 per Mtok in / out; 98% / 93%).

Each host's speed varies ±15% per call. A worker's time is simulated (no sleeping): load +
prompt / prompt speed + generated / generation speed, a quarter of the tokens generated.
A failed subgoal is retried once (on the cloud under local-first). The planner stand-in
gives every subgoal a size estimate (±30%) and, under ``planner``, assigns it from the
card as a frontier planner is asked to: hard ones to the cloud, easy ones to the fastest
local worker estimated under the time limit. It is a rule, not a model: it shows what
the card lets a planner do, not what a given model will do.

Figures: share of worker tokens served locally, wall time (tasks one after another, a
task's subgoals in parallel), cost, pass rate (subgoals done after their retry) and the
share done on the first try.
Target: >= 50% of worker tokens local at a pass rate within 2 points of all-cloud.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from loopwright import AgentRequest, AgentResponse, FunctionBackend, ScriptedBackend, Usage
from loopwright.backends.base import Capabilities
from loopwright.hosts.routing import StoreCard, WorkerFacts
from loopwright.loop.events import MemorySink
from loopwright.loop.harness import Harness, Roles
from loopwright.loop.route import ref
from loopwright.loop.types import Budget, LoopConfig
from loopwright.loop.vocab import EventType
from loopwright.runs.profiling import ProfileWriter

SUBGOALS_PER_TASK = 3
HARD_SHARE = 0.3
OUT_SHARE = 0.25
LOCAL_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Host:
    spec: str
    local: bool
    gen_tps: float
    prompt_tps: float | None
    load_s: float
    passes: tuple[float, float]
    """Chance of passing an easy and a hard subgoal."""
    usd_per_hour: float = 0.0
    usd_in: float = 0.0
    usd_out: float = 0.0


HOSTS = [
    Host("ollama:qwen2.5-coder:7b@box", True, 85.0, 1200.0, 2.0, (0.94, 0.50)),
    Host("openai:qwen2.5-coder-32b@rented", True, 35.0, 700.0, 8.0, (0.97, 0.78), 0.60),
    Host("anthropic:claude-sonnet", False, 70.0, None, 1.0, (0.98, 0.93), 0, 3e-6, 15e-6),
]


@dataclass(frozen=True)
class Subgoal:
    id: str
    tokens: int
    hard: bool


def workload(n: int, seed: int) -> list[list[Subgoal]]:
    rng = random.Random(seed)
    subgoals = [
        Subgoal(f"s{i % SUBGOALS_PER_TASK + 1}", int(min(60_000, rng.lognormvariate(8.9, 0.6))),
                rng.random() < HARD_SHARE)
        for i in range(n)
    ]  # fmt: skip
    return [subgoals[i : i + SUBGOALS_PER_TASK] for i in range(0, n, SUBGOALS_PER_TASK)]


class Sim:
    """The stand-in hosts and what they did, for one strategy."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.task: dict[str, Subgoal] = {}
        self.local_tokens = self.tokens = 0
        self.cost = 0.0

    def backend(self, host: Host) -> FunctionBackend:
        caps = Capabilities(edits_files=True, local=host.local)
        return FunctionBackend(lambda req: self.work(host, req), host.spec, caps)

    def work(self, host: Host, request: AgentRequest) -> AgentResponse:
        assert request.work is not None and request.emit is not None
        sub = self.task[request.work.subgoal_id]
        jitter = self.rng.uniform(0.85, 1.15)
        gen, read = host.gen_tps * jitter, (host.prompt_tps or 0) * jitter
        out = int(sub.tokens * OUT_SHARE)
        seconds = host.load_s + (sub.tokens - out) / read if read else host.load_s
        seconds += out / gen
        cost = host.usd_per_hour * seconds / 3600 + host.usd_in * (sub.tokens - out)
        cost += host.usd_out * out
        self.tokens += sub.tokens
        self.local_tokens += sub.tokens if host.local else 0
        self.cost += cost
        request.emit("model_call", self.measured(host, sub, out, gen, read, seconds, cost))
        ok = self.rng.random() < host.passes[sub.hard]
        usage = Usage(sub.tokens - out, out, cost)
        error = None if ok else "tests fail"
        return AgentResponse("done" if ok else "", ok, error, usage, duration=seconds)

    @staticmethod
    def measured(
        host: Host, sub: Subgoal, out: int, gen: float, read: float, seconds: float, cost: float
    ) -> dict[str, Any]:
        model, _, where = host.spec.partition(":")[2].partition("@")
        data: dict[str, Any] = {
            "provider": host.spec.split(":")[0], "model": model, "host": where or None,
            "purpose": "work", "input_tokens": sub.tokens - out, "output_tokens": out,
            "cost_usd": cost, "latency": seconds, "first_token": host.load_s,
        }  # fmt: skip
        if host.local:
            data["timings"] = {"prompt_n": sub.tokens - out, "prompt_per_second": read,
                               "predicted_n": out, "predicted_per_second": gen}  # fmt: skip
            data["profile"] = {"load_duration": int(host.load_s * 1e9)} if host.load_s else None
        return data


def planner(sim: Sim, card: StoreCard, workers: list[FunctionBackend], route: str) -> Any:
    refs = [ref(w) for w in workers]
    rng = random.Random(7)

    def assign(sub: Subgoal, facts: list[WorkerFacts]) -> str | None:
        if route != "planner":
            return None
        cloud = next(f.spec for f in facts if not f.local)
        if sub.hard:
            return cloud
        est = [(f.seconds_for(sub.tokens), f.spec) for f in facts if f.local]
        fits = [(s, spec) for s, spec in est if s is not None and s <= LOCAL_MAX_SECONDS]
        untried = [spec for s, spec in est if s is None]
        return min(fits)[1] if fits else (untried[0] if untried else cloud)

    def fn(request: AgentRequest) -> str:
        facts = card.card(refs)
        plan = []
        for sub in sim.task.values():
            est = int(sub.tokens * rng.uniform(0.7, 1.3))
            item: dict[str, Any] = {"id": sub.id, "title": f"part {sub.id}", "instructions": "do",
                                    "est_tokens": est}  # fmt: skip
            if (worker := assign(sub, facts)) is not None:
                item["worker"] = worker
            plan.append(item)
        return json.dumps({"subgoals": plan})

    return FunctionBackend(fn, "function:planner", Capabilities())


class Sink(MemorySink):
    """Keeps only what the figures need, and feeds the profile writer as a run's does."""

    def __init__(self, writer: ProfileWriter) -> None:
        super().__init__()
        self.writer = writer
        self.finished: list[dict[str, Any]] = []

    def emit(self, type: EventType, iteration: int, data: dict[str, Any]) -> int:
        self.writer.see(type, data)
        if type == "worker_finished":
            self.finished.append(data)
        return 0


async def strategy(route: str, tasks: list[list[Subgoal]], seed: int, home: Path) -> dict[str, Any]:
    sim, writer = Sim(seed), ProfileWriter(home)
    workers = [sim.backend(h) for h in HOSTS]
    roles = Roles(planner(sim, writer.source(), workers, route), workers,
                  [ScriptedBackend({"reviewer": [{"json": {"complete": True}}]})])  # fmt: skip
    wall = passed = first = 0.0
    for task in tasks:
        sim.task = {s.id: s for s in task}
        sink = Sink(writer)
        config = LoopConfig(goal="task", success_criteria=["done"], cwd=str(home), route=route,
                            local_max_seconds=LOCAL_MAX_SECONDS, retry_backoff=0,
                            budget=Budget(max_iterations=1))  # fmt: skip
        await Harness(config, roles, sink, performance=writer.source()).run()
        last: dict[str, dict[str, Any]] = {}
        took: dict[str, float] = {}
        for f in sink.finished:
            last[f["subgoal"]] = f
            took[f["subgoal"]] = took.get(f["subgoal"], 0.0) + f["duration"]
        wall += max(took.values())
        passed += sum(f["status"] == "ok" for f in last.values())
        first += sum(f["status"] == "ok" and f["attempt"] == 1 for f in last.values())
    writer.close()
    n = sum(len(t) for t in tasks)
    return {"route": route, "subgoals": n, "local_share": sim.local_tokens / sim.tokens,
            "wall_s": wall, "cost_usd": sim.cost, "pass_rate": passed / n,
            "first_try": first / n,
            "tokens": sim.tokens}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subgoals", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tasks = workload(args.subgoals, args.seed)
    rows = []
    for route in ("cloud", "local-first", "planner"):
        with tempfile.TemporaryDirectory() as home:
            rows.append(await strategy(route, tasks, args.seed, Path(home)))
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    base = rows[0]["pass_rate"]
    print(f"{rows[0]['subgoals']} subgoals, {rows[0]['tokens']:,} worker tokens (all-cloud)\n")
    print(f"{'route':<12} {'local tokens':>12} {'wall':>9} {'cost':>9} {'pass rate':>10} "
          f"{'first try':>10}  target")  # fmt: skip
    for r in rows:
        ok = r["local_share"] >= 0.5 and r["pass_rate"] >= base - 0.02
        target = "-" if r["route"] == "cloud" else ("met" if ok else "missed")
        print(f"{r['route']:<12} {r['local_share']:>11.0%} {r['wall_s'] / 60:>7.1f} m "
              f"{r['cost_usd']:>8.2f}$ {r['pass_rate']:>9.1%} {r['first_try']:>10.1%}  "
              f"{target}")  # fmt: skip
    print("\ntarget: >= 50% of worker tokens local at a pass rate within 2 points of all-cloud")


if __name__ == "__main__":
    anyio.run(main)

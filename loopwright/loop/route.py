"""The harness's side of routing: the card in the planner's prompt, the plan's
assignments checked against the workers there are, a worker for each attempt, and each
subgoal's estimate against what it took, for the next plan and the profile store.

The card comes through the ``PerformanceSource`` the loop is handed (``hosts.routing``);
with none, every worker is shown unmeasured. Under ``fixed`` (the default) nothing
changes: the planner's prompt has no card and the workers take subgoals in turn.

**Specialists** go over every route: with a table of tag -> backend (``Roles.specialists``)
the planner is told which tags have one and may tag subgoals with them; a subgoal tagged
so goes to that tag's specialist on every attempt (its first such tag, in the plan's
order), and the ``worker_started`` event says so (``route: specialist for tag 'tests'``).
An untagged subgoal, or one whose tags have no specialist, takes the route as always.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import Backend
from ..backends.spec import parse_spec
from ..hosts.routing import Ask, Choice, PerformanceSource, WorkerFacts, WorkerRef, card_text
from ..hosts.routing import choose as route_choose
from .types import LoopConfig, Subgoal, TaskResult, VerifyResult

PLANNER_ROUTING = """
Each subgoal may also name the worker that should do it ("worker": one of the specs on
the performance card) and its estimated size in worker tokens, prompt and generated
together ("est_tokens"). Give small, well-specified subgoals to fast local workers whose
pass rate holds up, and hard or broad ones to the stronger workers."""

PLANNER_SPECIALISTS = """
Some kinds of work have a specialist worker. Tag a subgoal that is mainly such work with
its tag ("tags": [...]); a tagged subgoal goes to that specialist, the others to the
workers as usual. Keep a specialist's work in subgoals of its own. The tags:
{table}"""


def ref(backend: Backend) -> WorkerRef:
    """How the profile store names a worker: its model and host (the provider's own API
    for a spec without ``@host``; Ollama's ``local``)."""
    spec = parse_spec(backend.spec)
    host = spec.host or ("local" if spec.provider == "ollama" else spec.provider)
    return WorkerRef(backend.spec, spec.model or spec.provider, host, backend.capabilities.local)


@dataclass
class Router:
    config: LoopConfig
    workers: list[Backend]
    source: PerformanceSource | None
    warn: Callable[[str], None]
    specialists: dict[str, Backend] = field(default_factory=dict)
    """Tag -> the backend that does every subgoal the plan tags so."""

    def __post_init__(self) -> None:
        self.refs = [ref(w) for w in self.workers]
        self.by_spec = {w.spec: w for w in self.workers}
        self.last: list[dict[str, Any]] = []
        """The last iteration's outcomes, for the next plan."""
        self.facts: list[WorkerFacts] = []
        self._tried: dict[str, list[tuple[str, int, bool, int, float]]] = {}

    @property
    def active(self) -> bool:
        return self.config.route != "fixed"

    def card(self) -> list[WorkerFacts]:
        """The card, read afresh (this run's calls and outcomes are in the store too)."""
        if self.source is None:
            self.facts = [WorkerFacts(r.spec, r.local) for r in self.refs]
        else:
            self.facts = self.source.card(self.refs)
        return self.facts

    def planner_extra(self) -> tuple[str, str]:
        """What the planner's system prompt and prompt gain under a route: the rule for
        assigning, and the card with the last estimates against actuals (measured by
        loopwright); empty strings under ``fixed``."""
        note = self._specialists_note()
        if not self.active:
            return note, ""
        lines = ["Performance card of the available workers (measured by loopwright):"]
        lines.append(card_text(self.card()))
        if self.last:
            lines.append("Last iteration, estimate against actual (measured by loopwright):")
            lines += [_compared(o) for o in self.last]
        return PLANNER_ROUTING + note, "\n".join(lines)

    def _specialists_note(self) -> str:
        if not self.specialists:
            return ""
        table = "\n".join(f"- {tag}: {b.spec}" for tag, b in self.specialists.items())
        return PLANNER_SPECIALISTS.format(table=table)

    def tags(self) -> list[str] | None:
        """The tags the plan's schema offers: those with a specialist (None: no tags)."""
        return list(self.specialists) or None

    def check(self, subgoals: list[Subgoal]) -> list[Subgoal]:
        """The plan with every assignment to a worker that is not there dropped (said), and
        its tags trimmed and lower-cased."""
        out = []
        for s in subgoals:
            tags = list(dict.fromkeys(t.strip().lower() for t in s.tags if t.strip()))
            if tags != s.tags:
                s = s.model_copy(update={"tags": tags})
            if s.worker is not None and s.worker not in self.by_spec:
                self.warn(
                    f"the plan gave subgoal {s.id} to {s.worker!r}, which is not one of this "
                    f"run's workers ({', '.join(self.by_spec)}); routing it as {self.config.route}"
                )
                s = s.model_copy(update={"worker": None})
            out.append(s)
        return out

    def pick(
        self, n: int, subgoal: Subgoal, attempt: int, failed_on: str | None
    ) -> tuple[Backend, Choice | None]:
        """The worker for attempt ``attempt`` of the ``n``-th subgoal: in turn under
        ``fixed`` (as always), else the route's choice, with why; a subgoal tagged for a
        specialist goes to it whatever the route."""
        tag = next((t for t in subgoal.tags if t in self.specialists), None)
        if tag is not None:
            return self.specialists[tag], Choice(self.specialists[tag].spec,
                                                 f"specialist for tag {tag!r}")  # fmt: skip
        if not self.active:
            return self.workers[n % len(self.workers)], None
        if not self.facts:
            self.card()
        ask = Ask(n, attempt, subgoal.est_tokens, subgoal.worker, failed_on)
        c = self.config
        choice = route_choose(c.route, self.facts, ask, c.local_max_seconds, c.route_margin)
        return self.by_spec[choice.spec], choice

    def attempted(
        self, subgoal: str, worker: str, attempt: int, ok: bool, tokens: int, seconds: float
    ) -> None:
        """One attempt of a subgoal: a failed one counts against its worker's pass rate
        even when a retry elsewhere succeeds."""
        self._tried.setdefault(subgoal, []).append((worker, attempt, ok, tokens, seconds))

    def wants_outcomes(self) -> bool:
        """Whether this iteration's outcomes are worth an ``outcomes`` event: under a
        route, or when a store keeps them and the workers measured something."""
        measured = any(t[3] for tried in self._tried.values() for t in tried)
        return self.active or (self.source is not None and measured)

    def outcomes(
        self, subgoals: list[Subgoal], results: list[TaskResult], verify: list[VerifyResult]
    ) -> list[dict[str, Any]]:
        """Each attempt's estimate against what it took (passed: the worker succeeded, the
        merged result is ok and verify passed); kept for the next plan."""
        verified = all(v.passed for v in verify)
        merged = {r.subgoal_id: r.status == "ok" for r in results}
        local = {r.spec: r.local for r in self.refs}
        facts = {f.spec: f for f in self.facts}
        out = []
        for n, s in enumerate(subgoals, 1):
            for worker, attempt, ok, tokens, seconds in self._tried.pop(s.id, []):
                f, est = facts.get(worker), s.est_tokens
                out.append({
                    "subgoal": s.id, "n": n, "worker": worker, "local": local.get(worker, False),
                    "est_tokens": est,
                    "est_seconds": f.seconds_for(est) if f is not None and est else None,
                    "tokens": tokens, "seconds": round(seconds, 3), "attempt": attempt,
                    "passed": ok and verified and merged.get(s.id, False),
                })  # fmt: skip
        self._tried.clear()
        self.last = out
        return out


def _compared(o: dict[str, Any]) -> str:
    est = "no estimate" if o["est_tokens"] is None else f"estimated {o['est_tokens']} tokens"
    if o["est_seconds"] is not None:
        est += f" / {o['est_seconds']:g} s"
    verdict = "passed" if o["passed"] else "did not pass"
    return (
        f"- subgoal {o['n']} on {o['worker']}: {est}; took {o['tokens']} tokens / "
        f"{o['seconds']:g} s (attempt {o['attempt']}); {verdict}"
    )

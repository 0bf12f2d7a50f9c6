"""Which subgoal goes to which worker, from measured performance.

The **card** is what the planner reads: each available worker with its measured
generation and prompt speed, context, load time, $/Mtok and pass rate on past subgoals
(``card``, from a ``ProfileStore``; ``card_text`` for the prompt). A **route** decides
per subgoal (``choose``):

- ``fixed`` — the workers in turn, as listed (the default; what loopwright always did);
- ``cloud`` — the first worker that is not local;
- ``local-first`` — the fastest local worker whose estimated time is under
  ``local_max_seconds`` and whose pass rate is within ``margin`` of the cloud worker's;
  a subgoal that failed on a local worker goes to the cloud worker on its retry;
- ``planner`` — the worker the plan assigned, when it is available; else local-first.

Pure: the loop hands in the facts, nothing here reads or writes anything but the store
given to ``card``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .profiles import ProfileStore
from .summary import figure, median

DEFAULT_SUBGOAL_TOKENS = 6_000
"""A subgoal's worker tokens (prompt + generated) when the plan gives no estimate."""
OUTPUT_SHARE = 0.25
"""The share of a worker's tokens it generates (the rest it reads), for time estimates."""
DEFAULT_MARGIN = 0.05
"""How far below the cloud worker's pass rate a local worker's may be (5 points)."""
MIN_OUTCOMES = 3
"""Subgoals a worker must have done before its pass rate counts."""


@dataclass(frozen=True)
class WorkerRef:
    """An available worker as the loop knows it."""

    spec: str
    model: str
    host: str
    local: bool


@dataclass(frozen=True)
class WorkerFacts:
    """One line of the card: what was measured of a worker."""

    spec: str
    local: bool
    gen_tps: float | None = None
    prompt_tps: float | None = None
    context: int | None = None
    load_s: float | None = None
    usd_per_mtok: float | None = None
    pass_rate: float | None = None
    subgoals: int = 0
    calls: int = 0
    token_ratio: float | None = None
    """Median of actual over estimated tokens on past subgoals (>1: estimates ran low)."""

    def seconds_for(self, tokens: int) -> float | None:
        """Estimated seconds for a subgoal of ``tokens`` worker tokens; None unmeasured."""
        if not self.gen_tps:
            return None
        out = tokens * OUTPUT_SHARE
        read = (tokens - out) / self.prompt_tps if self.prompt_tps else 0.0
        return round(out / self.gen_tps + read + (self.load_s or 0.0), 2)


class PerformanceSource(Protocol):
    """What the loop is handed to read the card (``StoreCard``; a stand-in in tests)."""

    def card(self, workers: Sequence[WorkerRef]) -> list[WorkerFacts]: ...


def _facts(store: ProfileStore, ref: WorkerRef) -> WorkerFacts:
    calls = [c for c in store.calls(ref.model) if c.host == ref.host]
    done = store.outcomes(ref.spec)
    tokens = sum(c.prompt_tokens + c.gen_tokens for c in calls)
    costs = [c.cost_usd for c in calls]
    known = None if not calls or None in costs else sum(c or 0.0 for c in costs)
    ratios = [o.tokens / o.est_tokens for o in done if o.est_tokens]
    return WorkerFacts(
        spec=ref.spec,
        local=ref.local,
        gen_tps=median([c.gen_tps for c in calls if c.gen_tps]),
        prompt_tps=median([c.prompt_tps for c in calls if c.prompt_tps]),
        context=max((c.context for c in calls if c.context), default=None),
        load_s=median([c.load_s for c in calls if c.load_s is not None]),
        usd_per_mtok=round(known * 1e6 / tokens, 4) if known is not None and tokens else None,
        pass_rate=round(sum(o.passed for o in done) / len(done), 3) if done else None,
        subgoals=len(done),
        calls=len(calls),
        token_ratio=median(ratios),
    )


class StoreCard:
    """The card from the profile store: every call and subgoal recorded, this run's too."""

    def __init__(self, store: ProfileStore) -> None:
        self.store = store

    def card(self, workers: Sequence[WorkerRef]) -> list[WorkerFacts]:
        return [_facts(self.store, ref) for ref in workers]


def _n(value: float | int | None, unit: str = "") -> str:
    return "unmeasured" if value is None else f"{figure(value)}{unit}"


def card_text(facts: Sequence[WorkerFacts]) -> str:
    """The card as the planner's prompt shows it, one line per worker."""
    lines = []
    for f in facts:
        cost = "free" if f.local and not f.usd_per_mtok else _n(f.usd_per_mtok, " $/Mtok")
        passed = "no subgoals yet" if f.pass_rate is None else (
            f"passed {f.pass_rate:.0%} of {f.subgoals} subgoals")  # fmt: skip
        ratio = "" if f.token_ratio is None else f", actual/estimated tokens {_n(f.token_ratio)}"
        lines.append(
            f"- {f.spec} ({'local' if f.local else 'cloud'}): generates "
            f"{_n(f.gen_tps, ' tok/s')}, reads {_n(f.prompt_tps, ' tok/s')}, context "
            f"{_n(f.context)}, load {_n(f.load_s, ' s')}, {cost}, {passed}{ratio} "
            f"({f.calls} calls measured)"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Choice:
    spec: str
    reason: str
    est_seconds: float | None = None


def _cloud(facts: Sequence[WorkerFacts]) -> WorkerFacts | None:
    return next((f for f in facts if not f.local), None)


def _trusted(f: WorkerFacts, cloud: WorkerFacts | None, margin: float) -> bool:
    """A local worker's pass rate is close enough to the cloud's (unknown: give it a go)."""
    if cloud is None or f.subgoals < MIN_OUTCOMES or f.pass_rate is None:
        return True
    if cloud.subgoals < MIN_OUTCOMES or cloud.pass_rate is None:
        return True
    return f.pass_rate >= cloud.pass_rate - margin


def local_first(
    facts: Sequence[WorkerFacts], tokens: int, max_seconds: float, margin: float
) -> Choice | None:
    """The fastest fitting local worker for a subgoal of ``tokens``, or None. A local
    worker never measured is tried when no measured one fits: its first call measures it."""
    cloud = _cloud(facts)
    fits, unmeasured = [], []
    for f in facts:
        seconds = f.seconds_for(tokens)
        if not f.local or not _trusted(f, cloud, margin):
            continue
        if seconds is None:
            unmeasured.append(f.spec)
        elif seconds <= max_seconds:
            fits.append((seconds, f.spec))
    if fits:
        seconds, spec = min(fits)
        why = f"local-first: ~{seconds:g} s here, under {max_seconds:g} s"
        return Choice(spec, why, seconds)
    if unmeasured:
        return Choice(unmeasured[0], "local-first: not measured yet, trying it")
    return None


@dataclass(frozen=True)
class Ask:
    """One subgoal's routing question."""

    n: int
    """Its place in the plan (``fixed`` turns through the workers by it)."""
    attempt: int = 1
    est_tokens: int | None = None
    assigned: str | None = None
    failed_on: str | None = None
    """The worker its last attempt failed on."""


def choose(
    policy: str,
    facts: Sequence[WorkerFacts],
    ask: Ask,
    local_max_seconds: float = 600.0,
    margin: float = DEFAULT_MARGIN,
) -> Choice:
    """The worker for one subgoal under ``policy``; ``facts`` in the roles' order."""
    tokens = ask.est_tokens or DEFAULT_SUBGOAL_TOKENS
    by_spec = {f.spec: f for f in facts}
    cloud = _cloud(facts)
    failed_local = ask.failed_on in by_spec and by_spec[str(ask.failed_on)].local
    if policy == "fixed" or not facts:
        return Choice(facts[ask.n % len(facts)].spec, "fixed: the workers in turn")
    if cloud is not None and (policy == "cloud" or (ask.attempt > 1 and failed_local)):
        why = "cloud" if policy == "cloud" else f"escalated: failed on {ask.failed_on}"
        return Choice(cloud.spec, why, cloud.seconds_for(tokens))
    if policy == "planner" and ask.assigned in by_spec:
        f = by_spec[ask.assigned]
        return Choice(f.spec, "planner's assignment", f.seconds_for(tokens))
    picked = local_first(facts, tokens, local_max_seconds, margin)
    if picked is not None:
        return picked
    fallback = cloud or facts[ask.n % len(facts)]
    return Choice(fallback.spec, "no local worker fits", fallback.seconds_for(tokens))

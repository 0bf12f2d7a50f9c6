"""What a resumed pattern run already did: the exchanges its event log holds.

A pattern run whose host died (``interrupted``) goes on from its log on ``resume``: a
call whose ``exchange`` is there is not made again, its reply is taken from the log (its
cost already counts in the run's usage: ``runs.patterns`` starts the budget from it).
``Earlier.take`` hands each recorded exchange out once, in the order it was recorded, to
the step that asks for it; a step that finds none makes the call. The first call a
resumed pattern makes is announced by a ``resumed`` event saying where it goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..types import UsageTotals
from ..vocab import EventType, ExchangeStep, PatternName
from .common import Exchange, PatternContext


@dataclass
class Earlier:
    """A resumed pattern run's log: its exchanges still to be taken, and the rounds of the
    ``disagreement`` and ``decision`` events it holds (not emitted a second time)."""

    exchanges: list[Exchange] = field(default_factory=list)
    recorded: set[tuple[str, int]] = field(default_factory=set)
    """(event type, round) of the log's ``disagreement`` and ``decision`` events."""
    used: UsageTotals = field(default_factory=UsageTotals)
    """What every exchange of the log cost (where a resumed run's usage starts)."""
    resumed: bool = True
    """False: a fresh run (nothing to take, nothing to announce)."""
    kept: int = 0
    """How many exchanges were taken from the log so far."""
    announced: bool = False

    @classmethod
    def of(cls, events: Iterable[Mapping[str, Any]]) -> Earlier:
        """The log ``events`` (a run's, a ``MemorySink``'s) as a resumed run's ``Earlier``.
        An exchange whose text the log cut is not taken (that call is made again) but its
        cost counts, as every exchange's does."""
        earlier, every = cls(), []
        for e in events:
            if e["type"] == "exchange":
                every.append(Exchange.model_validate(e["data"]))
                if "truncated" not in e["data"]:
                    earlier.exchanges.append(every[-1])
            elif e["type"] in ("disagreement", "decision"):
                earlier.recorded.add((e["type"], e["iteration"]))
        earlier.used = spent(every)
        return earlier

    def unrecorded(self, type: EventType, round: int) -> bool:
        """Whether an event of ``type`` for ``round`` is still to be emitted (the log does
        not hold it already)."""
        return (type, round) not in self.recorded

    def take(
        self, step: ExchangeStep, round: int, participant: int | None, spec: str
    ) -> Exchange | None:
        """The first recorded exchange of ``step`` in ``round`` by ``participant`` from
        ``spec`` (the backend now at that place), once; None: the call is to be made."""
        for n, x in enumerate(self.exchanges):
            if (x.step, x.round, x.participant, x.spec) == (step, round, participant, spec):
                self.kept += 1
                return self.exchanges.pop(n)
        return None

    def go_on(
        self, ctx: PatternContext, pattern: PatternName, step: ExchangeStep, round: int,
        **data: Any,
    ) -> None:  # fmt: skip
        """Before the resumed run's first call: a ``resumed`` event naming the step and
        round it goes on at and how many exchanges it kept from the log."""
        if self.resumed and not self.announced:
            self.announced = True
            ctx.emit("resumed", round, {"pattern": pattern, "step": step, "round": round,
                                        "kept": self.kept, **data})  # fmt: skip

    async def answer(
        self, ctx: PatternContext, pattern: PatternName, step: ExchangeStep, round: int,
        participant: int | None, spec: str, ask: Callable[[], Awaitable[Exchange]],
    ) -> Exchange:  # fmt: skip
        """The exchange the log holds for this call, else the call made (``ask``)."""
        x = self.take(step, round, participant, spec)
        if x is None:
            self.go_on(ctx, pattern, step, round)
            x = await ask()
        return x


def spent(exchanges: list[Exchange]) -> UsageTotals:
    """What ``exchanges`` cost: a resumed pattern's budget goes on from there."""
    usage = UsageTotals(agent_calls=len(exchanges))
    for x in exchanges:
        usage.input_tokens += x.input_tokens
        usage.output_tokens += x.output_tokens
        usage.cost_usd += x.cost_usd or 0.0
        usage.unknown_cost_calls += x.cost_usd is None
    return usage


def fresh(earlier: Earlier | None) -> Earlier:
    """``earlier``, or the empty log of a run that is not resumed."""
    return earlier if earlier is not None else Earlier(resumed=False)

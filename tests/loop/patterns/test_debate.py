"""debate: blind drafts, bounded revision rounds, convergence, a judge or a vote."""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
import pytest

from loopwright import AgentRequest
from loopwright.errors import UserError
from loopwright.loop.events import MemorySink
from loopwright.loop.patterns import context, debate
from loopwright.loop.types import Budget

from ..fences import blocks, quoted_once
from .panel import Recording, exchanges

QUESTION = "Tabs or spaces?"


def debater(name: str, *, keep_from: int = 99, vote: int = 1) -> Callable[[AgentRequest], str]:
    """Drafts ``<name> round 0``; revises to ``<name> round N`` until round ``keep_from``,
    then keeps its draft; votes for draft ``vote``."""

    def reply(request: AgentRequest) -> str:
        if request.purpose == "judge":
            return json.dumps({"pick": vote, "reason": f"{name} likes it"})
        n = request.iteration
        if n >= keep_from:
            return json.dumps({"critique": "fine", "changed": False, "answer": "ignored"})
        text = f"{name} DRAFT round {n} words{n}"
        return text if n == 0 else json.dumps({"critique": "c", "changed": True, "answer": text})

    return reply


def panel(*replies: Callable[[AgentRequest], str]) -> list[Recording]:
    return [Recording(f"m:{n}", r) for n, r in enumerate(replies, 1)]


async def test_round_zero_is_blind_and_later_rounds_see_the_others_drafts_fenced() -> None:
    one, two = panel(debater("ALPHA"), debater("BETA"))
    result = await debate(QUESTION, [one, two], rounds=1, converge_at=0.0)
    assert [len(r.exchanges) for r in result.rounds] == [2, 2]
    for backend, other in ((one, "BETA"), (two, "ALPHA")):
        draft, revision = backend.prompts[:2]
        assert "DRAFT" not in draft and QUESTION in draft
        assert blocks(draft) == []
        quoted_once(revision, f"{other} DRAFT round 0 words0")
    own = one.prompts[1]
    body = quoted_once(own, "ALPHA DRAFT round 0 words0")
    assert body[1] == "ALPHA DRAFT round 0 words0"
    assert one.requests[1].response_schema is not None


async def test_revisions_are_made_from_the_round_before_not_from_each_others_revision() -> None:
    first_done = anyio.Event()

    def first(request: AgentRequest) -> str:
        reply = debater("ALPHA")(request)
        if request.iteration == 1:
            first_done.set()
        return reply

    async def second(request: AgentRequest) -> str:
        if request.iteration == 1:
            await first_done.wait()  # ALPHA's round-1 revision exists before BETA answers
        return debater("BETA")(request)

    one, two = Recording("m:1", first), Recording("m:2", second)
    with anyio.fail_after(10):
        await debate(QUESTION, [one, two], rounds=1, converge_at=0.0)
    assert "ALPHA DRAFT round 1" not in two.prompts[1]
    quoted_once(two.prompts[1], "ALPHA DRAFT round 0 words0")


async def test_the_debate_stops_at_its_round_limit_when_drafts_keep_changing() -> None:
    sink = MemorySink()
    backends = panel(debater("ALPHA"), debater("BETA"), debater("GAMMA"))
    result = await debate(QUESTION, backends, rounds=2, converge_at=0.0, ctx=context(sink))
    assert [r.round for r in result.rounds] == [0, 1, 2]
    assert not result.converged
    assert result.stop_reason == "round limit (2) reached"
    assert result.rounds[-1].drafts[2] == "BETA DRAFT round 2 words2"
    assert [e["iteration"] for e in sink.of_type("disagreement")] == [0, 1, 2]
    assert all(len(b.requests) == 4 for b in backends)  # draft, 2 revisions, a vote


async def test_the_debate_stops_once_every_participant_keeps_its_draft() -> None:
    backends = panel(debater("ALPHA", keep_from=2), debater("BETA", keep_from=2))
    result = await debate(QUESTION, backends, rounds=5, converge_at=0.0)
    assert [r.round for r in result.rounds] == [0, 1, 2]
    assert result.converged and result.stop_reason == "converged after round 2"
    assert result.rounds[2].kept == [1, 2]
    assert result.rounds[2].drafts[1] == "ALPHA DRAFT round 1 words1"  # kept, not "ignored"


async def test_drafts_that_already_agree_end_the_debate_without_a_revision_round() -> None:
    same = [Recording(f"m:{n}", "Spaces, four of them.") for n in (1, 2)]
    result = await debate(QUESTION, same, rounds=3)
    assert len(result.rounds) == 1 and result.converged
    assert result.stop_reason == "converged after round 0"
    assert result.rounds[0].disagreement.mean == 0.0


async def test_a_judge_backend_picks_the_answer() -> None:
    sink = MemorySink()
    judge = Recording("j:judge", json.dumps({"pick": 2, "reason": "clearer"}))
    backends = panel(debater("ALPHA"), debater("BETA"))
    result = await debate(QUESTION, backends, rounds=0, judge=judge, ctx=context(sink))
    assert result.pick is not None
    assert (result.pick.by, result.pick.participant, result.pick.spec) == ("judge", 2, "m:2")
    assert result.pick.answer == "BETA DRAFT round 0 words0" and result.pick.reason == "clearer"
    quoted_once(judge.prompts[0], "ALPHA DRAFT round 0 words0")
    assert all(r.purpose != "judge" for b in backends for r in b.requests)  # no votes
    (decision,) = sink.of_type("decision")
    assert decision["data"]["participant"] == 2 and decision["data"]["by"] == "judge"


async def test_a_judge_that_never_names_a_draft_falls_back_to_the_nearest_draft() -> None:
    judge = Recording("j", "I like them all")
    a = Recording("m:1", "spaces are standard in python")
    b = Recording("m:2", "spaces are standard")
    c = Recording("m:3", "tabs forever and ever")
    result = await debate(QUESTION, [a, b, c], rounds=0, judge=judge)
    assert len(judge.requests) == 2  # the reply and one repair
    assert result.pick is not None and result.pick.participant in (1, 2)
    assert "no usable pick" in result.pick.reason


async def test_without_a_judge_the_participants_vote_and_a_tie_goes_to_the_nearest() -> None:
    sink = MemorySink()
    backends = panel(debater("A", vote=2), debater("B", vote=2), debater("C", vote=1))
    result = await debate(QUESTION, backends, rounds=0, ctx=context(sink))
    assert result.pick is not None and result.pick.by == "vote"
    assert result.pick.participant == 2 and result.pick.votes == {1: 1, 2: 2, 3: 0}
    votes = [e for e in exchanges(sink) if e["step"] == "vote"]
    assert sorted(e["participant"] for e in votes) == [1, 2, 3]
    tie = await debate(QUESTION, panel(debater("A", vote=1), debater("B", vote=2)), rounds=0)
    assert tie.pick is not None and "tie" in tie.pick.reason


async def test_the_budget_stops_the_debate_between_rounds_keeping_the_drafts() -> None:
    sink = MemorySink()
    backends = panel(debater("ALPHA"), debater("BETA"))
    ctx = context(sink, Budget(max_agent_calls=3))
    result = await debate(QUESTION, backends, rounds=3, converge_at=0.0, ctx=ctx)
    assert result.state == "stopped" and "max_agent_calls" in result.stop_reason
    assert result.rounds[0].drafts == {
        1: "ALPHA DRAFT round 0 words0",
        2: "BETA DRAFT round 0 words0",
    }
    assert len(result.rounds[1].exchanges) == 1  # one revision fitted, the other did not
    assert result.pick is None
    assert len(exchanges(sink)) == 3 == result.usage.agent_calls


async def test_every_exchange_of_a_debate_is_an_event() -> None:
    sink = MemorySink()
    backends = panel(debater("ALPHA"), debater("BETA"))
    judge = Recording("j", json.dumps({"pick": 1, "reason": "r"}))
    await debate(QUESTION, backends, rounds=2, converge_at=0.0, judge=judge, ctx=context(sink))
    calls = sum(len(b.requests) for b in [*backends, judge])
    events = exchanges(sink)
    assert len(events) == calls == 7
    assert {e["step"] for e in events} == {"draft", "revision", "judge"}
    assert all({"spec", "host", "input_tokens", "output_tokens", "cost_usd", "latency"} <= set(e)
               for e in events)  # fmt: skip


async def test_a_debate_needs_two_participants() -> None:
    with pytest.raises(UserError):
        await debate(QUESTION, panel(debater("A")))

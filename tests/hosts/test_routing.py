"""Routing decisions from the card: fixed, cloud, local-first (with escalation) and the
planner's assignments; and the card read from the profile store."""

from __future__ import annotations

from pathlib import Path

from loopwright.hosts.profiles import CallProfile, Outcome, ProfileStore
from loopwright.hosts.routing import (
    Ask,
    StoreCard,
    WorkerFacts,
    WorkerRef,
    card_text,
    choose,
)

FAST = WorkerFacts("ollama:small@box", True, gen_tps=80.0, prompt_tps=800.0, load_s=1.0)
SLOW = WorkerFacts("ollama:big@box", True, gen_tps=8.0, prompt_tps=100.0, load_s=5.0)
CLOUD = WorkerFacts("anthropic:claude", False, gen_tps=60.0, usd_per_mtok=6.0)
ALL = [SLOW, FAST, CLOUD]


def test_fixed_gives_the_workers_their_subgoals_in_turn() -> None:
    assert [choose("fixed", ALL, Ask(n)).spec for n in range(4)] == [
        SLOW.spec, FAST.spec, CLOUD.spec, SLOW.spec,
    ]  # fmt: skip


def test_cloud_sends_everything_to_the_cloud_worker() -> None:
    assert {choose("cloud", ALL, Ask(n)).spec for n in range(3)} == {CLOUD.spec}


def test_local_first_takes_the_fastest_local_worker_that_fits_the_time() -> None:
    c = choose("local-first", ALL, Ask(0, est_tokens=6000), local_max_seconds=120)
    assert c.spec == FAST.spec and c.est_seconds is not None and c.est_seconds < 120
    assert "local-first" in c.reason


def test_local_first_sends_a_subgoal_too_big_for_the_time_limit_to_the_cloud() -> None:
    c = choose("local-first", ALL, Ask(0, est_tokens=200_000), local_max_seconds=120)
    assert c.spec == CLOUD.spec and c.reason == "no local worker fits"


def test_local_first_skips_a_local_worker_whose_pass_rate_trails_the_clouds() -> None:
    weak = WorkerFacts(FAST.spec, True, gen_tps=80.0, pass_rate=0.6, subgoals=20)
    strong = WorkerFacts(CLOUD.spec, False, gen_tps=60.0, pass_rate=0.9, subgoals=20)
    assert choose("local-first", [weak, strong], Ask(0)).spec == CLOUD.spec
    close = WorkerFacts(FAST.spec, True, gen_tps=80.0, pass_rate=0.87, subgoals=20)
    assert choose("local-first", [close, strong], Ask(0)).spec == FAST.spec


def test_a_subgoal_that_failed_locally_is_escalated_to_the_cloud_on_retry() -> None:
    c = choose("local-first", ALL, Ask(0, attempt=2, failed_on=FAST.spec))
    assert c.spec == CLOUD.spec and c.reason == f"escalated: failed on {FAST.spec}"
    again = choose("local-first", ALL, Ask(0, attempt=2, failed_on=CLOUD.spec))
    assert again.spec == FAST.spec  # a cloud failure is not escalated anywhere


def test_the_planner_assignment_is_followed_when_the_worker_is_there() -> None:
    assert choose("planner", ALL, Ask(0, assigned=SLOW.spec)).spec == SLOW.spec
    assert choose("planner", ALL, Ask(0, assigned="nobody")).spec == FAST.spec


def test_an_unmeasured_local_worker_is_tried_only_when_no_measured_one_fits() -> None:
    blank = WorkerFacts("ollama:new@box", True)
    first = choose("local-first", [blank, CLOUD], Ask(0))
    assert first.spec == blank.spec and first.reason == "local-first: not measured yet, trying it"
    assert choose("local-first", [blank, FAST, CLOUD], Ask(0)).spec == FAST.spec


def test_the_card_says_each_workers_measured_facts() -> None:
    text = card_text([FAST, WorkerFacts("ollama:new@box", True), CLOUD])
    assert "ollama:small@box (local): generates 80 tok/s, reads 800 tok/s" in text
    assert "ollama:new@box (local): generates unmeasured" in text
    assert "anthropic:claude (cloud)" in text and "6 $/Mtok" in text


def call(model: str, host: str, gen: float, cost: float | None) -> CallProfile:
    return CallProfile(1.0, model, host, "x", "work", 900, 500.0, 100, gen, 0.5, 8192, 2.0,
                       "ok", "ollama", cost_usd=cost)  # fmt: skip


def test_the_card_from_the_store_has_speeds_costs_pass_rates_and_estimate_errors(
    tmp_path: Path,
) -> None:
    store = ProfileStore(tmp_path / "p.sqlite")
    for gen in (70.0, 80.0, 90.0):
        store.add_call(call("small", "box", gen, 0.0))
    store.add_call(call("claude", "anthropic", 50.0, 0.006))
    store.add_call(call("small", "elsewhere", 1.0, 0.0))  # another host: not this worker
    store.add_outcomes([
        Outcome(1.0, "ollama:small@box", True, 1000, 10.0, 2000, 20.0, passed)
        for passed in (True, True, True, False)
    ])  # fmt: skip
    refs = [WorkerRef("ollama:small@box", "small", "box", True),
            WorkerRef("anthropic:claude", "claude", "anthropic", False)]  # fmt: skip
    small, claude = StoreCard(store).card(refs)
    assert (small.gen_tps, small.prompt_tps, small.context, small.load_s) == (80, 500, 8192, 0.5)
    assert (small.pass_rate, small.subgoals, small.calls, small.token_ratio) == (0.75, 4, 3, 2)
    assert small.usd_per_mtok == 0.0 and claude.usd_per_mtok == 6.0
    assert claude.pass_rate is None and claude.subgoals == 0
    store.close()

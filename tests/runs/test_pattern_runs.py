"""Pattern runs (consult, delegate, debate): the same run host, log, budget, cancel and
result as a loop's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright import AgentRequest
from loopwright.backends.scripted import ScriptedBackend
from loopwright.errors import UserError
from loopwright.loop.harness import Roles
from loopwright.runs import runner
from loopwright.runs.pattern_request import build_pattern_request
from loopwright.runs.store import RunStore

from ..helpers import events_of, write_scenario
from ..loop.fences import quoted_once
from ..loop.patterns.panel import Recording

QUESTION = "Which queue should the service use?"


def test_a_detached_consult_runs_in_its_own_host_with_every_exchange_in_its_log(
    store: RunStore, tmp_path: Path
) -> None:
    a = write_scenario(tmp_path / "a.json", {"consult": ["Use Redis streams"]})
    b = write_scenario(tmp_path / "b.json", {"consult": ["Use Postgres SKIP LOCKED"]})
    s = write_scenario(tmp_path / "s.json", {"synthesize": ["Agreement: a queue."]})
    request = build_pattern_request("consult", QUESTION, models=[a, b], helper=s)
    run_id = runner.start(store, request)
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "completed", status.get("error")
    result = store.read_result(run_id)
    assert result is not None and result["extra"]["pattern"] == "consult"
    answers = result["extra"]["answers"]
    assert [(x["spec"], x["text"]) for x in answers] == [
        (a, "Use Redis streams"),
        (b, "Use Postgres SKIP LOCKED"),
    ]
    assert result["extra"]["synthesis"]["text"] == "Agreement: a queue."
    assert result["summary"] == "consult completed: 2 of 2 consultant(s) answered"
    events = events_of(store.paths(run_id).events)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("exchange") == 3 and kinds.count("disagreement") == 1
    assert result["usage"]["agent_calls"] == 3


async def test_cancelling_a_consult_mid_way_records_cancelled_with_the_answers_so_far(
    store: RunStore, tmp_path: Path
) -> None:
    quick = write_scenario(tmp_path / "q.json", {"consult": ["here already"]})
    slow = write_scenario(tmp_path / "s.json", {"consult": [{"text": "late", "delay": 60}]})
    request = build_pattern_request("consult", QUESTION, models=[quick, slow])
    run_id = runner.start(store, request)
    events = store.paths(run_id).events
    with anyio.fail_after(20):
        while not any(e["type"] == "exchange" for e in _events(events)):
            await anyio.sleep(0.02)
    status = await anyio.to_thread.run_sync(runner.cancel, store, run_id)
    assert status["state"] == "cancelled"
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "cancelled"
    assert [x["text"] for x in result["extra"]["answers"]] == ["here already"]
    assert [e["type"] for e in _events(events)][-2:] == ["cancelled", "run_finished"]


def _events(path: Path) -> list[dict[str, Any]]:
    return events_of(path) if path.exists() else []


def test_the_budget_stops_a_consult_run(store: RunStore) -> None:
    request = build_pattern_request(
        "consult", QUESTION, models=["scripted", "scripted"], budget={"max_agent_calls": 1}
    )
    run = runner.start_thread(store, request)
    assert run.wait(30)["state"] == "stopped"
    result = store.read_result(run.run_id)
    assert result is not None and "max_agent_calls" in result["stop_reason"]
    assert len(result["extra"]["answers"]) == 1


def test_a_delegate_works_in_the_runs_worktree_and_the_callers_review_sees_its_diff(
    store: RunStore, repo: Path
) -> None:
    verdict = json.dumps({"complete": True, "score": 1, "issues": [], "next_steps": []})
    reviewer = Recording("anthropic:caller", verdict)
    worker = ScriptedBackend(spec="ollama:coder@box")
    request = build_pattern_request(
        "delegate", "Write the notes file", models=["scripted"], helper="scripted", cwd=str(repo)
    )
    roles = Roles(planner=worker, workers=[worker], reviewers=[reviewer])
    run = runner.start_thread(store, request, roles=roles)
    assert run.wait(30)["state"] == "completed"
    result = store.read_result(run.run_id)
    assert result is not None
    extra = result["extra"]
    assert extra["work"]["spec"] == "ollama:coder@box" and extra["work"]["host"] == "box"
    assert "+++ b/loopwright-scripted.md" in extra["patch"]
    assert extra["verdict"]["reviewer"] == "anthropic:caller"
    (review,) = reviewer.requests
    quoted_once(review.prompt, "+# Written by loopwright's scripted worker")
    assert not (repo / "loopwright-scripted.md").exists()  # the worktree, not the checkout
    assert result["workspace"]["commits"] == 1
    worktree = Path(result["workspace"]["path"])
    assert (worktree / "loopwright-scripted.md").exists()


def test_a_debate_run_reports_its_rounds_as_iterations(store: RunStore) -> None:
    def says(word: str) -> Any:
        def reply(request: AgentRequest) -> str:
            if request.purpose == "judge":
                return '{"pick": 2, "reason": "r"}'
            n = request.iteration
            answer = f"{word} {n} " + " ".join(f"w{n}{i}" for i in range(5))
            return answer if n == 0 else json.dumps({"critique": "", "changed": True,
                                                     "answer": answer})  # fmt: skip

        return reply

    a, b = Recording("m:a", says("alpha")), Recording("m:b", says("beta"))
    request = build_pattern_request(
        "debate", QUESTION, models=["scripted", "scripted"], options={"rounds": 2}
    )
    run = runner.start_thread(store, request, roles=Roles(planner=a, workers=[a, b], reviewers=[]))
    assert run.wait(30)["state"] == "completed"
    result = store.read_result(run.run_id)
    assert result is not None and result["iterations"] == 2
    assert result["extra"]["stop_reason"] == "round limit (2) reached"
    assert result["extra"]["pick"]["by"] == "vote" and result["extra"]["pick"]["spec"] == "m:b"


@pytest.mark.parametrize(
    ("pattern", "given", "field"),
    [
        ("debate", {"models": ["scripted"]}, "models"),
        ("delegate", {"models": ["scripted", "scripted"]}, "backend"),
        ("consult", {"models": []}, "models"),
        ("consult", {"models": [" "]}, "models"),
        ("consult", {"models": ["scripted"], "helper": ""}, "synthesizer"),
        ("debate", {"models": ["scripted"] * 2, "options": {"rounds": 11}}, "rounds"),
        ("debate", {"models": ["scripted"] * 2, "options": {"rounds": True}}, "rounds"),
        ("debate", {"models": ["scripted"] * 2, "options": {"converge_at": 2.0}}, "converge_at"),
        ("consult", {"models": ["scripted"], "cwd": "relative"}, "cwd"),
        ("consult", {"models": ["scripted"], "timeout": 0}, "timeout"),
    ],
)
def test_a_bad_pattern_request_is_refused_naming_its_field(
    store: RunStore, pattern: Any, given: dict[str, Any], field: str
) -> None:
    with pytest.raises(UserError) as caught:
        build_pattern_request(pattern, QUESTION, **given)
    assert caught.value.field == field
    assert not store.runs_dir.exists() or not any(store.runs_dir.iterdir())


def test_an_empty_question_or_task_is_refused() -> None:
    with pytest.raises(UserError) as caught:
        build_pattern_request("delegate", "  ", models=["scripted"])
    assert caught.value.field == "task"

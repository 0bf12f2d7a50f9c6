"""What the harness asks of backends: a typed request per call, schemas for answers."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import jsonschema

from loopwright import AgentRequest, FunctionBackend, Harness, LoopConfig, MemorySink, Roles
from loopwright.backends.base import ReviewFacts, WorkItem
from loopwright.loop import roles, schemas
from loopwright.loop.types import Budget

from .fences import quoted_once

INTAKE = {"criteria": ["it is so"], "questions": [{"id": "q1", "text": "db?", "default": "no"}]}
PLAN = {"subgoals": [{"id": "s1", "title": "do it", "instructions": "now", "files": ["a.py"]}]}
VERDICT = {"complete": True, "score": 1.0, "issues": [], "next_steps": []}


async def run(tmp_path: Path, replies: dict[str, list[str]]) -> list[AgentRequest]:
    """One iteration; each purpose answered from ``replies`` in order; the requests seen."""
    seen: list[AgentRequest] = []

    def answer(request: AgentRequest) -> str:
        seen.append(request)
        return replies[request.purpose].pop(0) if replies[request.purpose] else "did it"

    b = FunctionBackend(answer)
    cfg = LoopConfig(
        goal="make it so", success_criteria=[], cwd=str(tmp_path), max_subgoals=4,
        questions="auto", budget=Budget(max_iterations=1, max_cost_usd=5.0),
    )  # fmt: skip
    with anyio.fail_after(30):
        await Harness(cfg, Roles(b, [b], [b], clarifier=b), MemorySink()).run()
    return seen


async def test_answers_are_asked_with_their_schema_and_only_work_may_edit(tmp_path: Path) -> None:
    replies = {"clarify": [json.dumps(INTAKE)], "plan": [json.dumps(PLAN)], "work": [],
               "review": [json.dumps(VERDICT)]}  # fmt: skip
    seen = {r.purpose: r for r in await run(tmp_path, replies)}
    assert seen["clarify"].response_schema == schemas.INTAKE
    assert seen["plan"].response_schema == schemas.plan(4)
    assert seen["review"].response_schema == schemas.VERDICT
    assert [p for p, r in seen.items() if r.may_edit] == ["work"]
    work = seen["work"]
    assert work.response_schema is None and work.work == WorkItem("s1", "do it", 1)
    assert seen["review"].facts == ReviewFacts(verify_passed=True)
    assert all(r.iteration == 1 for p, r in seen.items() if p != "clarify")
    assert work.cost_left == 5.0 and work.tokens_left == Budget().max_tokens


async def test_a_repair_is_asked_with_the_same_schema(tmp_path: Path) -> None:
    replies = {"clarify": [json.dumps(INTAKE)], "plan": ["no json", json.dumps(PLAN)],
               "work": [], "review": [json.dumps(VERDICT)]}  # fmt: skip
    plans = [r for r in await run(tmp_path, replies) if r.purpose == "plan"]
    assert len(plans) == 2 and quoted_once(plans[1].prompt, "no json")[1] == "no json"
    assert plans[0].response_schema == plans[1].response_schema == schemas.plan(4)


def test_answers_in_the_schemas_shapes_are_what_the_parsers_read() -> None:
    for schema, answer in ((schemas.INTAKE, INTAKE), (schemas.plan(1), PLAN),
                           (schemas.VERDICT, VERDICT)):  # fmt: skip
        jsonschema.validate(answer, schema)
    criteria, questions = roles.parse_intake(json.dumps(INTAKE))
    assert criteria == ["it is so"] and questions[0].default == "no"
    assert roles.parse_plan(json.dumps(PLAN), 1)[0].files == ["a.py"]
    assert roles.parse_verdict(json.dumps(VERDICT), "r").complete
    too_many = {"subgoals": PLAN["subgoals"] * 2}
    assert not jsonschema.Draft202012Validator(schemas.plan(1)).is_valid(too_many)

"""Specialist routing: the planner is told which tags have a specialist and may tag
subgoals with them; a tagged subgoal goes to its tag's backend whatever the route, and
untagged subgoals keep the route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from loopwright import AgentRequest, FunctionBackend, Harness, LoopConfig, MemorySink, Roles
from loopwright.backends.base import Capabilities
from loopwright.loop import schemas

YES = '{"complete": true, "score": 1}'
PLAN = {
    "subgoals": [
        {"id": "s1", "title": "add the flag", "instructions": "do it"},
        {"id": "s2", "title": "test the flag", "instructions": "pytest", "tags": [" Tests "]},
        {"id": "s3", "title": "document it", "instructions": "README", "tags": ["docs"]},
    ]
}


def doer(name: str, did: list[tuple[str, str]], local: bool = True) -> FunctionBackend:
    def fn(request: AgentRequest) -> str:
        assert request.work is not None
        did.append((request.work.subgoal_id, name))
        return f"{name} did it"

    return FunctionBackend(fn, f"function:{name}", Capabilities(edits_files=True, local=local))


async def run(tmp_path: Path, roles: Roles, **kw: Any) -> MemorySink:
    cfg = LoopConfig(goal="add --flag", success_criteria=["done"], cwd=str(tmp_path),
                     retry_backoff=0, **kw)  # fmt: skip
    sink = MemorySink()
    with anyio.fail_after(30):
        await Harness(cfg, roles, sink).run()
    return sink


def planner(seen: list[AgentRequest]) -> FunctionBackend:
    def fn(request: AgentRequest) -> str:
        seen.append(request)
        return json.dumps(PLAN)

    return FunctionBackend(fn, "function:planner")


async def test_a_subgoal_the_planner_tags_goes_to_that_tags_specialist(tmp_path: Path) -> None:
    did: list[tuple[str, str]] = []
    seen: list[AgentRequest] = []
    roles = Roles(
        planner=planner(seen),
        workers=[doer("worker", did)],
        reviewers=[FunctionBackend(lambda r: YES, "function:reviewer")],
        specialists={"tests": doer("tester", did)},
    )
    sink = await run(tmp_path, roles)
    assert sorted(did) == [("s1", "worker"), ("s2", "tester"), ("s3", "worker")]
    started = {e["data"]["subgoal"]: e["data"] for e in sink.of_type("worker_started")}
    assert started["s2"]["backend"] == "function:tester" and started["s2"]["tags"] == ["tests"]
    assert started["s2"]["route"] == "specialist for tag 'tests'"
    assert "route" not in started["s1"] and "tags" not in started["s1"]  # fixed, as always
    assert started["s3"]["tags"] == ["docs"] and started["s3"]["backend"] == "function:worker"
    finished = {e["data"]["subgoal"]: e["data"] for e in sink.of_type("worker_finished")}
    assert finished["s2"]["backend"] == "function:tester" and finished["s2"]["tags"] == ["tests"]
    plan = sink.of_type("plan")[0]["data"]["subgoals"]
    assert [s["tags"] for s in plan] == [[], ["tests"], ["docs"]]
    asked = seen[0]
    assert "- tests: function:tester" in asked.system and '"tags"' in asked.system
    assert asked.response_schema == schemas.plan(8, None, ["tests"])
    tags = asked.response_schema["properties"]["subgoals"]["items"]["properties"]["tags"]
    assert tags["items"]["enum"] == ["tests"]


async def test_without_specialists_the_plan_and_its_schema_are_as_before(tmp_path: Path) -> None:
    did: list[tuple[str, str]] = []
    seen: list[AgentRequest] = []
    roles = Roles(planner=planner(seen), workers=[doer("a", did), doer("b", did)],
                  reviewers=[FunctionBackend(lambda r: YES, "function:reviewer")])  # fmt: skip
    await run(tmp_path, roles)
    assert sorted(did) == [("s1", "a"), ("s2", "b"), ("s3", "a")]  # in turn, tags or not
    assert seen[0].response_schema == schemas.plan(8)
    assert "specialist" not in seen[0].system


async def test_a_specialist_goes_over_the_route_and_untagged_subgoals_keep_it(
    tmp_path: Path,
) -> None:
    did: list[tuple[str, str]] = []
    seen: list[AgentRequest] = []
    roles = Roles(
        planner=planner(seen),
        workers=[doer("local", did), doer("cloud", did, local=False)],
        reviewers=[FunctionBackend(lambda r: YES, "function:reviewer")],
        specialists={"docs": doer("writer", did), "tests": doer("tester", did)},
    )
    sink = await run(tmp_path, roles, route="cloud")
    assert sorted(did) == [("s1", "cloud"), ("s2", "tester"), ("s3", "writer")]
    routes = {e["data"]["subgoal"]: e["data"]["route"] for e in sink.of_type("worker_started")}
    assert routes == {"s1": "cloud", "s2": "specialist for tag 'tests'",
                      "s3": "specialist for tag 'docs'"}  # fmt: skip
    assert "performance card" in seen[0].prompt.lower()  # the route's card is still shown
    assert "- docs: function:writer" in seen[0].system

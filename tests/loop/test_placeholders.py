"""Replies that echo the prompt's example (``"..."``) are not taken as real: the parsers
refuse them and the harness asks once for a repair."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright import Harness, LoopConfig, MemorySink, Roles, ScriptedBackend
from loopwright.loop import roles

ECHOED_PLAN = {"subgoals": [{"id": "s1", "title": "...", "instructions": "...", "files": ["..."]}]}
REAL_PLAN = {"subgoals": [{"id": "s1", "title": "fix add", "instructions": "return a + b"}]}


QUESTION = {"id": "q1", "text": "…", "default": "x"}
VERDICT = {"complete": False, "score": 0.1, "issues": ["..."], "next_steps": []}
CASES: list[tuple[Callable[[str], object], dict[str, Any], str]] = [
    (roles.parse_intake, {"criteria": ["..."], "questions": []}, "a criterion"),
    (roles.parse_intake, {"criteria": ["tests pass"], "questions": [QUESTION]}, "a question"),
    (lambda t: roles.parse_plan(t, 3), ECHOED_PLAN, "subgoal 1's title"),
    (lambda t: roles.parse_plan(t, 3), {"subgoals": [{"title": "fix", "files": ["..."]}]},
     "subgoal 1's files"),
    (lambda t: roles.parse_verdict(t, "r"), VERDICT, "an issue"),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "reply", "said"), CASES)
def test_a_placeholder_copied_from_the_example_is_refused(
    parse: Callable[[str], object], reply: dict[str, Any], said: str
) -> None:
    with pytest.raises(ValueError, match=f"{said} is .*placeholder"):
        parse(json.dumps(reply))


def test_real_text_with_dots_in_it_is_kept() -> None:
    criteria, _ = roles.parse_intake(json.dumps({"criteria": ["a.py imports b..c"]}))
    assert criteria == ["a.py imports b..c"]


async def test_an_echoed_plan_is_repaired_and_the_repaired_plan_is_used(tmp_path: Path) -> None:
    backend = ScriptedBackend(
        {
            "planner": [{"json": ECHOED_PLAN}, {"json": REAL_PLAN}],
            "reviewer": [{"json": {"complete": True, "score": 1.0}}],
        }
    )
    cfg = LoopConfig(goal="fix add", success_criteria=["add adds"], cwd=str(tmp_path))
    sink = MemorySink()
    with anyio.fail_after(30):
        result = await Harness(cfg, Roles(backend, [backend], [backend]), sink).run()
    assert result.state == "completed"
    [plan] = sink.of_type("plan")
    assert [s["title"] for s in plan["data"]["subgoals"]] == ["fix add"]
    assert len(sink.of_type("worker_started")) == 1

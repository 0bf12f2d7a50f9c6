"""Who plays each role, and the parsers that turn replies into typed values (the prompts
are in ``prompts``)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from ..backends.base import Purpose
from .jsonx import extract_json
from .types import Question, Subgoal, Verdict

ROLE_NAMES: dict[Purpose, str] = {
    "clarify": "clarifier",
    "plan": "planner",
    "work": "worker",
    "review": "reviewer",
    "consult": "consultant",
}
"""Who makes a call of each purpose, for messages and events."""


PLACEHOLDER = re.compile(r"[\s.…_<>\[\]-]*")
"""Text that is only dots, an ellipsis, brackets or dashes: the prompt's example echoed
(``"criteria": ["..."]``, a subgoal titled ``"..."``), which a small model sends back."""


def _echoes(field: str, values: list[Any]) -> None:
    """Refuse an example's placeholder given as a real value, so the reply is repaired."""
    for value in values:
        if isinstance(value, str) and value.strip() and PLACEHOLDER.fullmatch(value):
            raise ValueError(
                f"{field} is {json.dumps(value)}, the example's placeholder copied back; "
                "write the real content"
            )


def _as_dict(text: str) -> dict[str, Any]:
    value = extract_json(text)
    if isinstance(value, list):
        return {"subgoals": value}
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def parse_intake(text: str) -> tuple[list[str], list[Question]]:
    data = _as_dict(text)
    criteria = data.get("criteria", [])
    if not isinstance(criteria, list) or not all(isinstance(c, str) for c in criteria):
        raise ValueError('"criteria" must be a list of strings')
    raw = data.get("questions") or []
    try:
        questions = [Question.model_validate(q) for q in raw]
    except ValidationError as exc:
        raise ValueError(f'"questions" invalid: {exc.errors()[0]["msg"]}') from exc
    _echoes("a criterion", criteria)
    _echoes("a question", [q.text for q in questions] + [q.default for q in questions])
    return [c for c in criteria if c.strip()], questions


def parse_plan(text: str, max_subgoals: int) -> list[Subgoal]:
    data = _as_dict(text)
    raw = data.get("subgoals")
    if not isinstance(raw, list):
        raise ValueError('expected {"subgoals": [...]}')
    if len(raw) > max_subgoals:
        raise ValueError(f"{len(raw)} subgoals; at most {max_subgoals} allowed")
    subgoals = []
    for n, item in enumerate(raw, 1):
        if isinstance(item, str):
            item = {"title": item}
        if not isinstance(item, dict) or not str(item.get("title", "")).strip():
            raise ValueError(f"subgoal {n} has no title")
        item = {"id": f"s{n}", **item}
        item["id"] = str(item["id"])
        _echoes(f"subgoal {n}'s title", [item["title"]])
        _echoes(f"subgoal {n}'s instructions", [item.get("instructions")])
        _echoes(f"subgoal {n}'s files", list(item.get("files") or []))
        try:
            subgoals.append(Subgoal.model_validate(item))
        except ValidationError as exc:
            raise ValueError(f"subgoal {n}: {exc.errors()[0]['msg']}") from exc
    if len({s.id for s in subgoals}) != len(subgoals):
        raise ValueError("subgoal ids are not unique")
    return subgoals


def parse_verdict(text: str, reviewer: str) -> Verdict:
    data = _as_dict(text)
    if not isinstance(data.get("complete"), bool):
        raise ValueError('"complete" must be true or false')
    try:
        verdict = Verdict.model_validate({**data, "reviewer": reviewer})
    except ValidationError as exc:
        raise ValueError(f"verdict invalid: {exc.errors()[0]['msg']}") from exc
    _echoes("an issue", verdict.issues)
    _echoes("a next step", verdict.next_steps)
    return verdict


def quote(text: str, limit: int = 500) -> str:
    """The start of a reply, for error messages."""
    return json.dumps(text[:limit] + ("…" if len(text) > limit else ""))

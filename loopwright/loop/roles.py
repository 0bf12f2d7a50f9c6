"""Who plays each role, and the parsers that turn replies into typed values (the prompts
are in ``prompts``)."""

from __future__ import annotations

import json
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
        return Verdict.model_validate({**data, "reviewer": reviewer})
    except ValidationError as exc:
        raise ValueError(f"verdict invalid: {exc.errors()[0]['msg']}") from exc


def quote(text: str, limit: int = 500) -> str:
    """The start of a reply, for error messages."""
    return json.dumps(text[:limit] + ("…" if len(text) > limit else ""))

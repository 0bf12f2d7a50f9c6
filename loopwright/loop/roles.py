"""Prompt templates per role, and the parsers that turn replies into typed values."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..backends.base import Purpose
from .jsonx import extract_json
from .types import IterationRecord, Question, Subgoal, TaskResult, Verdict, VerifyResult

ROLE_NAMES: dict[Purpose, str] = {
    "clarify": "clarifier",
    "plan": "planner",
    "work": "worker",
    "review": "reviewer",
    "consult": "consultant",
}
"""Who makes a call of each purpose, for messages and events."""

CLARIFIER_SYSTEM = """You prepare a coding task for an automated loop.
Reply with JSON only: {"criteria": ["..."], "questions": [{"id": "q1", "text": "...", \
"default": "..."}]}.
criteria: 1-6 checkable success criteria. questions: only when the goal is ambiguous in a
way that changes the work; give each a sensible default. Use [] when there are none."""

PLANNER_SYSTEM = """You are the planner of a coding loop working in a git repository.
Split the goal into at most {max_subgoals} independent subgoals that workers can do in
parallel without editing the same files. Reply with JSON only:
{{"subgoals": [{{"id": "s1", "title": "...", "instructions": "...", "files": ["..."]}}]}}
Use an empty list when nothing is left to do."""

WORKER_SYSTEM = """You are a coding worker. Make the change described below directly in the
files of the working directory. Keep to your subgoal; other workers handle the rest. End
with a short summary of what you changed."""

REVIEWER_SYSTEM = """You review the work of a coding loop against its success criteria.
Reply with JSON only: {"complete": true|false, "score": 0.0-1.0, "issues": ["..."],
"next_steps": ["..."]}. complete is true only if every criterion holds."""

REPAIR = """Your previous reply could not be used: {error}
Reply again with JSON only, exactly in the requested shape."""


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items) or "- (none given)"


def clarifier_prompt(goal: str, criteria: list[str]) -> str:
    return f"Goal:\n{goal}\n\nSuccess criteria given by the user:\n{_bullets(criteria)}"


def _history(history: list[IterationRecord]) -> str:
    if not history:
        return ""
    last = history[-1]
    failed = [f"{r.title}: {r.error or r.summary}" for r in last.results if r.status != "ok"]
    verify = [f"{' '.join(v.argv)} -> exit {v.exit_code}" for v in last.verify if not v.passed]
    issues = [i for v in last.verdicts for i in v.issues]
    steps = [s for v in last.verdicts for s in v.next_steps]
    return (
        f"\n\nIteration {last.iteration} did not meet the criteria.\n"
        f"Failed subgoals:\n{_bullets(failed)}\nFailed verify commands:\n{_bullets(verify)}\n"
        f"{_verify_tails(last.verify)}Reviewer issues:\n{_bullets(issues)}\n"
        f"Reviewer next steps:\n{_bullets(steps)}"
    )


def _verify_tails(verify: list[VerifyResult]) -> str:
    tails = [f"$ {' '.join(v.argv)}\n{v.output[-1500:]}" for v in verify if not v.passed]
    return "".join(f"Output:\n{t}\n" for t in tails)


def planner_prompt(
    goal: str, criteria: list[str], answers: dict[str, str], history: list[IterationRecord]
) -> str:
    answered = "".join(f"\n- {k}: {v}" for k, v in answers.items())
    extra = f"\n\nAnswers to clarifying questions:{answered}" if answers else ""
    return f"Goal:\n{goal}\n\nSuccess criteria:\n{_bullets(criteria)}{extra}{_history(history)}"


def worker_prompt(goal: str, criteria: list[str], subgoal: Subgoal) -> str:
    files = f"\nFiles: {', '.join(subgoal.files)}" if subgoal.files else ""
    return (
        f"Overall goal:\n{goal}\n\nSuccess criteria:\n{_bullets(criteria)}\n\n"
        f"Your subgoal ({subgoal.id}): {subgoal.title}\n{subgoal.instructions}{files}"
    )


def reviewer_prompt(
    goal: str, criteria: list[str], results: list[TaskResult], verify: list[VerifyResult]
) -> str:
    work = "\n".join(f"- [{r.status}] {r.title}: {(r.error or r.summary)[:800]}" for r in results)
    checks = "\n".join(
        f"- {' '.join(v.argv)}: {'pass' if v.passed else 'FAIL'} (exit {v.exit_code})"
        for v in verify
    )
    return (
        f"Goal:\n{goal}\n\nSuccess criteria:\n{_bullets(criteria)}\n\n"
        f"Work done this iteration:\n{work or '- (no subgoals)'}\n\n"
        f"Verify commands:\n{checks or '- (none configured)'}\n{_verify_tails(verify)}"
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

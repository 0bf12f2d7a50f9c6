"""What memory keeps of one run: a ``RunMemory`` built from the run's request, its event
log and its result (``runs`` hands them over when the run ends; nothing here reads a run
directory).

It keeps the lesson, not the transcript: the goal and criteria, what each iteration
planned, how each subgoal ended, each verify command that failed with the end of its
output and the iteration (its subgoals and changed files) that made it pass, the
reviewers' issues, the final diff stat and the cost. Every text is cut to a few hundred
characters, so one run is a few kilobytes at most.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RunMemory", "SubgoalOutcome", "VerifyFix", "command_text", "record_of", "repo_key"]

GOAL_CHARS = 2000
TEXT_CHARS = 300
"""A subgoal title, error, reviewer issue or criterion at most."""
TAIL_CHARS = 600
"""The end of a failed verify command's output kept."""
MAX_ISSUES = 12
MAX_FILES = 50


@dataclass
class SubgoalOutcome:
    """How one subgoal of one iteration ended (its last attempt)."""

    iteration: int
    title: str
    status: str
    """``ok`` or ``failed``, as its worker left it."""
    attempts: int
    error: str | None = None


@dataclass
class VerifyFix:
    """A verify command that failed, and what made it pass (if anything did)."""

    command: str
    failed_in: int
    """The first iteration of the streak in which it failed."""
    output_tail: str
    """The end of its output when it last failed."""
    fixed_in: int | None = None
    """The iteration in which it passed again; None: it still failed at the end."""
    change: list[str] = field(default_factory=list)
    """The titles of the subgoals the fixing iteration carried out."""
    files: list[str] = field(default_factory=list)
    """What the fixing iteration's checkpoint changed, ``M path`` each."""


@dataclass
class RunMemory:
    run_id: str
    repo: str
    """The repository's top level (or the working dir of a run not in git)."""
    ended: float
    state: str
    goal: str
    criteria: list[str] = field(default_factory=list)
    plans: list[list[str]] = field(default_factory=list)
    """The subgoal titles each iteration planned, in order."""
    subgoals: list[SubgoalOutcome] = field(default_factory=list)
    verify: list[VerifyFix] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    """The issues the reviewers of the last reviewed iteration raised (none when they had
    none: earlier issues were dealt with)."""
    files: list[str] = field(default_factory=list)
    """The final diff: each changed file as ``M path`` (``A``, ``D``, ``R``...)."""
    files_changed: int = 0
    iterations: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    stop_reason: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunMemory:
        data = json.loads(text)
        data["subgoals"] = [SubgoalOutcome(**s) for s in data.get("subgoals", [])]
        data["verify"] = [VerifyFix(**v) for v in data.get("verify", [])]
        return cls(**data)


def repo_key(request: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """Where a run worked, as memory files it: the repository's top level, else the
    working dir (a run in place, a scratch repository), real paths."""
    loop = request.get("loop") or {}
    made = (result.get("workspace") or {}).get("repo")  # a scratch repository
    where = request.get("repo") or loop.get("cwd") or made or result.get("cwd") or ""
    return os.path.realpath(where) if where else ""


def command_text(argv: Iterable[str]) -> str:
    """A verify command as a lesson shows it: the program's name, not its full path."""
    words = list(argv)
    if not words:
        return ""
    return shlex.join([os.path.basename(str(words[0])), *map(str, words[1:])])


def _cut(value: Any, limit: int = TEXT_CHARS) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Log:
    """The parts of a run's events a memory is made of, by iteration."""

    criteria: list[str] = field(default_factory=list)
    plans: dict[int, list[str]] = field(default_factory=dict)
    workers: dict[tuple[int, str], SubgoalOutcome] = field(default_factory=dict)
    verify: dict[int, list[tuple[str, bool, str]]] = field(default_factory=dict)
    issues: dict[int, list[str]] = field(default_factory=dict)
    files: dict[int, list[str]] = field(default_factory=dict)

    def add(self, event: Mapping[str, Any]) -> None:
        kind, it, data = event.get("type"), int(event.get("iteration") or 0), event.get("data")
        if not isinstance(data, dict):
            return
        if kind == "intake":
            self.criteria = [_cut(c) for c in data.get("criteria") or []]
        elif kind == "plan":
            self.plans[it] = [_cut(s.get("title")) for s in data.get("subgoals") or []]
        elif kind == "worker_finished":
            self.workers[(it, str(data.get("subgoal")))] = SubgoalOutcome(
                it, _cut(data.get("title")), str(data.get("status")),
                int(data.get("attempt") or 1), _cut(data["error"]) if data.get("error") else None,
            )  # fmt: skip
        elif kind == "verify_finished":
            self.verify[it] = [
                (command_text(r.get("argv") or []), bool(r.get("passed")),
                 str(r.get("output_tail") or "")[-TAIL_CHARS:])
                for r in data.get("results") or []
            ]  # fmt: skip
        elif kind == "review":
            said = [_cut(i) for v in data.get("verdicts") or [] for i in v.get("issues") or []]
            self.issues[it] = list(dict.fromkeys(said))[:MAX_ISSUES]
        elif kind == "checkpoint":
            self.files[it] = _files(data.get("files") or [])


def _files(files: Iterable[Mapping[str, Any]]) -> list[str]:
    return [f"{f.get('status', '?')} {f.get('path', '')}" for f in files][:MAX_FILES]


def _fixes(log: _Log) -> list[VerifyFix]:
    """Each failing streak of each verify command, and the iteration that ended it."""
    open_: dict[str, VerifyFix] = {}
    fixes: list[VerifyFix] = []
    for it in sorted(log.verify):
        for command, passed, tail in log.verify[it]:
            streak = open_.get(command)
            if not passed:
                if streak is None:
                    streak = open_[command] = VerifyFix(command, it, tail)
                    fixes.append(streak)
                streak.output_tail = tail
            elif streak is not None:
                streak.fixed_in = it
                streak.change = log.plans.get(it, [])
                streak.files = log.files.get(it, [])
                del open_[command]
    return fixes


def record_of(
    run_id: str,
    request: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
    result: Mapping[str, Any],
    ended: float,
) -> RunMemory:
    """The memory of the run ``run_id`` from its request (``request.json``), its events
    (in order) and its result (``result.json``)."""
    log = _Log()
    for event in events:
        log.add(event)
    usage = result.get("usage") or {}
    changed = (result.get("workspace") or {}).get("changed_files") or []
    last_issues = log.issues[max(log.issues)] if log.issues else []
    goal = str((request.get("loop") or {}).get("goal") or "")
    return RunMemory(
        run_id=run_id,
        repo=repo_key(request, result),
        ended=ended,
        state=str(result.get("state") or ""),
        goal=goal[:GOAL_CHARS],
        criteria=log.criteria or [_cut(c) for c in result.get("criteria") or []],
        plans=[log.plans[it] for it in sorted(log.plans)],
        subgoals=list(log.workers.values()),  # a retry keeps its subgoal's place
        verify=_fixes(log),
        issues=last_issues,
        files=_files(changed),
        files_changed=len(changed),
        iterations=int(result.get("iterations") or 0),
        cost_usd=round(float(usage.get("cost_usd") or 0.0), 4),
        tokens=int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0),
        stop_reason=_cut(result.get("stop_reason")),
    )

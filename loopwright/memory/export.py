"""Runs as training data: worker turns for supervised fine-tuning (SFT), pairs of an
accepted and a rejected turn for the same prompt for preference tuning (DPO), and whole
event streams (trajectories). Pure: the CLI (``loopwright export``) reads the runs and
writes the lines, through the redactor.

A worker turn is one attempt at one subgoal: its system prompt (``WORKER_SYSTEM``), its
user prompt and its reply. The run directory keeps what the prompt was made of, not the
prompt: the goal (``request.json``), the criteria (``intake``) and the subgoal (``plan``);
the user prompt is made again from them with the template the harness used
(``prompts.worker_prompt``). The reply is the ``preview`` of its ``worker_finished`` event:
the worker's answer (its first 2,000 characters; ``meta.truncated`` says when it was cut).

What decides: loopwright's verify commands. A turn is **accepted** when its worker
succeeded, the iteration kept its result (no merge conflict) and the iteration's verify
commands all passed; with no verify commands the review gate decides instead, and the turn
is not ``verified``. A turn is **rejected** when its worker failed, its merge failed, or
the verify commands of its iteration failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import PREVIEW_CHARS
from ..loop.prompts import WORKER_SYSTEM, worker_prompt
from ..loop.types import Subgoal
from .record import command_text, repo_key

__all__ = ["Turn", "dpo_rows", "sft_rows", "trajectory", "turns"]

Message = dict[str, str]


@dataclass
class Turn:
    """One worker attempt, judged."""

    run_id: str
    iteration: int
    subgoal: str
    attempt: int
    backend: str
    system: str
    user: str
    reply: str
    accepted: bool
    verified: bool
    """The iteration ran verify commands (they, not the reviewers, decided)."""
    why: str | None = None
    """Why a rejected turn was rejected."""
    checkpoint: str | None = None
    """The commit of the iteration's checkpoint: the changes its workers made."""
    repo: str = ""

    def prompt(self) -> list[Message]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]

    def meta(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "repo": self.repo,
            "iteration": self.iteration,
            "subgoal": self.subgoal,
            "attempt": self.attempt,
            "backend": self.backend,
            "verified": self.verified,
            "checkpoint": self.checkpoint,
            "truncated": len(self.reply) >= PREVIEW_CHARS,
        }


@dataclass
class _Iteration:
    subgoals: dict[str, Subgoal] = field(default_factory=dict)
    attempts: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    """(seq, data) of each ``worker_finished``."""
    verify: list[Mapping[str, Any]] | None = None
    gate: bool | None = None
    final: dict[int, str] = field(default_factory=dict)
    """seq of a subgoal's last attempt -> its status after the merge."""
    checkpoint: str | None = None


def _iterations(events: Iterable[Mapping[str, Any]]) -> tuple[list[str], dict[int, _Iteration]]:
    criteria: list[str] = []
    its: dict[int, _Iteration] = {}
    for e in events:
        kind, data, seq = e.get("type"), e.get("data"), int(e.get("seq") or 0)
        if not isinstance(data, dict):
            continue
        it = its.setdefault(int(e.get("iteration") or 0), _Iteration())
        if kind == "intake":
            criteria = [str(c) for c in data.get("criteria") or []]
        elif kind == "plan":
            it.subgoals = {s["id"]: Subgoal.model_validate(s) for s in data.get("subgoals") or []}
        elif kind == "worker_finished":
            it.attempts.append((seq, data))
        elif kind == "verify_finished":
            it.verify = list(data.get("results") or [])
        elif kind == "iteration_finished":
            it.gate = bool(data.get("passed"))
            record = data.get("record") or {}
            it.final = {int(r["seq"]): str(r.get("status")) for r in record.get("results") or []}
        elif kind == "checkpoint":
            it.checkpoint = data.get("sha")
    return criteria, its


def _judge(it: _Iteration, seq: int, data: Mapping[str, Any]) -> tuple[bool, bool, str | None]:
    """(accepted, verified, why rejected) of one attempt."""
    verified = bool(it.verify)
    if data.get("status") != "ok":
        return False, verified, f"worker failed: {data.get('error') or 'no reason given'}"
    if it.final.get(seq, "ok") != "ok":
        return False, verified, "its merge into the iteration failed"
    failed = [command_text(r.get("argv") or []) for r in it.verify or [] if not r.get("passed")]
    if failed:
        return False, True, "verify failed: " + "; ".join(failed)
    if verified:
        return True, True, None
    return bool(it.gate), False, None if it.gate else "the review gate did not pass"


def turns(
    run_id: str, request: Mapping[str, Any], events: Iterable[Mapping[str, Any]]
) -> list[Turn]:
    """Every judged worker turn of a finished loop run, in the order they ended. An
    iteration that never finished (the run stopped inside it) is left out: nothing judged it."""
    loop = request.get("loop") or {}
    goal = str(loop.get("goal") or "")
    criteria, its = _iterations(events)
    criteria = criteria or [str(c) for c in loop.get("success_criteria") or []]
    repo = repo_key(request, {})
    out: list[Turn] = []
    for n in sorted(its):
        it = its[n]
        if it.gate is None:
            continue
        for seq, data in it.attempts:
            subgoal = it.subgoals.get(str(data.get("subgoal")))
            if subgoal is None:
                continue
            accepted, verified, why = _judge(it, seq, data)
            attempt, backend = int(data.get("attempt") or 1), str(data.get("backend") or "")
            out.append(Turn(
                run_id, n, subgoal.id, attempt, backend, WORKER_SYSTEM,
                worker_prompt(goal, criteria, subgoal), str(data.get("preview") or ""),
                accepted, verified, why, it.checkpoint, repo,
            ))  # fmt: skip
    return out


def sft_rows(all_turns: Iterable[Turn], only_verified: bool = False) -> Iterator[dict[str, Any]]:
    """One chat per accepted turn with a reply: ``messages`` (system, user, assistant)."""
    for t in all_turns:
        if t.accepted and t.reply.strip() and (t.verified or not only_verified):
            reply: Message = {"role": "assistant", "content": t.reply}
            yield {"messages": [*t.prompt(), reply], "meta": t.meta()}


def dpo_rows(all_turns: Iterable[Turn], only_verified: bool = False) -> Iterator[dict[str, Any]]:
    """One pair per rejected turn whose prompt (system and user, word for word) also had an
    accepted turn: ``prompt``, ``chosen``, ``rejected`` (conversational). The chosen one is
    the accepted turn nearest after it (a retry that worked), else the last before it."""
    by_prompt: dict[tuple[str, str], list[Turn]] = {}
    for t in all_turns:
        if t.reply.strip():
            by_prompt.setdefault((t.system, t.user), []).append(t)
    for group in by_prompt.values():
        good = [n for n, t in enumerate(group) if t.accepted and (t.verified or not only_verified)]
        if not good:
            continue
        for n, bad in enumerate(group):
            after = [g for g in good if g > n]
            chosen = group[after[0] if after else good[-1]]
            if bad.accepted or bad.reply == chosen.reply:
                continue  # nothing to prefer between two equal replies
            yield {
                "prompt": chosen.prompt(),
                "chosen": [{"role": "assistant", "content": chosen.reply}],
                "rejected": [{"role": "assistant", "content": bad.reply}],
                "meta": {"chosen": chosen.meta(), "rejected": {**bad.meta(), "why": bad.why}},
            }


def trajectory(
    run_id: str,
    request: Mapping[str, Any],
    result: Mapping[str, Any] | None,
    events: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """A whole run: its request, result and every event, in order."""
    loop = request.get("loop") or {}
    return {
        "run_id": run_id,
        "repo": repo_key(request, result or {}),
        "goal": loop.get("goal"),
        "pattern": request.get("pattern", "loop"),
        "state": (result or {}).get("state"),
        "request": dict(request),
        "result": dict(result) if result is not None else None,
        "events": list(events),
    }

"""Deterministic backends that ship in the package: scripted replies and plain functions.

A scenario is JSON: ``{"clarifier": [...], "planner": [...], "worker": [...],
"reviewer": [...]}``, each a queue of replies consumed in order (the last one repeats).
A reply is a string (the text) or an object with any of:

- ``text`` (str) or ``json`` (any value, sent as its JSON text)
- ``ok`` (bool, default true) and ``error`` (str): a failed response
- ``edits``: ``[{"path": P, "write": TEXT}, {"path": P, "replace": [OLD, NEW]},
  {"path": P, "delete": true}]`` applied for real in the working dir (paths stay inside)
- ``run``: an argv run in the working dir (its process group killed on cancel)
- ``delay`` (seconds), ``usage`` (``input_tokens``, ``output_tokens``, ``cost_usd``)
- ``usage_limit``: ``{"message": TEXT, "resets_in": SECONDS}``: a failed response for a
  usage limit that resets that long after the call (the run pauses until then)
- ``match`` (worker only): used for the subgoal whose title contains this text
- ``auto`` (reviewer only): complete iff verify passed and no subgoal failed

A role with no replies plays the default: the clarifier adopts the goal as the criterion,
the planner makes one subgoal, the worker writes ``loopwright-scripted.md``, and the
reviewer is ``auto``. The file keys replies by role; a request's ``purpose`` picks the
queue (``plan`` -> ``planner``, ...). The patterns' purposes (``consult``, ``synthesize``,
``debate``, ``judge``) and ``chat`` (a ``loopwright chat`` reply) are keys of their own; one
with no replies echoes the prompt.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from ..errors import UserError
from ..process.runner import PlainRunner, ProcessRunner
from .base import AgentRequest, AgentResponse, Capabilities, Purpose, Usage, UsageLimit

ROLES = (
    "clarifier", "planner", "worker", "reviewer", "consult", "synthesize", "debate", "judge",
    "chat",
)  # fmt: skip
QUEUES: dict[Purpose, str] = {
    "clarify": "clarifier",
    "plan": "planner",
    "work": "worker",
    "review": "reviewer",
}
"""The scenario file's key for each purpose (the file format predates purposes)."""
Reply = dict[str, Any]


def load_scenario(path: str | Path) -> dict[str, list[Reply]]:
    """Read and check a scenario file; raises ``UserError`` naming what is wrong."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"scenario file {str(p)!r} unreadable: {exc.strerror}", "backend") from exc
    except ValueError as exc:
        raise UserError(f"scenario file {str(p)!r} is not valid JSON: {exc}", "backend") from exc
    return check_scenario(raw, str(p))


def check_scenario(raw: Any, where: str = "scenario") -> dict[str, list[Reply]]:
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected an object with keys {', '.join(ROLES)}", "backend")
    unknown = set(raw) - set(ROLES)
    if unknown:
        raise UserError(f"{where}: unknown role(s) {sorted(unknown)}; allowed: {ROLES}", "backend")
    out: dict[str, list[Reply]] = {}
    for role, replies in raw.items():
        if not isinstance(replies, list):
            raise UserError(f"{where}: {role!r} must be a list of replies", "backend")
        out[role] = [r if isinstance(r, dict) else {"text": str(r)} for r in replies]
    return out


class ScriptedBackend:
    capabilities = Capabilities(edits_files=True, local=True)

    def __init__(
        self,
        scenario: dict[str, list[Reply]] | None = None,
        spec: str = "scripted",
        runner: ProcessRunner | None = None,
    ):
        self.spec = spec
        self.runner = runner or PlainRunner()
        """Starts a reply's ``run`` command."""
        self.queues = dict(check_scenario(scenario)) if scenario else {}
        self.last: dict[str, Reply] = {}

    def _next(self, request: AgentRequest) -> Reply | None:
        key = QUEUES.get(request.purpose, request.purpose)
        queue = self.queues.get(key, [])
        title = request.work.title if request.work else ""
        for n, reply in enumerate(queue):
            if "match" not in reply or reply["match"] in title:
                self.last[key] = reply
                return queue.pop(n)
        return self.last.get(key)

    async def run(self, request: AgentRequest) -> AgentResponse:
        started = time.monotonic()
        reply = self._next(request) or _default(request)
        if reply.get("delay"):
            await anyio.sleep(float(reply["delay"]))
        text, ok, error = _text(reply, request), bool(reply.get("ok", True)), reply.get("error")
        if reply.get("edits") and not request.may_edit:
            ok, error = False, "edit refused: this call may not edit files (may_edit is false)"
        elif reply.get("edits"):
            try:
                _apply_edits(Path(request.cwd), reply["edits"])
            except (OSError, ValueError) as exc:
                ok, error = False, f"edit failed: {exc}"
        if reply.get("run") and ok:
            r = await self.runner.run(reply["run"], cwd=request.cwd, timeout=request.timeout)
            text = f"{text}\n{r.output}".strip()
            ok, error = r.ok, None if r.ok else f"command exited {r.exit_code}"
        if request.output is not None:
            request.output.write(text)
        usage = Usage(**reply["usage"]) if "usage" in reply else Usage()
        limit = _usage_limit(reply)
        return AgentResponse(
            text=text,
            ok=ok and limit is None,
            error=limit.message if limit else None if ok else error or "scripted failure",
            usage=usage,
            duration=time.monotonic() - started,
            usage_limit=limit,
        )


def _usage_limit(reply: Reply) -> UsageLimit | None:
    spec = reply.get("usage_limit")
    if not isinstance(spec, dict):
        return None
    message = str(spec.get("message") or "scripted usage limit reached")
    return UsageLimit(message, time.time() + float(spec.get("resets_in", 60)))


def _text(reply: Reply, request: AgentRequest) -> str:
    if reply.get("auto"):
        facts = request.facts
        failed = [*facts.verify_failed, *facts.subgoals_failed] if facts else []
        verdict = {
            "complete": not failed,
            "score": 0.0 if failed else 1.0,
            "issues": [f"not passing: {f}" for f in failed],
            "next_steps": ["fix what failed"] if failed else [],
        }
        return json.dumps(verdict)
    if "json" in reply:
        return json.dumps(reply["json"])
    return str(reply.get("text", ""))


def _goal(prompt: str) -> str:
    """The goal line a default reply echoes: the first line of the prompt's first fenced
    block (the loop's prompts quote the goal there), else the prompt's second line."""
    lines = prompt.split("\n")
    for n, line in enumerate(lines[:-1]):
        if line.startswith("<<<"):
            return lines[n + 1]
    return lines[1] if len(lines) > 1 else prompt


def _default(request: AgentRequest) -> Reply:
    goal = _goal(request.prompt)
    if request.purpose == "clarify":
        return {"json": {"criteria": [f"Done: {goal[:200]}"], "questions": []}}
    if request.purpose == "plan":
        return {"json": {"subgoals": [{"id": "s1", "title": goal[:80], "instructions": goal}]}}
    if request.purpose == "review":
        return {"auto": True}
    if request.purpose != "work" or not request.may_edit:  # a read-only call edits nothing
        return {"text": request.prompt}
    title = request.work.title if request.work else None
    body = f"# Written by loopwright's scripted worker\n\nSubgoal: {title}\n"
    return {
        "text": "Wrote loopwright-scripted.md",
        "edits": [{"path": "loopwright-scripted.md", "write": body}],
    }


def _apply_edits(root: Path, edits: list[dict[str, Any]]) -> None:
    base = root.resolve()
    for edit in edits:
        target = (base / edit["path"]).resolve()
        if not target.is_relative_to(base):
            raise ValueError(f"path {edit['path']!r} leaves the working dir")
        if edit.get("delete"):
            target.unlink(missing_ok=True)
        elif "write" in edit:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit["write"], encoding="utf-8")
        elif "replace" in edit:
            old, new = edit["replace"]
            body = target.read_text(encoding="utf-8")
            if body.count(old) != 1:
                raise ValueError(f"{edit['path']}: search text found {body.count(old)} times")
            target.write_text(body.replace(old, new), encoding="utf-8")


FunctionResult = AgentResponse | str
Function = Callable[[AgentRequest], FunctionResult | Awaitable[FunctionResult]]


class FunctionBackend:
    """Wraps a Python callable (sync or async) taking an ``AgentRequest``; ``capabilities``
    says what the callable does (by default: runs in-process, may edit files)."""

    def __init__(
        self, fn: Function, spec: str | None = None, capabilities: Capabilities | None = None
    ) -> None:
        self.fn = fn
        self.spec = spec or f"function:{getattr(fn, '__name__', 'fn')}"
        self.capabilities = capabilities or Capabilities(edits_files=True, local=True)

    async def run(self, request: AgentRequest) -> AgentResponse:
        started = time.monotonic()
        value = self.fn(request)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, str):
            value = AgentResponse(text=value)
        value.duration = value.duration or time.monotonic() - started
        return value

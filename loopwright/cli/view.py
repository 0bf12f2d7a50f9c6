"""Human-readable rendering of events and results for the terminal (used by cli only)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..loop.vocab import Event, EventData, EventType
from ..runs.index import IndexRow
from ..runs.status import RunStatus
from ..runs.store import ResultData
from .output import WORDS, paint
from .patterns_view import format_decision, format_disagreement, format_exchange


def _clip(text: Any, n: int = 100) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _worker(d: EventData) -> str:
    return f"{d.get('subgoal')} (attempt {d.get('attempt')})"


def _finished(d: EventData) -> str:
    status = d.get("status")
    why = (
        f": {_clip(d.get('error'), 120)}" if status != "ok" else f" — {_clip(d.get('preview'), 90)}"
    )
    return f"worker {_worker(d)} {status} in {d.get('duration', 0):.2f}s{why}"


_ERRORS = [
    re.compile(r"^E\s+\S"),  # pytest's explanation lines
    re.compile(r"\b\w*(Error|Exception)\b:"),  # a Python exception with its message
    re.compile(r"\berror\b", re.IGNORECASE),  # compilers, linters, type checkers
    re.compile(r"\bFAIL(ED)?\b"),
]


def explain(output: str) -> list[str]:
    """The lines that explain a failed command: its first error and its last line (the
    summary: ``1 failed, 2 passed``), each once."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if not lines:
        return []
    first = next((ln for rx in _ERRORS for ln in lines if rx.search(ln)), None)
    return list(dict.fromkeys([*([first] if first else []), lines[-1]]))


def _verify(d: EventData) -> str:
    parts = []
    for r in d.get("results", []):
        mark = (
            paint("pass") if r.get("passed") else paint(f"FAIL (exit {r.get('exit_code')})", "bad")
        )
        if not r.get("passed"):
            why = explain(str(r.get("output_tail", "")))
            mark += f" — {' … '.join(_clip(ln, 100) for ln in why)}" if why else ""
        parts.append(f"{' '.join(r.get('argv', []))}: {mark}")
    return "verify: " + ("; ".join(parts) or "no commands")


def _review(d: EventData) -> str:
    verdicts = d.get("verdicts", [])
    yes = sum(1 for v in verdicts if v.get("complete"))
    issues = [i for v in verdicts for i in v.get("issues", [])]
    more = f" — {_clip('; '.join(issues), 140)}" if issues else ""
    return f"review: {yes}/{len(verdicts)} complete (quorum {d.get('quorum')}){more}"


def _iteration(d: EventData) -> str:
    if d.get("passed"):
        return "iteration passed the gate"
    return "iteration did not pass: " + _clip("; ".join(d.get("reasons", [])), 160)


def _paused(d: EventData) -> str:
    return (
        f"paused: {d.get('backend')} hit its usage limit; goes on at {_clock(d.get('resume_at'))} "
        f"(in {d.get('in')}) or with `loopwright resume`: {_clip(d.get('message'), 100)}"
    )


def _resumed(d: EventData) -> str:
    if "early" not in d:  # a new host took the run over
        return "run resumed"
    return "usage limit pause over" + (": woken early" if d["early"] else "")


_FORMATS: dict[EventType, Callable[[EventData], str]] = {
    "run_started": lambda d: f"run started: {_clip(d.get('goal'), 120)}",
    "resumed": _resumed,
    "paused": _paused,
    "intake": lambda d: "criteria: " + _clip("; ".join(d.get("criteria", [])), 160),
    "questions": lambda d: f"{len(d.get('questions', []))} question(s) for you",
    "answers": lambda d: "answers " + ("assumed" if d.get("assumed") else "received"),
    "plan": lambda d: (
        "plan: " + "; ".join(f"{s['id']} {_clip(s['title'], 60)}" for s in d.get("subgoals", []))
    ),
    "worker_started": lambda d: f"worker {_worker(d)} started: {_clip(d.get('title'), 70)}",
    "worker_output": lambda d: f"  {_clip(d.get('text') or d.get('preview'), 120)}",
    "worker_finished": _finished,
    "model_call": lambda d: f"model call {d.get('provider')}:{d.get('model')}",
    "verify_started": lambda d: f"verify: running {len(d.get('commands', []))} command(s)",
    "verify_finished": _verify,
    "review": _review,
    "checkpoint": lambda d: (
        f"checkpoint {str(d.get('sha', ''))[:10]} on {d.get('branch')}: "
        + _clip(", ".join(f["path"] for f in d.get("files", [])), 100)
    ),
    "worktree_ready": lambda d: f"worktree ready in {d.get('seconds')}s: {d.get('path')}",
    "merge": lambda d: (
        f"merge of subgoal {d.get('subgoal')}: {d.get('status')}"
        + (f" in {', '.join(d.get('paths', []))}" if d.get("paths") else "")
    ),
    "iteration_finished": _iteration,
    "budget_exhausted": lambda d: f"budget exhausted: {d.get('message')}",
    "warning": lambda d: f"warning: {d.get('message')}",
    "error": lambda d: f"error: {d.get('message')}",
    "cancelled": lambda d: "cancelled",
    "interrupted": lambda d: "interrupted: the run's host process died",
    "run_finished": lambda d: f"finished: {d.get('state')} — {d.get('stop_reason')}",
    "exchange": format_exchange,
    "message": lambda d: f"you → {d.get('to')}: {_clip(d.get('text'), 120)}",
    "command": lambda d: (
        f"/{d.get('name')} {d.get('args')}" + (f": {d.get('state')}" if d.get("state") else "")
    ),
    "disagreement": format_disagreement,
    "decision": format_decision,
}


def format_event(event: Event) -> str:
    ts = time.strftime("%H:%M:%S", time.localtime(float(event.get("ts") or 0)))
    kind = event.get("type")
    fmt = _FORMATS.get(kind) if kind is not None else None
    body = fmt(event.get("data") or {}) if fmt else f"{kind} {_clip(event.get('data'), 120)}"
    return f"{ts} it{event.get('iteration', 0)} {body}"


def _clock(epoch: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(epoch or 0)))


def format_status(status: RunStatus) -> str:
    usage = status.get("usage") or {}
    until = f" until {_clock(status['resume_at'])}" if status.get("resume_at") else ""
    return (
        f"{status.get('run_id')}: {status.get('state')}{until} · phase {status.get('phase')} · "
        f"iteration {status.get('iteration')} · {usage.get('agent_calls', 0)} calls · "
        f"{float(status.get('elapsed') or 0):.1f}s"
    )


def _cleaned(ws: dict[str, Any]) -> str:
    """What cleanup did, from the record: a removed worktree's commits stay on the branch."""
    if ws.get("kept", True):
        return ""
    if int(ws.get("commits") or 0) > 0:
        return " (worktree removed; the branch keeps the checkpoints)"
    return " (nothing committed; worktree removed)"


def format_result(result: ResultData, events: list[Event] | None = None) -> str:
    """The end of a run: its state, the work of each iteration (from ``events``; without
    them the last iteration's), verify, what reviewers still wanted, branch and usage."""
    state = str(result.get("state", "?"))
    lines = [f"{paint(state.upper(), WORDS.get(state))}: {result.get('summary')}"]
    per_iteration = iteration_lines(events or [])
    lines += per_iteration
    for r in [] if per_iteration else result.get("last_results", []):
        lines.append(
            f"  [{paint(r['status'])}] {r['title']}"
            + (f" — {r['error']}" if r.get("error") else "")
        )
    for v in result.get("verify", []):
        lines.append(f"  verify {' '.join(v['argv'])}: {paint('pass' if v['passed'] else 'FAIL')}")
        if not v["passed"]:
            lines += [f"    {_clip(ln, 160)}" for ln in explain(str(v.get("output", "")))]
    if state != "completed":
        lines += _open_issues(result.get("verdicts") or [])
    ws = result.get("workspace") or {}
    if ws.get("branch"):
        files = ws.get("changed_files") or []
        lines.append(
            f"  branch {ws['branch']} in {ws.get('repo')}: {ws.get('commits', 0)} checkpoint(s), "
            f"{len(files)} file(s) changed{_cleaned(ws)}"
        )
        for f in files[:20]:
            lines.append(f"    {f['status']} {f['path']}")
    usage = result.get("usage") or {}
    cost = f"${usage.get('cost_usd', 0):.4f}" + (
        f" (+{usage['unknown_cost_calls']} calls of unknown price)"
        if usage.get("unknown_cost_calls")
        else ""
    )
    lines.append(
        f"  {result.get('iterations')} iteration(s), {usage.get('agent_calls', 0)} agent calls, "
        f"{usage.get('input_tokens', 0) + usage.get('output_tokens', 0)} tokens, {cost}, "
        f"{float(result.get('duration') or 0):.1f}s"
    )
    return "\n".join(lines)


def next_steps(run_id: str, result: ResultData) -> str:
    """What to do with a run's work once it ended (the same hint for ``run`` and ``demo``)."""
    ws = result.get("workspace") or {}
    if ws.get("branch") and int(ws.get("commits") or 0) > 0:
        into = ws.get("base_branch") or "your branch"
        merge = f"loopwright merge {run_id} --cleanup"
        width = len(merge)
        return (
            f"  next:        {f'loopwright diff {run_id}':<{width}}  the patch\n"
            f"               {merge}  bring it into {into}, then remove the run\n"
            f"               {f'loopwright rm {run_id} --force':<{width}}  drop it"
        )
    return f"  next:        loopwright rm {run_id}  (nothing was committed: remove the run)"


def iteration_lines(events: list[Event]) -> list[str]:
    """The work of every iteration: each subgoal's last attempt, and whether it passed."""
    work: dict[int, dict[str, tuple[str, str]]] = {}
    lines = []
    for e in events:
        d, it = e.get("data") or {}, int(e.get("iteration") or 0)
        if e.get("type") == "worker_finished":
            work.setdefault(it, {})[str(d.get("subgoal"))] = (str(d.get("status")),
                                                              str(d.get("title")))  # fmt: skip
        elif e.get("type") == "iteration_finished":
            why = _clip("; ".join(d.get("reasons") or []), 110)
            done = paint("passed", "good") if d.get("passed") else paint("did not pass", "warn")
            done += "" if d.get("passed") or not why else f": {why}"
            lines.append(f"  iteration {it}: {done}")
            for status, title in work.get(it, {}).values():
                lines.append(f"    [{paint(status)}] {_clip(title, 100)}")
    return lines


def _open_issues(verdicts: list[dict[str, Any]]) -> list[str]:
    """What the reviewers still wanted when the run ended."""
    lines = []
    for v in verdicts:
        if v.get("complete"):
            continue
        lines.append(f"  reviewer {v.get('reviewer') or '?'} says not complete:")
        lines += [f"    - {_clip(issue, 160)}" for issue in v.get("issues") or ["(no issue given)"]]
    return lines


class Progress:
    """A one-line live summary for a terminal: phase, iteration, workers, time so far."""

    def __init__(self) -> None:
        self.running = 0
        self.done = 0

    def see(self, event: Event) -> None:
        kind = event.get("type")
        if kind == "worker_started":
            self.running += 1
        elif kind == "worker_finished":
            self.running = max(0, self.running - 1)
            self.done += 1
        elif kind == "plan":
            self.running = self.done = 0

    def line(self, status: RunStatus) -> str:
        return (
            f"… {status.get('state')} · iteration {status.get('iteration')} · "
            f"phase {status.get('phase')} · workers: {self.running} running, {self.done} done · "
            f"{float(status.get('elapsed') or 0):.0f}s"
        )


def _repo_name(cwd: str, scratch: Path) -> str:
    if not cwd:
        return "-"
    path = Path(cwd)
    return "(scratch)" if path.is_relative_to(scratch) else path.name or str(path)


def format_list(rows: list[IndexRow], scratch: Path, width: int | None) -> list[str]:
    """``list``'s lines: a header, then a run a line; goals cut to ``width`` columns (None:
    not cut, for a pipe)."""
    repos = [_repo_name(r["cwd"], scratch) for r in rows]
    repo_w = min(24, max([4, *(len(n) for n in repos)]))
    head = f"{'RUN':<25}  {'STATE':<11} {'STARTED':<16}  {'REPO':<{repo_w}}  GOAL"
    lines = [paint(head, "bold")]
    room = max(20, width - len(head) + 4) if width else None
    for r, repo in zip(rows, repos, strict=True):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"]))
        goal = " ".join(r["goal"].split())
        goal = _clip(goal, room) if room else goal
        state = paint(f"{r['state']:<11}", WORDS.get(r["state"]))
        lines.append(
            f"{r['run_id']:<25}  {state} {when:<16}  {_clip(repo, repo_w):<{repo_w}}  {goal}"
        )
    return lines


def backend_lines(b: dict[str, Any], detail: str = "") -> list[str]:
    """A backend's line (``backends``, ``doctor``): available or not, why, and for one that
    is not, how to enable it (install command, variable to set, login command)."""
    mark = paint("yes") if b["available"] else paint("no ", "bad")
    why = f" — {b['reason']}" if b.get("reason") else ""
    lines = [f"{mark}  {b['name']:<12} {b['kind']:<13} {b.get('spec_example', '')}{detail}{why}"]
    if not b["available"] and b.get("fix"):
        lines.append(f"     {'':<12} to enable: {b['fix']}")
    return lines

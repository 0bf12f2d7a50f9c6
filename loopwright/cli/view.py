"""Human-readable rendering of events and results for the terminal (used by cli only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..loop.vocab import Event, EventData, EventType
from ..runs.status import RunStatus
from ..runs.store import ResultData
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


def _verify(d: EventData) -> str:
    parts = []
    for r in d.get("results", []):
        mark = "pass" if r.get("passed") else f"FAIL (exit {r.get('exit_code')})"
        if not r.get("passed"):
            tail = [ln for ln in str(r.get("output_tail", "")).splitlines() if ln.strip()]
            mark += f" — {_clip(tail[-1], 80)}" if tail else ""
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


def format_result(result: ResultData) -> str:
    lines = [f"{result.get('state', '?').upper()}: {result.get('summary')}"]
    for r in result.get("last_results", []):
        lines.append(
            f"  [{r['status']}] {r['title']}" + (f" — {r['error']}" if r.get("error") else "")
        )
    for v in result.get("verify", []):
        lines.append(f"  verify {' '.join(v['argv'])}: {'pass' if v['passed'] else 'FAIL'}")
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

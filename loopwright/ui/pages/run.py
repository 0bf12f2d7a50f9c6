"""A run's page: header (state, budgets, backends), timeline of iterations, model use,
worker outputs, and the live event stream (filled by the script from the SSE endpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...loop.vocab import LIVE_STATES
from ...runs.status import RunStatus
from ..data import Budget
from ..diffs import highlight
from ..timeline import Fold, Iteration, Subgoal
from .charts import hbars, meter
from .layout import clock, cost, duration, h, layout, state_badge

__all__ = ["SHOWN_ITERATIONS", "RunView", "diff_html", "live_html", "run_html"]

SHOWN_ITERATIONS = 50
"""Iterations drawn on the page (the newest); ``?all=1`` draws every one."""


@dataclass
class RunView:
    run_id: str
    status: RunStatus
    request: dict[str, Any]
    result: dict[str, Any] | None
    budgets: list[Budget]
    roles: list[tuple[str, list[str]]]
    fold: Fold
    workers: list[tuple[str, int]]
    all_iterations: bool = False


def run_html(view: RunView, base: str) -> str:
    body = (
        f"<h1>Run <code>{h(view.run_id)}</code></h1>"
        f"<div id=live>{live_html(view)}</div>"
        f"<section><h2>Cost and tokens per model</h2>{_models(view.fold)}</section>"
        f"<section><h2>Worker output files</h2>{_workers(view)}</section>"
        "<section class=events><h2>Events</h2><button id=older type=button>older</button>"
        "<ol id=events></ol><p id=events-state class=muted>connecting…</p></section>"
    )
    live = "1" if view.status["state"] in LIVE_STATES else "0"
    return layout(f"Run {view.run_id}", base, body, "run", {"run": view.run_id, "live": live})


def live_html(view: RunView) -> str:
    """The parts that change while the run goes: header and timeline."""
    return _header(view) + _timeline(view)


def _header(view: RunView) -> str:
    st, loop = view.status, view.request.get("loop", {})
    cancel = ""
    if st["state"] in LIVE_STATES or st["state"] == "needs_input":
        cancel = "<button id=cancel type=button class=danger>cancel run</button>"
    phase = f" <span class=muted>phase {h(st.get('phase'))}</span>"
    facts = [
        ("state", state_badge(st["state"]) + phase),
        ("goal", f"<span class=goal-text>{h(loop.get('goal') or st.get('goal'))}</span>"),
        ("repo", f"<code>{h(view.request.get('repo') or loop.get('cwd'))}</code>"),
        ("started", clock(st.get("started_at"))),
        ("duration", duration(st.get("elapsed"))),
    ]  # fmt: skip
    if view.result:
        facts.append(("result", h(view.result.get("summary"))))
    if st.get("error"):
        facts.append(("error", f"<span class=bad>{h(st.get('error'))}</span>"))
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    roles = "".join(
        f"<tr><th>{h(role)}</th><td>{'<br>'.join(f'<code>{h(s)}</code>' for s in specs)}</td></tr>"
        for role, specs in view.roles
    )
    return (
        f"<section class=head><table class=facts>{rows}</table>{cancel}"
        f"<h2>Budgets</h2><table class=budgets>{''.join(_budget(b) for b in view.budgets)}</table>"
        f"<h2>Backends</h2><table class=facts>{roles}</table>{_notes(view.fold)}</section>"
    )


def _budget(b: Budget) -> str:
    def num(v: float) -> str:
        return cost(v) if b.unit == "$" else f"{v:,.1f} s" if b.unit == "s" else f"{v:,.0f}"

    limit = num(float(b.limit)) if b.limit else "no limit"
    return (
        f"<tr><th>{h(b.label)}</th><td class=bar>{meter(b.used, b.limit)}</td>"
        f"<td class=num>{num(b.used)} / {limit}</td></tr>"
    )


def _notes(fold: Fold) -> str:
    if not fold.notes:
        return ""
    items = "".join(
        f'<li class="{h(e["type"])}">it{e["iteration"]} {h(e["type"])}: '
        f"{h(str(e['data'].get('message', ''))[:400])}</li>"
        for e in fold.notes[-5:]
    )
    return f"<h2>Warnings and errors (newest {min(5, len(fold.notes))})</h2><ul>{items}</ul>"


def _timeline(view: RunView) -> str:
    numbers = sorted(n for n in view.fold.iterations if n > 0)
    if not numbers:
        return "<section><h2>Iterations</h2><p class=muted>none yet</p></section>"
    shown = numbers if view.all_iterations else numbers[-SHOWN_ITERATIONS:]
    hidden = len(numbers) - len(shown)
    more = (
        f'<p class=muted>{hidden} earlier iteration(s) not shown: <a href="runs/'
        f'{h(view.run_id)}?all=1">show all</a></p>'
        if hidden
        else ""
    )
    with_diff = [n for n in shown if view.fold.iterations[n].checkpoint]
    last = with_diff[-1] if with_diff else None
    items = "".join(
        _iteration(view.run_id, view.fold.iterations[n], n == last) for n in reversed(shown)
    )
    return f"<section><h2>Iterations</h2>{more}<ol class=timeline>{items}</ol></section>"


def _iteration(run_id: str, it: Iteration, open_diff: bool) -> str:
    verdict = "running" if it.passed is None else "passed" if it.passed else "not passed"
    tone = "" if it.passed is None else "good" if it.passed else "bad"
    subgoals = "".join(_subgoal(run_id, s) for s in it.subgoals.values())
    parts = [
        f'<li class=iteration data-iteration="{it.number}"><h3>Iteration {it.number} '
        f'<span class="verdict {tone}">{verdict}</span></h3>',
        "<table class=subgoals><tr><th>subgoal</th><th>worker</th><th>status</th>"
        f"<th>attempt</th><th>time</th><th>output</th></tr>{subgoals}</table>"
        if subgoals
        else "",
        _verify(it),
        _verdicts(it),
    ]
    if it.reasons:
        parts.append(f"<ul class=reasons>{''.join(f'<li>{h(r)}</li>' for r in it.reasons)}</ul>")
    parts.append(_checkpoint(run_id, it, open_diff))
    return "".join(parts) + "</li>"


def _subgoal(run_id: str, s: Subgoal) -> str:
    output = "—"
    if s.output_path:
        name = s.output_path.rsplit("/", 1)[-1]
        output = f'<a href="runs/{h(run_id)}/workers/{h(name)}">{h(name)}</a>'
    error = f"<div class=bad>{h(s.error[:300])}</div>" if s.error else ""
    return (
        f"<tr><td><b>{h(s.id)}</b> {h(s.title)}{error}</td><td><code>{h(s.backend)}</code></td>"
        f'<td><span class="status s-{h(s.status)}">{h(s.status)}</span></td>'
        f"<td class=num>{s.attempt or '—'}</td><td class=num>{duration(s.duration)}</td>"
        f"<td>{output}</td></tr>"
    )


def _verify(it: Iteration) -> str:
    if not it.verify:
        return ""
    rows = "".join(
        f'<li class="{"good" if r.get("passed") else "bad"}"><code>'
        f"{h(' '.join(str(a) for a in r.get('argv') or [])[:200])}</code> — "
        f"{'passed' if r.get('passed') else 'failed'} (exit {h(r.get('exit_code'))}"
        f"{', timed out' if r.get('timed_out') else ''}, {duration(r.get('duration'))})</li>"
        for r in it.verify
    )
    return f"<h4>verify</h4><ul class=verify>{rows}</ul>"


def _verdicts(it: Iteration) -> str:
    if not it.verdicts:
        return ""
    rows = "".join(
        f'<li class="{"good" if v.get("complete") else "bad"}"><code>{h(v.get("reviewer"))}'
        f"</code>: {'complete' if v.get('complete') else 'not complete'} (score "
        f"{h(v.get('score'))}){_issues(v.get('issues'))}</li>"
        for v in it.verdicts
    )
    return f"<h4>verdicts</h4><ul class=verdicts>{rows}</ul>"


def _issues(issues: Any) -> str:
    if not issues:
        return ""
    return "<ul>" + "".join(f"<li>{h(str(i)[:300])}</li>" for i in list(issues)[:10]) + "</ul>"


def _checkpoint(run_id: str, it: Iteration, open_diff: bool) -> str:
    cp = it.checkpoint
    if not cp:
        return ""
    files = cp.get("files") or []
    names = ", ".join(str(f.get("path")) for f in files[:8] if isinstance(f, dict))
    more = f" and {len(files) - 8} more" if len(files) > 8 else ""
    href = f"runs/{h(run_id)}/diff/{it.number}"
    return (
        f'<details class=diff data-diff="{h(href)}"{" open" if open_diff else ""}>'
        f"<summary>checkpoint <code>{h(str(cp.get('sha', ''))[:10])}</code> "
        f"({h(cp.get('verdict'))}): {len(files)} file(s) — {h(names)}{more}</summary>"
        f'<div class=diff-body><a href="{href}">show the diff</a></div></details>'
    )


def diff_html(diff: dict[str, Any]) -> str:
    """One iteration's patch, highlighted (a fragment the script puts in its details)."""
    cut = "<p class=muted>the patch is cut here</p>" if diff["truncated"] else ""
    if not diff["patch"]:
        return "<p class=muted>no changes</p>"
    return f"<pre class=patch>{highlight(diff['patch'])}</pre>{cut}"


def _models(fold: Fold) -> str:
    if not fold.models:
        return (
            "<p class=muted>no model calls recorded (model_call events; a scripted backend "
            "makes none)</p>"
        )
    names = sorted(fold.models)
    tokens = [(n, float(fold.models[n].input_tokens + fold.models[n].output_tokens)) for n in names]
    costs = [(n, fold.models[n].cost_usd) for n in names]
    rows = "".join(
        f"<tr><td><code>{h(n)}</code></td><td class=num>{u.calls}</td>"
        f"<td class=num>{u.input_tokens:,}</td><td class=num>{u.output_tokens:,}</td>"
        f"<td class=num>{cost(u.cost_usd)}"
        f"{f' + {u.unknown_cost_calls} call(s) of unknown price' if u.unknown_cost_calls else ''}"
        "</td></tr>"
        for n, u in ((n, fold.models[n]) for n in names)
    )
    return (
        hbars("tokens (input + output)", tokens)
        + hbars("cost (USD, known prices)", costs, "${:,.4f}")
        + "<table><tr><th>model</th><th>calls</th><th>input</th><th>output</th><th>cost</th>"
        f"</tr>{rows}</table>"
    )


def _workers(view: RunView) -> str:
    if not view.workers:
        return "<p class=muted>none: every worker's output fit in its event</p>"
    items = "".join(
        f'<li><a href="runs/{h(view.run_id)}/workers/{h(name)}">{h(name)}</a> '
        f"<span class=muted>{size:,} bytes</span></li>"
        for name, size in view.workers
    )
    return f"<ul>{items}</ul>"

"""The Runs page: a paged table of runs with filters by state and repository."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ...loop.vocab import ALL_STATES
from ..data import PAGE_SIZE, Filters, RunPage
from .layout import clock, cost, duration, h, layout, state_badge

__all__ = ["rows_html", "runs_html"]


def rows_html(page: RunPage) -> str:
    """The table body: one row per run, each linking to its run page."""
    if not page.rows:
        return "<tr><td colspan=7 class=empty>no runs</td></tr>"
    return "".join(_row(r) for r in page.rows)


def _row(r: dict[str, Any]) -> str:
    iteration = "—" if r["iteration"] is None else r["iteration"]
    return (
        f'<tr data-run="{h(r["run_id"])}"><td>{state_badge(r["state"])}</td>'
        f'<td class=repo title="{h(r["repo"])}">{h(_short(r["repo"]))}</td>'
        f'<td class=goal><a href="runs/{h(r["run_id"])}">{h(r["goal"][:140]) or "(no goal)"}'
        f"</a></td><td class=num>{h(iteration)}</td><td class=num>{cost(r['cost_usd'])}</td>"
        f"<td class=num>{duration(r['elapsed'])}</td><td class=when>{clock(r['started'])}</td></tr>"
    )


def _short(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/".join(parts[-2:]) if parts else path


def runs_html(page: RunPage, base: str, f: Filters, repos: list[str]) -> str:
    state, repo, before, limit = f.state, f.repo, f.before, f.limit
    states = "".join(
        f"<option{' selected' if s == state else ''}>{h(s)}</option>" for s in ALL_STATES
    )
    repo_opts = "".join(
        f'<option value="{h(r)}"{" selected" if r == repo else ""}>{h(r)}</option>' for r in repos
    )
    filters = (
        "<form class=filters method=get>"
        f'<label>state <select name=state><option value="">any</option>{states}</select></label>'
        f'<label>repo <select name=repo><option value="">any</option>{repo_opts}</select></label>'
        "<button>filter</button></form>"
    )
    query = {k: v for k, v in (("state", state), ("repo", repo)) if v}
    if limit != PAGE_SIZE:
        query["limit"] = str(limit)
    pager = []
    if before:
        pager.append(f'<a href="?{h(urlencode(query))}">newest</a>')
    if page.next:
        older = urlencode({**query, "before": page.next})
        pager.append(f'<a rel=next href="?{h(older)}">older →</a>')
    body = (
        f"<h1>Runs</h1>{filters}<p class=count>{page.total:,} run(s)"
        f"{' matching' if query else ''}; newest first</p>"
        "<table class=runs><thead><tr><th>state</th><th>repo</th><th>goal</th>"
        "<th>iterations</th><th>cost</th><th>duration</th><th>started</th></tr></thead>"
        f"<tbody id=runs-body>{rows_html(page)}</tbody></table>"
        f"<nav class=pager>{' '.join(pager)}</nav>"
    )
    data = {"live": "0" if before else "1", "query": urlencode(query)}
    return layout("Runs", base, body, "runs", data)

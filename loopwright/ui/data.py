"""What the dashboard reads from the run store: pages of runs, one run's header, its
worker output files. Read-only, but for what ``runner.refresh`` does to a live run whose
host died (it becomes ``interrupted``, as every reader of the store makes it)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RunNotFound, UserError
from ..loop.vocab import ALL_STATES, LIVE_STATES, RunState
from ..runs import runner
from ..runs.ids import check_run_id
from ..runs.index import IndexRow
from ..runs.status import RunStatus
from ..runs.store import RunStore, read_json
from ..runs.tally import elapsed_now

__all__ = [
    "MAX_PAGE",
    "PAGE_SIZE",
    "Budget",
    "Filters",
    "RunPage",
    "budgets",
    "check_limit",
    "check_state",
    "open_worker_output",
    "read_request",
    "roles",
    "run_row",
    "runs_page",
    "worker_files",
]

PAGE_SIZE = 50
MAX_PAGE = 500
WORKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.out$")
OUTPUT_SHOWN = 1_000_000
"""Bytes of a worker output file served (files are capped at 8 MiB when written)."""


def check_state(value: str | None) -> RunState | None:
    if not value:
        return None
    for state in ALL_STATES:
        if value == state:
            return state
    raise UserError(f"state {value[:40]!r} is not one of {', '.join(ALL_STATES)}", "state")


def check_limit(value: str | None, default: int = PAGE_SIZE) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise UserError(f"limit must be a whole number from 1 to {MAX_PAGE}", "limit")
    return int(value)


@dataclass(frozen=True)
class Filters:
    """What the Runs page asks for: a state, a repository, where the page starts."""

    state: RunState | None = None
    repo: str | None = None
    before: str | None = None
    """The run id to page on from (the previous page's ``next``)."""
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        """From a query string, each field checked (``UserError`` naming it)."""
        before = query.get("before") or None
        if before:
            check_run_id(before, "before")
        return cls(check_state(query.get("state")), query.get("repo") or None, before,
                   check_limit(query.get("limit")))  # fmt: skip


@dataclass
class RunPage:
    rows: list[dict[str, Any]]
    next: str | None
    """The run id to page on from (``before``), None on the last page."""
    total: int


def runs_page(store: RunStore, f: Filters) -> RunPage:
    """One page of runs, newest first, from the index (keyset paging: a page costs the same
    at run 10,000 as at run 1); each row's numbers from its ``status.json``."""
    found = store.index.list(f.state, f.limit + 1, cwd=f.repo, before=f.before)
    more = len(found) > f.limit
    rows = [run_row(store, r) for r in found[: f.limit]]
    total = store.index.count(f.state, f.repo)
    return RunPage(rows, rows[-1]["run_id"] if more and rows else None, total)


def run_row(store: RunStore, row: IndexRow) -> dict[str, Any]:
    """An index row with the run's iteration, cost and duration (its status, refreshed
    when live; the index's own fields when the run dir is gone)."""
    out: dict[str, Any] = {
        "run_id": row["run_id"], "state": row["state"], "repo": row["cwd"],
        "goal": row["goal"], "started": row["created_at"], "iteration": None,
        "cost_usd": None, "elapsed": None,
    }  # fmt: skip
    try:
        status = _status(store, row["run_id"], row["state"])
    except (OSError, ValueError, RunNotFound):
        return out
    usage = status.get("usage") or {}
    out.update(state=status["state"], iteration=int(status.get("iteration") or 0),
               cost_usd=usage.get("cost_usd"), elapsed=elapsed_now(status))  # fmt: skip
    return out


def _status(store: RunStore, run_id: str, state: RunState) -> RunStatus:
    if state in LIVE_STATES:
        return runner.refresh(store, run_id)
    return store.read_status(run_id)


@dataclass
class Budget:
    label: str
    used: float
    limit: float | None
    unit: str = ""


def budgets(status: RunStatus, request: dict[str, Any]) -> list[Budget]:
    """Used against the request's limits, one per budget the loop enforces."""
    limits: dict[str, Any] = request.get("loop", {}).get("budget", {})
    usage = status.get("usage") or {}
    tokens = float(usage.get("input_tokens") or 0) + float(usage.get("output_tokens") or 0)
    return [
        Budget("iterations", float(status.get("iteration") or 0), limits.get("max_iterations")),
        Budget("seconds", elapsed_now(status), limits.get("max_seconds"), "s"),
        Budget("agent calls", float(usage.get("agent_calls") or 0), limits.get("max_agent_calls")),
        Budget("tokens", tokens, limits.get("max_tokens")),
        Budget("cost", float(usage.get("cost_usd") or 0), limits.get("max_cost_usd"), "$"),
    ]


def roles(request: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The backend spec(s) of each role, as the run was asked for."""
    found = [
        ("planner", [request.get("planner")]),
        ("workers", request.get("workers") or []),
        ("reviewers", request.get("reviewers") or []),
        ("clarifier", [request.get("clarifier")]),
    ]
    return [(role, [str(s) for s in specs if s]) for role, specs in found if any(specs)]


def worker_files(store: RunStore, run_id: str) -> list[tuple[str, int]]:
    """``(name, bytes)`` of the run's worker output files, regular files only."""
    folder = store.existing(run_id).workers
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    found = [
        (e.name, e.stat(follow_symlinks=False).st_size)
        for e in entries
        if WORKER_NAME.match(e.name) and e.is_file(follow_symlinks=False)
    ]
    return sorted(found)


def open_worker_output(store: RunStore, run_id: str, name: str) -> bytes:
    """The start of one worker output file. Only a plain name of a regular file directly
    in the run's ``workers`` folder: no path, no ``..``, no symlink (O_NOFOLLOW)."""
    if not WORKER_NAME.match(name) or ".." in name:
        raise RunNotFound(f"no worker output {name[:80]!r}", "name")
    folder = store.existing(run_id).workers
    try:
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        raise RunNotFound(f"no worker output {name!r}", "name") from exc
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise RunNotFound(f"no worker output {name!r}", "name")
        body = f.read(OUTPUT_SHOWN)
    if info.st_size > OUTPUT_SHOWN:
        body += f"\n[cut here: the file holds {info.st_size:,} bytes]\n".encode()
    return body


def read_request(store: RunStore, run_id: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = read_json(store.existing(run_id).request)
    except (OSError, ValueError):
        return {}
    return data

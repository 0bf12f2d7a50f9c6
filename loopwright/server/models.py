"""What the tools return: pydantic models, so clients get ``structuredContent`` + a schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..loop.types import Question


class RunReply(BaseModel):
    """Reply of ``orchestrate`` and ``orchestrate_resume``."""

    status: str = Field(
        description="running | needs_input | completed | stopped | failed | cancelled | interrupted"
    )
    run_id: str
    run_dir: str
    events_path: str
    tail_command: str = Field(description="a shell line a person can paste to follow the run")
    cwd: str = Field(
        description="the working dir given (or the scratch repo); with isolate the changes "
        "land in a worktree on branch loopwright/<run_id>, named in the result's workspace"
    )
    scratch: bool = Field(description="true when cwd is a fresh scratch repo made for this run")
    message: str = Field(description="what happens next and how to follow or cancel")
    questions: list[Question] = Field(default_factory=list)
    result: dict[str, Any] | None = Field(None, description="the run's result once it ended")


class StatusReply(BaseModel):
    run_id: str
    state: str
    running: bool = Field(description="true while the state is queued, running or paused")
    resume_at: float | None = Field(
        None, description="while paused: when the usage limit resets (epoch seconds)"
    )
    phase: str = ""
    iteration: int = 0
    goal: str = ""
    elapsed: float = 0.0
    updated_at: float = 0.0
    usage: dict[str, Any] = Field(default_factory=dict)
    questions: list[Question] = Field(default_factory=list)
    error: str | None = None


class TailReply(BaseModel):
    run_id: str
    events: list[dict[str, Any]]
    cursor: str = Field(description="pass it back to get only newer events")
    running: bool
    state: str
    more: bool = Field(description="true when more events are already waiting: call again now")


class ResultReply(BaseModel):
    run_id: str
    state: str
    done: bool = Field(description="false while the run is queued or running (no result yet)")
    result: dict[str, Any] | None = None
    questions: list[Question] = Field(default_factory=list)
    message: str = ""


class CancelReply(BaseModel):
    run_id: str
    state: str
    message: str


class DiffReply(BaseModel):
    """Reply of ``orchestrate_diff``."""

    run_id: str
    repo: str
    branch: str
    base: str
    files: list[dict[str, str]] = Field(description="[{status, path, old_path?}] base..branch")
    insertions: int
    deletions: int
    patch: str = Field(description="the unified diff, cut at max_bytes")
    truncated: bool = Field(description="true when the patch was cut")
    iteration: int | None = Field(None, description="the iteration shown, when one was asked")


class CleanupItem(BaseModel):
    kind: str = Field(description="worktree, branch, scratch repo, run, index row or pool slot")
    target: str = Field(description="its path or name")
    run_id: str | None = None
    note: str = Field("", description="kept: why; removed: e.g. the tip a deleted branch had")


class DeleteReply(BaseModel):
    """Reply of ``orchestrate_delete`` (and the cleanup of ``orchestrate_merge``)."""

    dry_run: bool = Field(description="true: nothing was removed; removed says what would be")
    removed: list[CleanupItem]
    kept: list[CleanupItem] = Field(description="what was kept and why (work is never lost)")


class MergeReply(BaseModel):
    """Reply of ``orchestrate_merge``."""

    run_id: str
    merged: bool = Field(description="false when the branch already had the run's work")
    already: bool = Field(False, description="true: already merged, nothing was changed")
    into: str = Field(description="the branch that received the work")
    commit: str = Field(description="the merge (or squash) commit; the branch's tip if already")
    squash: bool
    files: list[str]
    cleanup: DeleteReply | None = Field(None, description="with cleanup=true: what went")


class RunRow(BaseModel):
    run_id: str
    state: str
    goal: str
    cwd: str
    backend: str
    created_at: float
    updated_at: float


class ListReply(BaseModel):
    runs: list[RunRow]


class BackendRow(BaseModel):
    name: str
    kind: str
    available: bool
    reason: str = Field("", description="why it is not available")
    fix: str = Field("", description="how to make it available")
    spec_example: str = ""


class DoctorBackend(BackendRow):
    binary: str | None = Field(None, description="the agent CLI's path, when it has one")
    binary_version: str = ""


class BackendsReply(BaseModel):
    backends: list[BackendRow]


class Check(BaseModel):
    name: str
    ok: bool
    detail: str = ""


class DoctorReply(BaseModel):
    versions: dict[str, str]
    state_dir: str
    backends: list[DoctorBackend]
    credentials: dict[str, bool] = Field(
        description="whether each credential is set (never its value)"
    )
    checks: list[Check]
    ollama_hosts: list[Check] = Field(
        default_factory=list, description="each configured Ollama host: reachable, its models"
    )
    allowed_roots: list[str]
    advice: list[str]

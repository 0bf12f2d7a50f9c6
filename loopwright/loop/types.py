"""The loop's data: goals, budgets, subgoals, results, verdicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .vocab import QuestionPolicy, Quorum, RoutePolicy, RunState

KEEP_HISTORY = 3


class Model(BaseModel):
    """Base of the loop's models: schemas are built on first use, not at import (a run-host
    starts in well under the 300 ms a detached start may take)."""

    model_config = ConfigDict(defer_build=True)


class Budget(Model):
    """Limits that stop a run. Every default is bounded: a loop cannot spin forever."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    max_iterations: int = Field(5, ge=1, le=1000, description="iterations at most")
    max_seconds: float = Field(3600, gt=0, le=7 * 86400, description="wall-clock seconds")
    max_agent_calls: int = Field(200, ge=1, le=100_000, description="backend calls at most")
    max_tokens: int = Field(5_000_000, ge=1, le=10**10, description="input+output tokens")
    max_cost_usd: float = Field(20.0, ge=0, le=100_000, description="known USD spent")


class Question(Model):
    id: str
    text: str
    default: str | None = None


class Subgoal(Model):
    id: str
    title: str
    instructions: str = ""
    files: list[str] = Field(default_factory=list)
    worker: str | None = None
    """The worker the plan assigned (a spec of the run's workers; checked, else dropped)."""
    est_tokens: int | None = Field(None, ge=0)
    """The plan's estimate of the worker tokens (prompt + generated) it will take."""
    tags: list[str] = Field(default_factory=list)
    """What kind of work it is (``tests``, ``docs``, ``infra``...), as the planner tagged it:
    a tag with a specialist sends the subgoal to that backend (``route.Router``)."""


class TaskResult(Model):
    subgoal_id: str
    title: str
    status: Literal["ok", "failed"]
    attempts: int
    summary: str = ""
    error: str | None = None
    duration: float = 0.0
    backend: str = ""


class VerifyResult(Model):
    argv: list[str]
    passed: bool
    exit_code: int | None
    timed_out: bool = False
    duration: float = 0.0
    output: str = ""


class Verdict(Model):
    complete: bool
    score: float = Field(0.0, ge=0, le=1)
    issues: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    reviewer: str = ""


@dataclass
class UsageTotals:
    """Running totals of a run (a plain dataclass: it is updated on every call)."""

    agent_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    """Known USD spent: the API calls' costs and what holding priced hosts cost."""
    unknown_cost_calls: int = 0
    host_cost_usd: float = 0.0
    """The part of ``cost_usd`` that holding priced hosts cost (``loop.holds``)."""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageTotals:
        return cls(**{k: data[k] for k in _USAGE_FIELDS if k in data})


class IterationRecord(Model):
    """What one iteration left for the next plan and for a resumed run."""

    iteration: int
    subgoals: list[Subgoal]
    results: list[TaskResult]
    verify: list[VerifyResult]
    verdicts: list[Verdict]
    passed: bool


class LoopConfig(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    goal: str
    success_criteria: list[str] = Field(default_factory=list)
    cwd: str
    verify_commands: list[list[str]] = Field(default_factory=list)
    verify_env: list[str] = Field(default_factory=list)
    """Environment variables verify commands get besides the allowlist (names only)."""
    verify_timeout: float = Field(600, gt=0, le=86400)
    budget: Budget = Field(default_factory=Budget)
    questions: QuestionPolicy = "auto"
    review_quorum: Quorum = "all"
    concurrency: int = Field(4, ge=1, le=64)
    worker_retries: int = Field(1, ge=0, le=10)
    retry_backoff: float = Field(1.0, ge=0, le=300)
    worker_timeout: float = Field(1800, gt=0, le=86400)
    max_subgoals: int = Field(8, ge=1, le=64)
    route: RoutePolicy = "fixed"
    """Which worker takes each subgoal (``hosts.routing``); ``fixed``: in turn."""
    local_max_seconds: float = Field(600, gt=0, le=86400)
    """``local-first``: a local worker takes a subgoal it is estimated to do in this time."""
    route_margin: float = Field(0.05, ge=0, le=1)
    """``local-first``: how far below the cloud worker's pass rate a local one's may be."""


class LoopState(Model):
    """Where a loop stands: empty for a new run, rebuilt from the event log on resume."""

    criteria: list[str] | None = None
    questions: list[Question] = Field(default_factory=list)
    answers: dict[str, str] = Field(default_factory=dict)
    iterations: int = 0
    """Iterations finished so far."""
    history: list[IterationRecord] = Field(default_factory=list)
    """The most recent finished iterations (at most ``KEEP_HISTORY``), newest last."""
    usage: UsageTotals = Field(default_factory=UsageTotals)
    elapsed: float = 0.0


class RunResult(Model):
    run_id: str = ""
    state: RunState
    stop_reason: str
    iterations: int
    criteria: list[str] = Field(default_factory=list)
    summary: str = ""
    last_results: list[TaskResult] = Field(default_factory=list)
    verify: list[VerifyResult] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    usage: UsageTotals = Field(default_factory=UsageTotals)
    duration: float = 0.0
    error: str | None = None
    cwd: str = ""
    workspace: dict[str, Any] = Field(default_factory=dict)
    """Git isolation: repo, branch, worktree path, base, head, commits, changed_files."""
    extra: dict[str, Any] = Field(default_factory=dict)


_USAGE_FIELDS = tuple(f.name for f in fields(UsageTotals))

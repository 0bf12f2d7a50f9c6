"""The validated request of a run: enough to start it and to resume it later."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..backends.registry import check_spec
from ..backends.settings import verify_env as configured_verify_env
from ..config import MAX_GOAL_CHARS, sandbox_default
from ..errors import UserError
from ..loop.patterns.common import PatternOptions
from ..loop.patterns.improve import ImproveOptions
from ..loop.types import Budget, LoopConfig
from ..loop.vocab import (
    CleanupPolicy,
    MemoryMode,
    PatternName,
    QuestionPolicy,
    Quorum,
    SandboxMode,
)
from ..process.env import ENV_NAME

CONTROL_CHARS = "\\x00-\\x1f\\x7f-\\x9f"
"""C0 controls, DEL and C1 controls as a regex class body: never in a path, an argv or an id
(NUL cannot reach a program at all; the rest can rewrite a terminal that shows them)."""
NO_CONTROL_PATTERN = f"^[^{CONTROL_CHARS}]*$"
"""The JSON-schema ``pattern`` of a string without control characters."""
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")


class RunRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    loop: LoopConfig
    planner: str = "scripted"
    workers: list[str] = Field(default_factory=lambda: ["scripted"])
    reviewers: list[str] = Field(default_factory=lambda: ["scripted"])
    clarifier: str | None = None
    scratch: bool = False
    """True when no cwd was given and the run works in a fresh scratch repository."""
    isolate: bool = True
    """Work in a git worktree on branch ``loopwright/<run_id>`` (False: in place, no git)."""
    repo: str | None = None
    """The repository's top level (set when isolating)."""
    subdir: str = ""
    """Where ``cwd`` sits inside the repository; the loop works there in the worktree."""
    base_ref: str | None = None
    include_uncommitted: bool = False
    cleanup: CleanupPolicy = "auto"
    sandbox: SandboxMode = "off"
    """What runs confined by bubblewrap (``build_request`` fills in the configured default;
    ``off`` here is for requests stored before the sandbox existed, which resume as they ran)."""
    allow_network: bool = False
    """Sandboxed commands share the machine's network (else they have none)."""
    pattern: PatternName = "loop"
    """What the run runs: the loop, or a pattern (``runs/patterns.py``), whose
    participants are then ``workers`` and whose one helper (synthesizer, judge or
    reviewer), if any, is ``reviewers``; ``loop.goal`` is its question or task."""
    pattern_options: PatternOptions = Field(default_factory=PatternOptions)
    improve: ImproveOptions = Field(default_factory=ImproveOptions)
    """``pattern`` ``improve``: its cycles (``runs/improve.py``)."""
    memory: MemoryMode = "repo"
    """What the planner and clarifier recall of past runs (``loopwright.memory``), and
    whether this run is remembered when it ends (not when ``off``)."""
    specialists: dict[str, str] = Field(default_factory=dict)
    """Tag -> backend spec: the planner may tag subgoals with these tags, and a tagged
    subgoal goes to its tag's backend (``loop.route``)."""
    fallback: str | None = None
    """A backend spec a role's calls go to when its spec names a host of the pool
    (``@NAME``, ``@pool``) and no host can take them (``backends.models.pooled``)."""


def check_goal(goal: str | None) -> str:
    if goal is None or not goal.strip():
        raise UserError("goal is empty; say what the loop should achieve", "goal")
    if len(goal) > MAX_GOAL_CHARS:
        raise UserError(
            f"goal is {len(goal):,} characters; the limit is {MAX_GOAL_CHARS:,}", "goal"
        )
    return goal.strip()


def check_one_of(field: str, value: str, vocabulary: Any) -> None:
    """Refuse ``value`` unless it is a word of ``vocabulary`` (a ``Literal``)."""
    allowed = get_args(vocabulary)
    if value not in allowed:
        raise UserError(f"{field} {value!r}: allowed are {', '.join(allowed)}", field)


def check_no_control(value: str, field: str) -> str:
    """Refuse ``value`` when it holds a control character (NUL, newline, escape...)."""
    found = _CONTROL.search(value)
    if found:
        raise UserError(
            f"{field} {value[:80]!r} holds a control character ({found.group()!r} at "
            f"{found.start()}); paths, commands and ids may not",
            field,
        )
    return value


def check_cwd(cwd: str, field: str = "cwd") -> str:
    check_no_control(cwd, field)
    if not os.path.isabs(os.path.expanduser(cwd)):
        raise UserError(f"{field} {cwd!r} must be an absolute path", field)
    path = Path(cwd).expanduser().resolve()
    if not path.exists():
        raise UserError(f"{field} {str(path)!r} does not exist", field)
    if not path.is_dir():
        raise UserError(f"{field} {str(path)!r} is not a directory", field)
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise UserError(f"{field} {str(path)!r} is not readable and writable by us", field)
    return str(path)


def check_budget(**limits: Any) -> Budget:
    given = {k: v for k, v in limits.items() if v is not None}
    try:  # strict: true is not a 1-second budget, "10" is not a number
        return Budget.model_validate(given, strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "budget"
        raise UserError(f"{name}: {err['msg']} (got {err.get('input')!r})", name) from exc


def check_verify(commands: list[list[str]] | None) -> list[list[str]]:
    out = []
    for n, argv in enumerate(commands or [], 1):
        if not argv or not all(isinstance(a, str) for a in argv) or not argv[0].strip():
            raise UserError(f"verify command {n} is empty; give a program and its args", "verify")
        for arg in argv:
            check_no_control(arg, "verify")
        out.append(list(argv))
    return out


def check_verify_env(names: list[str] | None) -> list[str]:
    """The variables verify commands get besides the allowlist: the configured ones
    (``[verify] env``) and ``names``, each a plain variable name."""
    for name in names or []:
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            raise UserError(
                f"verify_env {str(name)[:80]!r} is not an environment variable name "
                "(letters, digits and _, not starting with a digit)",
                "verify_env",
            )
    return list(dict.fromkeys([*configured_verify_env(), *(names or [])]))


def check_backend(spec: str, field: str) -> str:
    """A backend spec: given means non-empty (an empty one never silently means the default)."""
    if not spec.strip():
        raise UserError(f"{field} is empty; omit it for the default, or name a backend", field)
    return check_spec(check_no_control(spec, field), field)


def check_backends(specs: list[str] | None, field: str, default: str) -> list[str]:
    if specs is None:
        return [default]
    if not specs:
        raise UserError(f"{field} is an empty list; omit it for the default", field)
    return [check_backend(s, field) for s in specs]


TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
"""A specialist's tag: lower-case letters, digits, ``_`` and ``-``, 1-32 characters."""
MAX_SPECIALISTS = 16


def check_specialists(table: dict[str, str] | None) -> dict[str, str]:
    """Tag -> spec, each tag a ``TAG`` and each spec checked as a worker's (the field
    named ``specialists.TAG``)."""
    table = table or {}
    if len(table) > MAX_SPECIALISTS:
        raise UserError(f"specialists: {len(table)} tags; at most {MAX_SPECIALISTS}",
                        "specialists")  # fmt: skip
    return {
        check_tag(tag): check_backend(spec, f"specialists.{tag}") for tag, spec in table.items()
    }


def check_tag(tag: str) -> str:
    """A specialist's tag, refused unless it is a ``TAG``."""
    if not isinstance(tag, str) or not TAG.fullmatch(tag):
        raise UserError(
            f"specialists: tag {str(tag)[:40]!r} must be 1-32 lower-case letters, digits, _ "
            "or -, starting with a letter or digit (e.g. tests, docs, infra)",
            "specialists",
        )
    return tag


def build_request(
    goal: str | None,
    *,
    criteria: list[str] | None = None,
    backend: str | None = None,
    planner: str | None = None,
    workers: list[str] | None = None,
    reviewers: list[str] | None = None,
    cwd: str | None = None,
    verify: list[list[str]] | None = None,
    verify_env: list[str] | None = None,
    questions: str = "auto",
    review_quorum: str = "all",
    budget: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    isolate: bool = True,
    base_ref: str | None = None,
    include_uncommitted: bool = False,
    cleanup: str = "auto",
    sandbox: str | None = None,
    allow_network: bool = False,
    memory: str = "repo",
    specialists: dict[str, str] | None = None,
    fallback: str | None = None,
) -> RunRequest:
    """Validate everything a caller gave; raises ``UserError`` naming the field. Pure.

    ``sandbox`` None: the configured default (``LOOPWRIGHT_SANDBOX``, else ``verify``).
    ``specialists``: tag -> backend spec (``check_specialists``)."""
    sandbox = sandbox_default() if sandbox is None else sandbox
    check_one_of("sandbox", sandbox, SandboxMode)
    base = check_backend(backend, "backend") if backend is not None else "scripted"
    loop: dict[str, Any] = {
        "goal": check_goal(goal),
        "success_criteria": [c.strip() for c in criteria or [] if c.strip()],
        "cwd": check_cwd(cwd) if cwd else "",
        "verify_commands": check_verify(verify),
        "verify_env": check_verify_env(verify_env),
        "budget": check_budget(**(budget or {})),
        "questions": questions,
        "review_quorum": review_quorum,
        **(options or {}),
    }
    check_one_of("questions", questions, QuestionPolicy)
    check_one_of("review_quorum", review_quorum, Quorum)
    try:
        config = LoopConfig(**loop)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "request"
        raise UserError(f"{name}: {err['msg']}", name) from exc
    check_one_of("cleanup", cleanup, CleanupPolicy)
    check_one_of("memory", memory, MemoryMode)
    table = check_specialists(specialists)
    repo, subdir = _repo_of(config.cwd, isolate, base_ref) if config.cwd else (None, "")
    return RunRequest(
        isolate=isolate,
        repo=repo,
        subdir=subdir,
        base_ref=base_ref,
        include_uncommitted=include_uncommitted,
        cleanup=cleanup,
        sandbox=sandbox,
        allow_network=allow_network,
        memory=memory,
        loop=config,
        planner=check_backend(planner, "planner") if planner is not None else base,
        workers=check_backends(workers, "worker", base),
        reviewers=check_backends(reviewers, "reviewer", base),
        specialists=table,
        fallback=check_backend(fallback, "fallback") if fallback is not None else None,
        scratch=not cwd,
    )


def _repo_of(cwd: str, isolate: bool, base_ref: str | None) -> tuple[str | None, str]:
    """The repository around ``cwd`` and where ``cwd`` sits in it; checks the base commit."""
    if not isolate:
        return None, ""
    from .git.gitcmd import resolve_commit, run_git, toplevel

    top = toplevel(cwd)
    if top is None:
        raise UserError(
            f"cwd {cwd!r} is not inside a git repository; runs work in a git worktree. "
            "Use isolate=false (CLI: --no-isolate) to work in place, at your own risk",
            "cwd",
        )
    if base_ref is None and run_git(str(top), "rev-parse", "--verify", "-q", "HEAD").returncode:
        raise UserError(f"the repository {str(top)!r} has no commits yet; commit first", "cwd")
    resolve_commit(str(top), base_ref or "HEAD", "base_ref")
    return str(top), _rel(cwd, str(top))


def _rel(cwd: str, top: str) -> str:
    rel = os.path.relpath(os.path.realpath(cwd), os.path.realpath(top))
    return "" if rel == "." else rel

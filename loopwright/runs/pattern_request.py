"""The validated request of a pattern run (consult, delegate, debate). Pure, like
``build_request``: every mistake is a ``UserError`` naming the caller's field, and
nothing is created on disk for a refused request."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..backends.registry import check_spec
from ..config import MAX_GOAL_CHARS, sandbox_default
from ..errors import UserError
from ..loop.patterns.common import PatternOptions
from ..loop.types import LoopConfig
from ..loop.vocab import PatternName, SandboxMode
from .request import (
    RunRequest,
    _repo_of,
    check_budget,
    check_cwd,
    check_no_control,
    check_one_of,
)

TEXT_FIELD: dict[PatternName, str] = {"consult": "question", "debate": "question",
                                      "delegate": "task"}  # fmt: skip
HELPER_FIELD: dict[PatternName, str] = {"consult": "synthesizer", "debate": "judge",
                                        "delegate": "reviewer"}  # fmt: skip
MAX_PANEL = 16
"""Participants of one consult or debate at most."""


def check_text(text: str | None, field: str) -> str:
    if text is None or not text.strip():
        raise UserError(f"{field} is empty; say what to ask", field)
    if len(text) > MAX_GOAL_CHARS:
        raise UserError(f"{field} is {len(text):,} characters; the limit is {MAX_GOAL_CHARS:,}",
                        field)  # fmt: skip
    return text.strip()


def check_backend(spec: str, field: str) -> str:
    """A given spec is not empty (omitting it is how the default is had) and holds no
    control character, as a run's backend specs."""
    if not spec.strip():
        raise UserError(f"{field} is empty; name a backend (see list_backends)", field)
    return check_spec(check_no_control(spec, field), field)


def check_panel(pattern: PatternName, models: list[str] | None, field: str) -> list[str]:
    least = 2 if pattern == "debate" else 1
    specs = [check_backend(s, field) for s in models or []]
    if len(specs) < least or len(specs) > MAX_PANEL:
        raise UserError(
            f"{field}: {pattern} takes {least} to {MAX_PANEL} backend specs; got {len(specs)}",
            field,
        )
    return specs


def build_pattern_request(
    pattern: PatternName,
    text: str | None,
    *,
    models: list[str] | None,
    helper: str | None = None,
    cwd: str | None = None,
    isolate: bool | None = None,
    budget: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    timeout: float | None = None,
    sandbox: str | None = None,
    allow_network: bool = False,
    fallback: str | None = None,
) -> RunRequest:
    """A pattern run's request. ``models``: the participants (the one delegate); ``helper``:
    the synthesizer, judge or reviewer. ``isolate`` None: a worktree for ``delegate`` (it
    edits), in place for ``consult`` and ``debate`` (they only read). ``options``:
    ``PatternOptions`` fields. ``timeout``: seconds one backend call may take.
    ``sandbox`` None: the configured default, as a run's (``LOOPWRIGHT_SANDBOX``, else
    ``verify``); with ``all`` the agent CLIs asked are confined. ``fallback``: where the
    calls of a spec naming a host of the pool go when no host can take them, as a run's
    (the caller's, or the config's ``run.fallback``: ``defaults.pattern_fallback``)."""
    if pattern == "loop":
        raise UserError("a loop run's request is build_request's", "pattern")
    sandbox = sandbox_default() if sandbox is None else sandbox
    check_one_of("sandbox", sandbox, SandboxMode)
    field = "backend" if pattern == "delegate" else "models"
    panel = check_panel(pattern, models, field)
    if pattern == "delegate" and len(panel) != 1:
        raise UserError("delegate hands its task to exactly one backend", field)
    helpers = [check_backend(helper, HELPER_FIELD[pattern])] if helper is not None else []
    isolate = pattern == "delegate" if isolate is None else isolate
    loop = _loop_config(check_text(text, TEXT_FIELD[pattern]), cwd, budget, timeout)
    repo, subdir = _repo_of(loop.cwd, isolate, None) if loop.cwd else (None, "")
    return RunRequest(
        loop=loop,
        workers=panel,
        reviewers=helpers,
        scratch=not cwd,
        isolate=isolate,
        repo=repo,
        subdir=subdir,
        pattern=pattern,
        pattern_options=_options(options),
        sandbox=sandbox,
        allow_network=allow_network,
        fallback=check_backend(fallback, "fallback") if fallback is not None else None,
    )


def _loop_config(
    text: str, cwd: str | None, budget: dict[str, Any] | None, timeout: float | None
) -> LoopConfig:
    given: dict[str, Any] = {"goal": text, "cwd": check_cwd(cwd) if cwd else ""}
    given["budget"] = check_budget(**(budget or {}))
    if timeout is not None:
        given["worker_timeout"] = timeout
    try:
        return LoopConfig(**given)
    except ValidationError as exc:
        raise UserError(f"timeout: {exc.errors()[0]['msg']}", "timeout") from exc


def _options(options: dict[str, Any] | None) -> PatternOptions:
    given = {k: v for k, v in (options or {}).items() if v is not None}
    try:
        return PatternOptions.model_validate(given, strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "options"
        raise UserError(f"{name}: {err['msg']} (got {err.get('input')!r})", name) from exc

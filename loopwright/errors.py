"""The one exception tree of loopwright.

    LoopwrightError
    ├── UserError                 caller mistakes: bad arguments, unknown backend, bad run id
    │   ├── UnknownBackend
    │   ├── RunNotFound
    │   └── InvalidState          the run is not in a state that allows the operation
    └── RunError                  things that go wrong while a run executes
        ├── BudgetExceeded        a budget limit is reached (a stop, not a crash)
        ├── PlanError             the planner's reply could not be used, even after repair
        ├── NeedsInput            intake has questions and the policy is "ask"
        ├── ProcessError          a subprocess could not be started or misbehaved
        ├── ProviderError         a model API call failed (``ChatBackend`` turns it into a
        │   │                     failed response: it never reaches the harness)
        │   ├── ToolsUnsupported  the model takes no tools: the tool loop falls back to
        │   │                     fenced edit blocks
        │   └── SchemaUnsupported the API refused its structured-output parameter: asked
        │                         again without it (prompt and repair do the work)
        ├── ToolRefused           a model's tool call the workspace does not allow (a path
        │                         outside it, a bad argument): the model is told, and goes on
        ├── CheckpointFailed      a checkpoint commit failed even after repair: the run
        │                         is not completed and its worktree is kept
        ├── HostError             a rented GPU host could not be found, created, reached or
        │                         destroyed (Vast.ai API, its instance); says what became
        │                         of a paid instance
        └── WorkAtRisk            a reset, clean or delete was refused: the worktree or
                                  branch holds uncommitted or unmerged work

    OSError
    └── DiskFull                  loopwright's own files could not be written: disk or quota full

Task groups wrap what their tasks raise in an ``ExceptionGroup``; ``unwrapped()`` turns
that back into the one exception a caller classifies (a budget stop before any other
loopwright error, then any error), so a group never hides a ``BudgetExceeded``.

Backends never raise for ordinary model failures: they return a failed response. They
raise only ``UserError`` subclasses for caller mistakes.

``DiskFull`` is an ``OSError`` on purpose, outside ``LoopwrightError``: it is neither a
caller mistake nor a failed step of the work, so code that turns run errors into failed
steps does not swallow it. It ends the run ``failed``; tools and the CLI print it as is.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from typing import Any


class LoopwrightError(Exception):
    """Base of every error loopwright raises on purpose."""


class UserError(LoopwrightError):
    """The caller asked for something invalid. ``field`` names the offending input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownBackend(UserError):
    pass


class RunNotFound(UserError):
    pass


class InvalidState(UserError):
    pass


class RunError(LoopwrightError):
    pass


class BudgetExceeded(RunError):
    """Raised by budget checks; ``limit`` names which limit (e.g. ``max_agent_calls``)."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class PlanError(RunError):
    pass


class NeedsInput(RunError):
    """Intake wants answers before the loop can go on."""

    def __init__(self, questions: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(questions)} clarifying question(s) need answers")
        self.questions = questions


class ProcessError(RunError):
    def __init__(self, message: str, exit_code: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr


class ProviderError(RunError):
    """A model call failed. Caught by ``ChatBackend``; never reaches the harness.

    ``retryable``: worth another try (429, 5xx, overload, a dropped stream), after
    ``retry_after`` seconds when the provider said; ``status``: the HTTP status, if any;
    ``host_down``: the host itself failed (no connection, or 5xx after the retries), so
    another host of the pool may take the call."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        host_down: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.host_down = host_down


class ToolsUnsupported(ProviderError):
    """The model cannot call tools: the tool loop falls back to fenced edit blocks."""


class SchemaUnsupported(ProviderError):
    """The API refused its structured-output parameter: ``ChatBackend`` asks again without
    it, and sends this backend no schema again (prompt and repair then do the work)."""


class ToolRefused(RunError):
    """A tool call the workspace does not allow (e.g. a path outside it)."""


class CheckpointFailed(RunError):
    """The iteration's work could not be committed, even after one repair and retry.

    ``path`` is the worktree that keeps the uncommitted work; ``cause`` git's reason."""

    def __init__(self, message: str, path: str, cause: str) -> None:
        super().__init__(message)
        self.path = path
        self.cause = cause


class HostError(RunError):
    """A rented host's lifecycle failed. ``status``: the Vast.ai HTTP status, if any;
    ``instance_id``: the instance concerned, if one was created."""

    def __init__(
        self, message: str, *, status: int | None = None, instance_id: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.instance_id = instance_id


class WorkAtRisk(RunError):
    """A destructive git operation was refused because it would lose work."""


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The exception of a group that a caller should see: a ``BudgetExceeded`` first,
    then any other ``LoopwrightError``, then any ``Exception``, then the first of all."""
    leaves = _leaves(group)
    for kind in (BudgetExceeded, LoopwrightError, Exception):
        for exc in leaves:
            if isinstance(exc, kind):
                return exc
    return leaves[0] if leaves else group


@contextlib.contextmanager
def unwrapped() -> Iterator[None]:
    """Re-raise a task group's ``ExceptionGroup`` as the one exception callers classify."""
    try:
        yield
    except BaseExceptionGroup as group:
        raise first_error(group) from None


class DiskFull(OSError):
    """A write to ``path`` failed for want of space (ENOSPC) or quota (EDQUOT)."""

    def __init__(self, path: str, code: int = errno.ENOSPC) -> None:
        super().__init__(code, os.strerror(code), path)

    def __str__(self) -> str:
        what = "disk quota exceeded" if self.errno == errno.EDQUOT else "no space left on device"
        return f"{what} writing {self.filename}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.filename, self.errno))

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
        └── ProcessError          a subprocess could not be started or misbehaved

Backends never raise for ordinary model failures: they return a failed response. They
raise only ``UserError`` subclasses for caller mistakes.
"""

from __future__ import annotations

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

"""loopwright: coding loops for agents and people.

The Python API runs the same loop as the CLI and the MCP server::

    from loopwright import Harness, Roles, LoopConfig, ScriptedBackend, MemorySink
"""

from __future__ import annotations

__version__ = "0.1.0"

from .adapters.base import AgentRequest, AgentResponse, Backend, Usage
from .adapters.registry import create_backend, list_backends, register_function
from .adapters.scripted import FunctionBackend, ScriptedBackend
from .errors import (
    BudgetExceeded,
    InvalidState,
    LoopwrightError,
    NeedsInput,
    PlanError,
    ProcessError,
    RunError,
    RunNotFound,
    UnknownBackend,
    UserError,
)
from .loop.events import EventSink, MemorySink
from .loop.harness import Harness, Roles
from .loop.types import Budget, LoopConfig, LoopState, RunResult, Subgoal, TaskResult, Verdict

__all__ = [
    "AgentRequest",
    "AgentResponse",
    "Backend",
    "Budget",
    "BudgetExceeded",
    "EventSink",
    "FunctionBackend",
    "Harness",
    "InvalidState",
    "LoopConfig",
    "LoopState",
    "LoopwrightError",
    "MemorySink",
    "NeedsInput",
    "PlanError",
    "ProcessError",
    "Roles",
    "RunError",
    "RunNotFound",
    "RunResult",
    "ScriptedBackend",
    "Subgoal",
    "TaskResult",
    "UnknownBackend",
    "Usage",
    "UserError",
    "Verdict",
    "__version__",
    "create_backend",
    "list_backends",
    "register_function",
]

"""loopwright: coding loops for agents and people.

The Python API runs the same loop as the CLI and the MCP server::

    from . import Harness, Roles, LoopConfig, ScriptedBackend, MemorySink

Names are imported on first use, so ``import loopwright.runs.eventlog`` (a tail reader, a
run-host) does not pay for the whole package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AgentRequest": "backends.base", "AgentResponse": "backends.base", "Backend": "backends.base",
    "Usage": "backends.base", "Capabilities": "backends.base", "ReviewFacts": "backends.base",
    "WorkItem": "backends.base", "create_backend": "backends.registry",
    "list_backends": "backends.registry", "register_function": "backends.registry",
    "FunctionBackend": "backends.scripted", "ScriptedBackend": "backends.scripted",
    "BudgetExceeded": "errors", "DiskFull": "errors", "InvalidState": "errors",
    "LoopwrightError": "errors", "NeedsInput": "errors", "PlanError": "errors",
    "ProcessError": "errors", "RunError": "errors",
    "RunNotFound": "errors", "UnknownBackend": "errors", "UserError": "errors",
    "EventSink": "loop.events", "MemorySink": "loop.events", "Harness": "loop.harness",
    "Roles": "loop.harness", "Budget": "loop.types", "LoopConfig": "loop.types",
    "LoopState": "loop.types", "RunResult": "loop.types", "Subgoal": "loop.types",
    "TaskResult": "loop.types", "Verdict": "loop.types",
    "consult": "loop.patterns", "delegate": "loop.patterns", "debate": "loop.patterns",
    "ConsultResult": "loop.patterns", "DelegateResult": "loop.patterns",
    "DebateResult": "loop.patterns", "Exchange": "loop.patterns",
    "PatternContext": "loop.patterns", "pattern_context": "loop.patterns",
}  # fmt: skip

__all__ = [
    "AgentRequest",
    "AgentResponse",
    "Backend",
    "Budget",
    "BudgetExceeded",
    "Capabilities",
    "ConsultResult",
    "DebateResult",
    "DelegateResult",
    "DiskFull",
    "EventSink",
    "Exchange",
    "FunctionBackend",
    "Harness",
    "InvalidState",
    "LoopConfig",
    "LoopState",
    "LoopwrightError",
    "MemorySink",
    "NeedsInput",
    "PatternContext",
    "PlanError",
    "ProcessError",
    "ReviewFacts",
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
    "WorkItem",
    "__version__",
    "consult",
    "create_backend",
    "debate",
    "delegate",
    "list_backends",
    "pattern_context",
    "register_function",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loopwright' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .backends.base import (
        AgentRequest,
        AgentResponse,
        Backend,
        Capabilities,
        ReviewFacts,
        Usage,
        WorkItem,
    )
    from .backends.registry import create_backend, list_backends, register_function
    from .backends.scripted import FunctionBackend, ScriptedBackend
    from .errors import (
        BudgetExceeded,
        DiskFull,
        InvalidState,
        LoopwrightError,
        NeedsInput,
        PlanError,
        ProcessError,
        RunError,
        RunNotFound,
        UnknownBackend,
        UserError,
    )  # fmt: skip
    from .loop.events import EventSink, MemorySink
    from .loop.harness import Harness, Roles
    from .loop.patterns import (
        ConsultResult,
        DebateResult,
        DelegateResult,
        Exchange,
        PatternContext,
        consult,
        debate,
        delegate,
        pattern_context,
    )
    from .loop.types import Budget, LoopConfig, LoopState, RunResult, Subgoal, TaskResult, Verdict

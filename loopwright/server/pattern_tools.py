"""The tools of the patterns: ``consult``, ``delegate``, ``debate``. Each starts a run
(detached by default, like ``orchestrate``), so ``orchestrate_tail``, ``_status``,
``_result`` and ``_cancel`` work on it unchanged."""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import InputRequiredResult, ToolAnnotations

from ..loop.vocab import PatternName
from ..runs.defaults import pattern_fallback, pattern_sandbox
from ..runs.pattern_request import build_pattern_request
from ..runs.preflight import check_sandbox
from ..runs.preflight import preflight as check_ready
from . import asking, descriptions, runflow
from . import params as P
from .state import check_cwd_absolute, check_cwd_allowed

Ctx = Context[Any, Any]


async def _start(
    ctx: Ctx,
    pattern: PatternName,
    text: str,
    cwd: str | None,
    detach: bool,
    preflight: bool,
    **given: Any,
) -> runflow.Reply:
    """Check cwd against the client's roots, build the request, check it can run (the
    sandbox always, as orchestrate's), start."""
    if cwd:  # before anything looks at the path, as orchestrate does
        check_cwd_absolute(cwd)
        roots = await asking.client_roots(ctx, asking.read_round(ctx))
        if isinstance(roots, InputRequiredResult):
            return roots
        check_cwd_allowed(cwd, roots)
    given["sandbox"] = pattern_sandbox(cwd, given.get("sandbox"))
    given["fallback"] = pattern_fallback(cwd, given.get("fallback"))
    request = build_pattern_request(pattern, text, cwd=cwd, **given)
    if preflight:
        await check_ready(request, "preflight=false", "sandbox='off'")
    else:  # the sandbox is never skipped: a run does not fall back to running unconfined
        await anyio.to_thread.run_sync(check_sandbox, request, "sandbox='off'")
    return await runflow.start(ctx, request, detach)


def _budget(
    max_seconds: float | None, max_cost_usd: float | None, max_agent_calls: int | None
) -> dict[str, Any]:
    return {"max_seconds": max_seconds, "max_cost_usd": max_cost_usd,
            "max_agent_calls": max_agent_calls}  # fmt: skip


async def consult(
    question: P.AskText,
    models: P.Panel,
    ctx: Ctx,
    synthesizer: P.Synthesizer = None,
    cwd: P.PatternCwd = None,
    timeout: P.CallTimeout = None,
    max_seconds: P.MaxSeconds = None,
    max_cost_usd: P.MaxCost = None,
    max_agent_calls: P.MaxAgentCalls = None,
    detach: P.Detach = True,
    preflight: P.Preflight = True,
    sandbox: P.PatternSandbox = None,
    allow_network: P.AllowNetwork = False,
    fallback: P.Fallback = None,
) -> runflow.Reply:
    return await _start(
        ctx, "consult", question, cwd, detach, preflight, models=models, helper=synthesizer,
        timeout=timeout, budget=_budget(max_seconds, max_cost_usd, max_agent_calls),
        sandbox=sandbox, allow_network=allow_network, fallback=fallback,
    )  # fmt: skip


async def delegate(
    backend: P.DelegateTo,
    task: P.TaskText,
    ctx: Ctx,
    reviewer: P.DelegateReviewer = None,
    cwd: P.PatternCwd = None,
    may_edit: P.MayEdit = True,
    isolate: P.Isolate = True,
    timeout: P.CallTimeout = None,
    max_seconds: P.MaxSeconds = None,
    max_cost_usd: P.MaxCost = None,
    max_agent_calls: P.MaxAgentCalls = None,
    detach: P.Detach = True,
    preflight: P.Preflight = True,
    sandbox: P.PatternSandbox = None,
    allow_network: P.AllowNetwork = False,
    fallback: P.Fallback = None,
) -> runflow.Reply:
    return await _start(
        ctx, "delegate", task, cwd, detach, preflight, models=[backend], helper=reviewer,
        isolate=isolate, options={"may_edit": may_edit}, timeout=timeout,
        budget=_budget(max_seconds, max_cost_usd, max_agent_calls),
        sandbox=sandbox, allow_network=allow_network, fallback=fallback,
    )  # fmt: skip


async def debate(
    question: P.AskText,
    models: P.DebatePanel,
    ctx: Ctx,
    rounds: P.Rounds = 2,
    judge: P.Judge = None,
    converge_at: P.ConvergeAt = None,
    cwd: P.PatternCwd = None,
    timeout: P.CallTimeout = None,
    max_seconds: P.MaxSeconds = None,
    max_cost_usd: P.MaxCost = None,
    max_agent_calls: P.MaxAgentCalls = None,
    detach: P.Detach = True,
    preflight: P.Preflight = True,
    sandbox: P.PatternSandbox = None,
    allow_network: P.AllowNetwork = False,
    fallback: P.Fallback = None,
) -> runflow.Reply:
    return await _start(
        ctx, "debate", question, cwd, detach, preflight, models=models, helper=judge,
        options={"rounds": rounds, "converge_at": converge_at}, timeout=timeout,
        budget=_budget(max_seconds, max_cost_usd, max_agent_calls),
        sandbox=sandbox, allow_network=allow_network, fallback=fallback,
    )  # fmt: skip


def _hints(title: str, destructive: bool) -> ToolAnnotations:
    """Models are reached (open world); only delegate changes files (in its worktree)."""
    return ToolAnnotations(title=title, readOnlyHint=False, destructiveHint=destructive,
                           idempotentHint=False, openWorldHint=True)  # fmt: skip


PATTERN_TOOLS: list[tuple[Any, str, ToolAnnotations | None]] = [
    (consult, descriptions.CONSULT, _hints("Ask several models", destructive=False)),
    (delegate, descriptions.DELEGATE, _hints("Delegate a task, then review it", True)),
    (debate, descriptions.DEBATE, _hints("Let models debate", destructive=False)),
]
"""The pattern tools, as ``tools.TOOLS`` lists its own."""

"""Asking the client, by protocol era: its roots, and answers to a run's questions.

On 2026-07-28 a tool cannot send requests mid-call: it returns an ``InputRequiredResult``
and the client retries the same call with ``input_responses`` and our (SDK-sealed)
``request_state``. Older eras get a mid-call ``roots/list`` or ``elicitation/create``.
``orchestrate`` drives both questions in its own body because the SDK allows one
input-required channel per tool: resolvers (``Resolve(ListRoots())``) or the body, not both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
)
from mcp_types.version import is_version_at_least

from ..errors import UserError
from ..loop.types import Question

MODERN = "2026-07-28"
ROOTS, ANSWERS = "roots", "answers"
ASK_TIMEOUT = 600.0
"""Seconds a person gets to answer an elicitation on older eras before we return needs_input."""


@dataclass
class Round:
    """What an earlier round of this call left in ``request_state``."""

    step: str
    run_id: str = ""


def is_modern(ctx: Context[Any, Any]) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, MODERN)


def declares_roots(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    return caps is not None and caps.roots is not None


def can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    el = caps.elicitation if caps is not None else None
    return el is not None and (el.form is not None or el.url is None)


def read_round(ctx: Context[Any, Any]) -> Round | None:
    """Our state from an earlier round (the SDK verified we minted it), or None."""
    raw = ctx.request_state
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Round(step=str(data["lw"]), run_id=str(data.get("run_id", "")))
    except (ValueError, KeyError, TypeError):
        return None


def _state(step: str, run_id: str = "") -> str:
    return json.dumps({"lw": step, "run_id": run_id})


def _paths(result: ListRootsResult) -> list[Path]:
    out = []
    for root in result.roots:
        uri = urlparse(str(root.uri))
        if uri.scheme == "file":
            out.append(Path(unquote(uri.path)).resolve())
    return out


async def client_roots(
    ctx: Context[Any, Any], earlier: Round | None
) -> list[Path] | InputRequiredResult | None:
    """The client's roots as resolved paths; None when it declares none; or a round to ask."""
    if not declares_roots(ctx):
        return None
    if not is_modern(ctx):
        try:
            with anyio.fail_after(30):
                result = await ctx.session.send_request(
                    ListRootsRequest(),
                    ListRootsResult,
                    metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
                )
        except (MCPError, TimeoutError) as exc:
            raise UserError(
                f"cwd: the client declares roots but did not list them: {exc}", "cwd"
            ) from exc
        return _paths(result)
    answer = (ctx.input_responses or {}).get(ROOTS) if earlier and earlier.step == ROOTS else None
    if isinstance(answer, ListRootsResult):
        return _paths(answer)
    return InputRequiredResult(
        input_requests={ROOTS: ListRootsRequest()}, request_state=_state(ROOTS)
    )


def _form(run_id: str, questions: list[Question]) -> ElicitRequestFormParams:
    props = {
        q.id: {
            "type": "string",
            "title": q.text,
            "description": q.text,
            **({"default": q.default} if q.default else {}),
        }
        for q in questions
    }
    return ElicitRequestFormParams(
        message=f"loopwright run {run_id} has {len(questions)} clarifying question(s) before "
        "it plans. Answer them, or cancel to answer later with orchestrate_resume.",
        requested_schema={
            "type": "object",
            "properties": props,
            "required": [q.id for q in questions if not q.default],
        },
    )


def question_round(run_id: str, questions: list[Question]) -> InputRequiredResult:
    """The 2026-07-28 round that asks ``questions``; the retry carries the answers."""
    request = ElicitRequest(params=_form(run_id, questions))
    return InputRequiredResult(
        input_requests={ANSWERS: request}, request_state=_state(ANSWERS, run_id)
    )


def answers_from_round(ctx: Context[Any, Any]) -> dict[str, str] | None:
    """The accepted answers of a question round; None when declined or cancelled."""
    answer = (ctx.input_responses or {}).get(ANSWERS)
    return accepted(answer) if isinstance(answer, ElicitResult) else None


async def elicit_answers(
    ctx: Context[Any, Any], run_id: str, questions: list[Question]
) -> dict[str, str] | None:
    """Ask mid-call (eras before 2026-07-28); None when declined, cancelled or unanswered."""
    with anyio.move_on_after(ASK_TIMEOUT):
        result = await ctx.session.send_request(
            ElicitRequest(params=_form(run_id, questions)),
            ElicitResult,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
        return accepted(result)
    return None


def accepted(result: ElicitResult) -> dict[str, str] | None:
    if result.action != "accept" or not result.content:
        return None
    return {str(k): str(v) for k, v in result.content.items() if v is not None}

"""The worker's tool loop: call the model, run the tools it asks for, repeat until it
calls ``finish`` (or answers without tools), a step limit, the token budget or the
call's timeout. Models without tool calling write fenced edit blocks instead: those that
say so (``ToolsUnsupported``) and those whose server drops the tools silently (a first
answer with no tool call and no file changed).

A worker may edit, so an answer that changed nothing and called no tool is not done:
it is a server without tools, or a reply with no edit in it."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ...errors import ToolsUnsupported
from ...process.runner import ProcessRunner
from .chat import Chat, Message, Meter, ToolCall, call_turn
from .tools import TOOL_SPECS, ToolResult, Workspace

LOG_CHARS = 2_000
PROMPT_FILES_CHARS = 40_000
BLOCK_ROUNDS = 2

TOOL_SYSTEM = """

You work through tools. Paths are relative to the working directory. Look before you
change (list_files, read_file, search), change files with edit_file or write_file, check
your work with run_command (e.g. the tests), then call finish with a short summary."""

BLOCK_SYSTEM = """

You cannot call tools. Change files by writing edit blocks in your reply, each one:

path/to/file.py
<<<<<<< SEARCH
exact text now in the file (leave empty to create or overwrite the whole file)
=======
the new text
>>>>>>> REPLACE

The search text must occur exactly once in the file. End with a one-line summary."""

BLOCK = re.compile(
    r"^[`\s]*(?P<path>[^\n`<>=]+?)[ \t]*\n(?:```[^\n]*\n)?<<<<<<< SEARCH[ \t]*\n"
    r"(?P<search>.*?)^=======[ \t]*\n(?P<replace>.*?)^>>>>>>> REPLACE[ \t]*$",
    re.S | re.M,
)

Outcome = tuple[str, bool, str | None]


async def run_tool_loop(chat: Chat, meter: Meter, steps: int, runner: ProcessRunner) -> Outcome:
    """Work on ``meter.request`` in its cwd, ``run_command`` started by ``runner``;
    returns (summary, ok, error)."""
    request = meter.request
    ws = Workspace(request.cwd, deadline=time.monotonic() + request.timeout, runner=runner)
    if chat.supports_tools:
        try:
            return await _native(chat, meter, ws, steps)
        except ToolsUnsupported as exc:
            chat.supports_tools = False
            if request.emit is not None:
                request.emit("warning", {"message": f"{exc}; falling back to edit blocks"})
    return await _blocks(chat, meter, ws)


def _log(meter: Meter, call: ToolCall, result: ToolResult) -> None:
    args = {k: v if not isinstance(v, str) or len(v) < 200 else v[:200] + "…"
            for k, v in call.arguments.items()}  # fmt: skip
    head = f"\n[tool] {call.name} {json.dumps(args)}"
    if meter.request.output is not None:
        meter.request.output.write(f"{head}\n{result.text[:LOG_CHARS]}\n")
    if meter.request.emit is not None:
        meter.request.emit(
            "worker_output", {"tool": call.name, "args": args, "error": result.error}
        )


def _budget_out(meter: Meter) -> str | None:
    """Why the loop must stop for the run's budget, or None while it may go on."""
    tokens, cost = meter.left_tokens(), meter.left_cost()
    if tokens is not None and tokens <= 0:
        return "token budget ran out during the tool loop"
    if cost is not None and cost <= 0:
        return "cost budget ran out during the tool loop"
    return None


async def _native(chat: Chat, meter: Meter, ws: Workspace, steps: int) -> Outcome:
    request = meter.request
    system = request.system + TOOL_SYSTEM
    messages = [Message("user", request.prompt)]
    texts: list[str] = []
    for step in range(steps):
        if (out := _budget_out(meter)) is not None:
            return _summary(texts, ws), False, out
        turn = await call_turn(chat, meter, system, messages, TOOL_SPECS)
        messages.append(Message("assistant", turn.text, turn.tool_calls))
        if turn.text.strip():
            texts.append(turn.text.strip())
        if not turn.tool_calls:
            if step == 0 and not ws.changed:  # llama.cpp without a tool-capable template
                raise ToolsUnsupported(
                    f"{chat.provider}:{chat.model} answered without calling a tool and "
                    "changed nothing (a server that drops tools?)"
                )
            return _summary(texts, ws), True, None
        finish = None
        for call in turn.tool_calls:
            if call.name == "finish":
                finish = call
                continue
            result = await ws.execute(call)
            _log(meter, call, result)
            messages.append(
                Message(
                    "tool",
                    result.text,
                    tool_call_id=call.id,
                    tool_name=call.name,
                    is_error=result.error,
                )
            )
        if finish is not None:
            summary = str(finish.arguments.get("summary") or "").strip()
            return summary or _summary(texts, ws), True, None
    return _summary(texts, ws), False, f"stopped after {steps} tool steps without finish"


def _summary(texts: list[str], ws: Workspace) -> str:
    changed = f"\nChanged: {', '.join(sorted(ws.changed))}" if ws.changed else ""
    return (texts[-1] if texts else "(no summary)") + changed


async def _blocks(chat: Chat, meter: Meter, ws: Workspace) -> Outcome:
    request = meter.request
    system = request.system + BLOCK_SYSTEM
    messages = [Message("user", request.prompt + _context(ws, request.prompt))]
    problems: list[str] = []
    for _ in range(BLOCK_ROUNDS):
        turn = await call_turn(chat, meter, system, messages, [])
        problems = await apply_blocks(ws, turn.text)
        if not problems:
            return _summary([turn.text.strip()], ws), True, None
        messages += [
            Message("assistant", turn.text),
            Message("user", "These edit blocks failed:\n" + "\n".join(problems)),
        ]
    return _summary([], ws), False, "edit blocks failed: " + "; ".join(problems)[:LOG_CHARS]


def _context(ws: Workspace, prompt: str) -> str:
    """The file list, and the files the prompt names (the model cannot read them itself)."""
    files = [ws.rel(p) for p in ws._walk(ws.root)][:300]
    parts, size = [f"\n\nFiles:\n{chr(10).join(files)}"], 0
    for name in files:
        if Path(name).name in prompt and size < PROMPT_FILES_CHARS:
            body = (ws.root / name).read_text(encoding="utf-8", errors="replace")
            parts.append(f"\n\n{name}:\n```\n{body[: PROMPT_FILES_CHARS - size]}\n```")
            size += len(body)
    return "".join(parts)


async def apply_blocks(ws: Workspace, text: str) -> list[str]:
    """Apply every SEARCH/REPLACE block in ``text``; the problems, empty when all applied."""
    problems: list[str] = []
    blocks = list(BLOCK.finditer(text))
    if not blocks and "<<<<<<< SEARCH" not in text and not ws.changed:
        return ["the reply has no edit block and no file was changed; write edit blocks"]
    for m in blocks:
        path, search, replace = m["path"].strip(), m["search"], m["replace"]
        if search.strip():
            args = {"path": path, "search": search, "replace": replace}
            result = await ws.execute(ToolCall("block", "edit_file", args))
        else:
            args = {"path": path, "content": replace}
            result = await ws.execute(ToolCall("block", "write_file", args))
        if result.error:
            problems.append(f"{path}: {result.text}")
    if not blocks and "<<<<<<< SEARCH" in text:
        problems.append("an edit block is malformed: path line, SEARCH, =======, REPLACE")
    return problems

"""Readers for coding-agent CLI output: each line in, events out, an honest outcome at the end.

One reader per format: Claude Code ``stream-json``, Codex ``exec --json`` JSONL, opencode
``run --format json`` events, Gemini CLI ``stream-json`` and plain text (aider, custom CLIs).
A reader never trusts the exit code alone: Claude Code exits 0 after denied tools, aider
exits 0 after an API error, Gemini CLI's exit code is the HTTP status & 255.

Readers keep bounded state (a capped final answer, a short tail of stray lines), so a
worker that prints a gigabyte costs no memory.
"""

from __future__ import annotations

import time
from typing import Any

from ..usage_limits import claude_limit, codex_limit, gemini_limit
from .common import MAX_EVENTS as MAX_EVENTS
from .common import MAX_TEXT, Outcome, Reporter, StreamReader, as_int, short
from .text_streams import AiderReader, TextReader

# --- Claude Code stream-json -----------------------------------------------------------
_CLAUDE_EDIT_TOOLS = {"Write", "Edit", "MultiEdit", "NotebookEdit"}


class ClaudeReader(StreamReader):
    name = "claude"

    def __init__(self, report: Reporter) -> None:
        super().__init__(report)
        self.result: dict[str, Any] | None = None
        self.model: str | None = None
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.rejected_until: float | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.model = event.get("model")
        elif kind == "rate_limit_event":  # "rejected": the plan's limit is spent until resetsAt
            info = event.get("rate_limit_info") or {}
            if info.get("status") == "rejected" and isinstance(info.get("resetsAt"), int | float):
                self.rejected_until = float(info["resetsAt"])
        elif kind == "system" and event.get("subtype") == "permission_denied":
            self.report("denied", f"{event.get('tool_name')}: {event.get('message', '')}")
        elif kind == "assistant":
            for block in (event.get("message") or {}).get("content") or []:
                self._assistant_block(block)
        elif kind == "user":
            for block in (event.get("message") or {}).get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    self._tool_result(block)
        elif kind == "result":
            self.result = event

    def _assistant_block(self, block: Any) -> None:
        if not isinstance(block, dict):
            return
        if block.get("type") == "text" and block.get("text"):
            self.report("message", block["text"])
        elif block.get("type") == "tool_use":
            name, args = str(block.get("name")), block.get("input") or {}
            self.pending[str(block.get("id"))] = (name, args)
            if name == "Bash":
                self.report("command", str(args.get("command", "")), tool=name)
            else:
                self.report("tool_use", f"{name} {short(args)}", tool=name)

    def _tool_result(self, block: dict[str, Any]) -> None:
        name, args = self.pending.pop(str(block.get("tool_use_id")), ("", {}))
        if name in _CLAUDE_EDIT_TOOLS and not block.get("is_error"):
            path = args.get("file_path") or args.get("notebook_path")
            if path:
                self.edited(str(path), "write" if name == "Write" else "edit")

    def finish(self, exit_code: int | None) -> Outcome:
        r = self.result
        if r is None:
            if "root/sudo" in self.stray():
                return Outcome(False, "", _CLAUDE_ROOT.format(said=self.stray()))
            return Outcome(False, "", self.crashed(exit_code, "a result") + _CLAUDE_HINT)
        usage = r.get("usage") or {}
        text = str(r.get("result") or "")
        out = Outcome(
            ok=True,
            text=text[:MAX_TEXT],
            input_tokens=as_int(usage.get("input_tokens"))
            + as_int(usage.get("cache_creation_input_tokens"))
            + as_int(usage.get("cache_read_input_tokens")),
            output_tokens=as_int(usage.get("output_tokens")),
            cost_usd=float(r["total_cost_usd"]) if "total_cost_usd" in r else None,
            model=self.model,
            turns=r.get("num_turns"),
            edits=self.edits,
        )
        denials = r.get("permission_denials") or []
        if r.get("is_error") or exit_code not in (0, None):
            out.ok, out.error = False, _claude_error(r, text, exit_code)
            out.usage_limit = claude_limit(text, self.rejected_until, time.time())
        elif denials and self.denials_fail:
            names = ", ".join(
                f"{d.get('tool_name')}({short(d.get('tool_input'), 80)})" for d in denials[:5]
            )
            out.ok = False
            out.error = (
                f"claude was denied {len(denials)} tool call(s): {names}. The safe default "
                "allows file edits in the worktree only; allow more with the spec option "
                "skip_permissions=true (e.g. claude_code:sonnet?skip_permissions=true)"
            )
        return out


_CLAUDE_ROOT = (
    "Claude Code refused to run: {said}. skip_permissions runs it with "
    "--dangerously-skip-permissions, which it refuses as root unless IS_SANDBOX=1 is in the "
    "environment (set it only inside a sandbox), or drop skip_permissions"
)
_CLAUDE_HINT = " (is Claude Code installed and working? try `claude -p hi` in a terminal)"


def _claude_error(r: dict[str, Any], text: str, exit_code: int | None) -> str:
    low = text.lower()
    status = r.get("api_error_status")
    if "not logged in" in low:
        return (
            f"Claude Code is not logged in ({text}): run `claude` once and /login, or give "
            "loopwright's environment ANTHROPIC_API_KEY"
        )
    if status == 401 or "invalid api key" in low:
        return (
            f"Claude Code's API key was rejected (401: {text}): check ANTHROPIC_API_KEY and "
            "ANTHROPIC_BASE_URL, or run `claude` and /login"
        )
    where = f" (HTTP {status})" if status else ""
    reason = r.get("terminal_reason") or r.get("subtype")
    return f"Claude Code failed{where}, exit {exit_code}, {reason}: {text or 'no message'}"


# --- Codex exec --json -------------------------------------------------------------------
class CodexReader(StreamReader):
    name = "codex"

    def __init__(self, report: Reporter) -> None:
        super().__init__(report)
        self.completed = False
        self.failure: str | None = None
        self.last_error: str | None = None
        self.inp = self.outp = 0

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "item.completed":
            self._item(event.get("item") or {})
        elif kind == "item.started":
            item = event.get("item") or {}
            if item.get("type") == "command_execution":
                self.report("command", str(item.get("command", "")))
        elif kind == "turn.completed":
            self.completed = True
            usage = event.get("usage") or {}
            self.inp += as_int(usage.get("input_tokens"))
            self.outp += as_int(usage.get("output_tokens"))
        elif kind == "turn.failed":
            self.failure = str((event.get("error") or {}).get("message") or "turn failed")
        elif kind == "error":  # "Reconnecting... 2/5" and the like: the turn may still end well
            self.last_error = str(event.get("message") or "error")
            self.report("warning", self.last_error)

    def _item(self, item: dict[str, Any]) -> None:
        kind = item.get("type")
        if kind == "agent_message":
            self.answer.reset()
            self.answer.add(str(item.get("text") or ""))
            self.report("message", str(item.get("text") or ""))
        elif kind == "file_change":
            for change in item.get("changes") or []:
                self.edited(str(change.get("path")), str(change.get("kind", "edit")))
        elif kind == "command_execution":
            self.report(
                "command_done",
                f"{item.get('command', '')} -> exit {item.get('exit_code')}",
                exit_code=item.get("exit_code"),
            )
        elif kind == "mcp_tool_call":
            self.report(
                "tool_use", f"{item.get('server')}.{item.get('tool')}", tool=item.get("tool")
            )
        elif kind == "error":  # Codex reports warnings as error items; the turn goes on
            self.report("warning", str(item.get("message", "")))

    def finish(self, exit_code: int | None) -> Outcome:
        cost = None if self.inp or self.outp else 0.0
        out = Outcome(True, self.answer.text(), None, self.inp, self.outp, cost, edits=self.edits)
        if self.failure or not self.completed or exit_code not in (0, None):
            out.ok = False
            if self.failure or self.last_error:
                message = str(self.failure or self.last_error)
                out.error = _codex_error(message)
                out.usage_limit = codex_limit(message, time.time())
            else:
                out.error = self.crashed(exit_code, "completing its turn")
        return out


def _codex_error(message: str) -> str:
    if "401" in message or "unauthorized" in message.lower():
        return (
            f"Codex's API key was rejected ({message}): run `codex login`, or set the key "
            "its provider reads (OPENAI_API_KEY, or the env_key of your provider in "
            "~/.codex/config.toml)"
        )
    return f"Codex failed: {message}"


# --- opencode run --format json ----------------------------------------------------------
class OpencodeReader(StreamReader):
    name = "opencode"

    def __init__(self, report: Reporter) -> None:
        super().__init__(report)
        self.steps = 0
        self.failure: str | None = None
        self.status: int | None = None
        self.inp = self.outp = 0
        self.cost = 0.0

    def on_event(self, event: dict[str, Any]) -> None:
        kind, part = event.get("type"), event.get("part") or {}
        if kind == "step_start":
            self.answer.reset()
        elif kind == "text":
            self.answer.add(str(part.get("text") or ""))
            self.report("message", str(part.get("text") or ""))
        elif kind == "tool_use":
            self._tool(part)
        elif kind == "step_finish":
            self.steps += 1
            tokens = part.get("tokens") or {}
            cache = tokens.get("cache") or {}
            self.inp += (
                as_int(tokens.get("input")) + as_int(cache.get("read")) + as_int(cache.get("write"))
            )
            self.outp += as_int(tokens.get("output")) + as_int(tokens.get("reasoning"))
            self.cost += float(part.get("cost") or 0.0)
        elif kind == "error":
            err = event.get("error") or {}
            data = err.get("data") or {}
            self.status = data.get("statusCode")
            self.failure = str(data.get("message") or err.get("name") or "error")

    def _tool(self, part: dict[str, Any]) -> None:
        tool, state = str(part.get("tool")), part.get("state") or {}
        args = state.get("input") or {}
        if tool == "bash":
            self.report("command", str(args.get("command", "")), tool=tool)
        else:
            self.report("tool_use", f"{tool} {short(args)}", tool=tool)
        if tool in ("write", "edit", "patch", "multiedit") and state.get("status") == "completed":
            path = args.get("filePath") or (state.get("metadata") or {}).get("filepath")
            if path:
                self.edited(str(path), tool)

    def finish(self, exit_code: int | None) -> Outcome:
        tokens = self.inp + self.outp
        cost = self.cost if self.cost > 0 or not tokens else None  # 0 with tokens: no price
        out = Outcome(True, self.answer.text(), None, self.inp, self.outp, cost, edits=self.edits)
        if self.failure:
            out.ok, out.error = False, _opencode_error(self.failure, self.status)
        elif exit_code not in (0, None) or not self.steps:
            out.ok, out.error = False, self.crashed(exit_code, "finishing a step")
        return out


def _opencode_error(message: str, status: int | None) -> str:
    if status in (401, 403):
        return (
            f"opencode's provider rejected the key ({status}: {message}): run `opencode auth "
            "login`, or fix the provider's apiKey in OPENCODE_CONFIG"
        )
    where = f" (HTTP {status})" if status else ""
    return f"opencode failed{where}: {message}"


# --- Gemini CLI stream-json --------------------------------------------------------------
class GeminiReader(StreamReader):
    name = "gemini"

    def __init__(self, report: Reporter) -> None:
        super().__init__(report)
        self.result: dict[str, Any] | None = None
        self.model: str | None = None
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.delta = False

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.model = event.get("model")
        elif kind == "message" and event.get("role") == "assistant":
            if not self.delta:
                self.answer.reset()
            self.delta = bool(event.get("delta"))
            self.answer.add(str(event.get("content") or ""))
            self.report("message", str(event.get("content") or ""))
        elif kind == "tool_use":
            self.delta = False
            name, args = str(event.get("tool_name")), event.get("parameters") or {}
            self.pending[str(event.get("tool_id"))] = (name, args)
            if name == "run_shell_command":
                self.report("command", str(args.get("command", "")), tool=name)
            else:
                self.report("tool_use", f"{name} {short(args)}", tool=name)
        elif kind == "tool_result":
            name, args = self.pending.pop(str(event.get("tool_id")), ("", {}))
            ok = event.get("status") == "success"
            if ok and name in ("write_file", "replace") and args.get("file_path"):
                self.edited(str(args["file_path"]), name)
        elif kind == "result":
            self.result = event

    def finish(self, exit_code: int | None) -> Outcome:
        r = self.result
        if r is None:
            out = Outcome(False, "", self.crashed(exit_code, "a result") + _gemini_exit(exit_code))
            out.usage_limit = gemini_limit(self.stray(), time.time())
            return out
        stats = r.get("stats") or {}
        inp, outp = as_int(stats.get("input_tokens")), as_int(stats.get("output_tokens"))
        out = Outcome(True, self.answer.text(), None, inp, outp, None if inp + outp else 0.0)
        out.model, out.edits = self.model, self.edits
        if r.get("status") != "success" or exit_code not in (0, None):
            message = str((r.get("error") or {}).get("message") or r.get("status"))
            out.ok, out.error = False, _gemini_error(message, exit_code)
            out.usage_limit = gemini_limit(f"{message} {self.stray()}", time.time())
        return out


def _gemini_exit(exit_code: int | None) -> str:
    if exit_code == 41:
        return "; exit 41 is Gemini CLI's auth error: set GEMINI_API_KEY or run `gemini` to log in"
    if exit_code == 55:
        return "; exit 55: the folder is not trusted (GEMINI_CLI_TRUST_WORKSPACE=true)"
    return ""


def _gemini_error(message: str, exit_code: int | None) -> str:
    if exit_code == 145 or "401" in message or "API key not valid" in message:
        return (
            f"Gemini CLI's key was rejected ({message}): set GEMINI_API_KEY (and in "
            "~/.gemini/settings.json security.auth.selectedType 'gemini-api-key'), or run "
            "`gemini` to log in"
        )
    return f"Gemini CLI failed (exit {exit_code}): {message}"


READERS: dict[str, type[StreamReader]] = {
    "claude": ClaudeReader,
    "codex": CodexReader,
    "opencode": OpencodeReader,
    "gemini": GeminiReader,
    "aider": AiderReader,
    "text": TextReader,
}

"""Anthropic Messages through the ``anthropic`` SDK (2.x): streaming, system prompt with
prompt caching, tools, usage with cache tokens, the SDK's errors mapped to ours.

Spec ``anthropic:MODEL``; needs ``ANTHROPIC_API_KEY`` (``ANTHROPIC_BASE_URL`` optional).
Retries are ours (``RetryPolicy``, honouring Retry-After), so the SDK's are off.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from typing import TYPE_CHECKING, Any

from ...errors import ProviderError, SchemaUnsupported, UserError
from ...process.runner import ProcessRunner
from ..base import Backend, Emit, JsonSchema, Usage
from ..settings import load_file, tool_steps
from ..spec import BackendInfo, Spec
from ..usage_limits import spend_limit, spend_note
from .backend import API, ChatBackend
from .chat import (
    CONNECT_TIMEOUT,
    Message,
    OnText,
    RetryPolicy,
    ToolCall,
    ToolSpec,
    Turn,
    schema_name,
)
from .http import on_this_machine, retry_after, schema_refused
from .limits import output_caps
from .prices import price

if TYPE_CHECKING:
    import anthropic as sdk

KEY = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TOKENS = 8_192
RETRYABLE_TYPES = {"overloaded_error", "api_error", "rate_limit_error"}


def wire_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral messages as Anthropic turns: tool results go back in one user turn."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id,
                     "content": m.text, "is_error": m.is_error}  # fmt: skip
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.text}] if m.text else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in m.tool_calls]  # fmt: skip
            out.append({"role": "assistant", "content": blocks or [{"type": "text", "text": "."}]})
        else:
            out.append({"role": "user", "content": m.text})
    return out


def cache_last(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the newest turn as a cache breakpoint, so each tool-loop step reads the
    conversation so far from the prompt cache (system, tools and this: 3 of the 4 allowed)."""
    if not messages:
        return messages
    last = messages[-1]
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    if blocks:
        blocks[-1] = {**blocks[-1], "cache_control": {"type": "ephemeral"}}
    return [*messages[:-1], {**last, "content": blocks}]


def wire_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]
    if out:  # the tool list rarely changes: cache it with the system prompt
        out[-1]["cache_control"] = {"type": "ephemeral"}
    return out


def answer_tool(schema: JsonSchema) -> dict[str, Any]:
    """Structured output the Messages API way: one tool whose input is the answer, forced
    with ``tool_choice``."""
    return {
        "name": schema_name(schema),
        "description": "Give your answer: its input is the whole reply.",
        "input_schema": schema,
    }


def _sdk() -> Any:
    try:
        import anthropic
    except ImportError as exc:  # pragma: no cover - a dependency, but say what to do
        raise UserError(
            "the anthropic package is missing: pip install anthropic", "backend"
        ) from exc
    return anthropic


def map_error(exc: Exception) -> ProviderError:
    """An SDK exception as a ``ProviderError`` that says how to fix it."""
    a = _sdk()
    if isinstance(exc, a.APITimeoutError):
        return ProviderError("Anthropic API timed out", retryable=True)
    if isinstance(exc, a.APIConnectionError):
        return ProviderError(f"Anthropic API not reachable: {exc}", retryable=True)
    if not isinstance(exc, a.APIStatusError):
        return ProviderError(f"Anthropic: {type(exc).__name__}: {exc}")
    status, message = exc.status_code, _message(exc)
    kind = _error_type(exc)
    if isinstance(exc, a.AuthenticationError):
        return ProviderError(f"Anthropic rejected the API key (401): {message}; check {KEY}")
    if isinstance(exc, a.PermissionDeniedError):
        return ProviderError(f"Anthropic refused access (403): {message}; check {KEY}")
    if isinstance(exc, a.NotFoundError):
        return ProviderError(
            f"Anthropic: not found (404): {message}; list models with "
            "`loopwright models anthropic`",
            status=404,
        )
    if spend_limit(message):
        note = spend_note(message)
        return ProviderError(f"Anthropic usage limit ({status}): {message}; {note}", status=status)
    retryable = status in (408, 409, 429) or status >= 500 or kind in RETRYABLE_TYPES
    label = "rate limit" if status == 429 else "overloaded" if kind == "overloaded_error" else ""
    return ProviderError(
        f"Anthropic {label or 'error'} ({status}{', ' + kind if kind else ''}): {message}",
        retryable=retryable,
        retry_after=retry_after(exc.response.headers) if retryable else None,
        status=status,
    )


def _refuses_tool_choice(exc: Exception) -> bool:
    """A 400 naming tools: an Anthropic-compatible server without forced tools."""
    if not isinstance(exc, _sdk().APIStatusError):
        return False
    return schema_refused(exc.status_code, _message(exc), ("tool_choice", "tool"))


def _error_type(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body)
    return str(err.get("type", "")) if isinstance(err, dict) else ""


def _message(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body)
    text = err.get("message") if isinstance(err, dict) else None
    return str(text or exc.message)[:300]


def _open_stream(messages: Any, kwargs: dict[str, Any]) -> tuple[Any, list[str]]:
    """``messages.stream(**kwargs)`` and the SDK's deprecation notice for the model, if any.

    The SDK warns synchronously while building the stream (no await in between), so
    catching the warning here touches no other task's warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        manager = messages.stream(**kwargs)
    notes = [
        " ".join(str(w.message).split())[:300]
        for w in caught
        if issubclass(w.category, DeprecationWarning) and kwargs["model"] in str(w.message)
    ]
    return manager, notes


class AnthropicChat:
    provider = "anthropic"

    def __init__(
        self,
        client: sdk.AsyncAnthropic,
        model: str,
        retry: RetryPolicy | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.client = client
        self.model = model
        self.retry = retry or RetryPolicy()
        self.max_tokens = max_tokens
        self.output_cap: int | None = None
        self.supports_tools = True
        self.notes: list[str] = []

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: OnText,
        schema: JsonSchema | None = None,
    ) -> Turn:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": min(self.max_tokens, self.output_cap or self.max_tokens),
            "messages": cache_last(wire_messages(messages)),
        }
        if system:
            kwargs["system"] = [
                {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
            ]
        if tools:
            kwargs["tools"] = wire_tools(tools)
        answer = None if schema is None else answer_tool(schema)
        if answer is not None:
            kwargs["tools"] = [*kwargs.get("tools", []), answer]
            kwargs["tool_choice"] = {"type": "tool", "name": answer["name"]}
        a = _sdk()
        try:
            manager, deprecated = _open_stream(self.client.messages, kwargs)
            self.notes.extend(n for n in deprecated if n not in self.notes)
            async with manager as stream:
                async for event in stream:
                    if event.type == "text":
                        on_text(event.text)
                final = await stream.get_final_message()
        except a.AnthropicError as exc:
            if answer is not None and _refuses_tool_choice(exc):
                raise SchemaUnsupported(f"no forced tool here: {map_error(exc)}") from exc
            raise map_error(exc) from exc
        return self._turn(final, answer["name"] if answer else None)

    def _turn(self, final: Any, answer: str | None = None) -> Turn:
        text = "".join(b.text for b in final.content if b.type == "text")
        calls = [
            ToolCall(b.id, b.name, b.input if isinstance(b.input, dict) else {})
            for b in final.content
            if b.type == "tool_use"
        ]
        given = next((c for c in calls if c.name == answer), None)
        if given is not None:  # the forced tool's input is the structured answer
            text, calls = json.dumps(given.arguments), []
        u = final.usage
        write = int(getattr(u, "cache_creation_input_tokens", 0) or 0)
        read = int(getattr(u, "cache_read_input_tokens", 0) or 0)
        total_in = int(u.input_tokens) + write + read
        cost = price("anthropic", self.model, total_in, int(u.output_tokens), read, write)
        extra = {"cache_read_tokens": read, "cache_write_tokens": write}
        usage = Usage(total_in, int(u.output_tokens), cost)
        notes, self.notes = self.notes, []
        return Turn(text, calls, usage, final.stop_reason or "", extra, notes)


def _settings() -> dict[str, Any]:
    table = load_file().get("anthropic", {})
    return table if isinstance(table, dict) else {}


def http_client(timeout: float) -> Any:
    """The SDK's own HTTP client type (anthropic 2.x is built on ``httpx2``)."""
    import httpx2

    return httpx2.AsyncClient(timeout=httpx2.Timeout(timeout, connect=CONNECT_TIMEOUT))


def _base_url() -> str | None:
    base = os.environ.get("ANTHROPIC_BASE_URL") or _settings().get("base_url") or None
    return None if base is None else str(base)


def make_client(http: Any) -> sdk.AsyncAnthropic:
    client: sdk.AsyncAnthropic = _sdk().AsyncAnthropic(
        api_key=os.environ.get(KEY), base_url=_base_url(), http_client=http, max_retries=0
    )
    return client


def check(spec: Spec, field: str) -> str:
    if not spec.model:
        raise UserError(f"{field}: name a model, e.g. anthropic:claude-sonnet-4-6", field)
    if spec.host:
        raise UserError(f"{field}: anthropic takes no @host (use ANTHROPIC_BASE_URL)", field)
    if not os.environ.get(KEY):
        raise UserError(f"{field}: {KEY} is not set (needed for {spec})", field)
    return str(spec)


def create(spec: Spec, client: Any = None, *, runner: ProcessRunner | None = None) -> Backend:
    check(spec, "backend")
    max_tokens = int(_settings().get("max_tokens", DEFAULT_MAX_TOKENS))

    def make(http: Any, _emit: Emit | None) -> AnthropicChat:
        return AnthropicChat(make_client(http), spec.model, max_tokens=max_tokens)

    base = _base_url()
    caps = dataclasses.replace(API, local=base is not None and on_this_machine(base))
    return ChatBackend(
        str(spec), make, client, steps=tool_steps(), new_client=http_client, runner=runner,
        capabilities=caps, output_caps=output_caps(),
    )  # fmt: skip


def infos() -> list[BackendInfo]:
    ok = bool(os.environ.get(KEY))
    return [
        BackendInfo(
            "anthropic",
            "api",
            ok,
            reason="" if ok else f"{KEY} not set",
            fix="" if ok else f"export {KEY}=...",
            spec_example="anthropic:claude-sonnet-4-6",
        )
    ]

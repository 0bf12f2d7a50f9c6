"""OpenAI-compatible chat completions over httpx: OpenAI, OpenRouter, vLLM, llama.cpp's
server, LM Studio. Streaming SSE, tool calls, usage (OpenRouter's reported cost too).

Specs: ``openai:MODEL`` (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``), ``openrouter:MODEL``
(``OPENROUTER_API_KEY``), ``openai:MODEL@NAME`` for an endpoint in ``loopwright.toml``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from ...errors import ProviderError, SchemaUnsupported, ToolsUnsupported, UserError
from ...hosts.named import BUILT_IN_ENDPOINTS, POOL, Host
from ...hosts.pool import pool_hosts
from ...process.runner import ProcessRunner
from ..base import Backend, Emit, JsonSchema, Usage
from ..hold import hold
from ..settings import (
    OPENAI_URL,
    OPENROUTER_URL,
    Endpoint,
    as_endpoint,
    config_path,
    endpoints,
    tool_steps,
)
from ..spec import BackendInfo, Spec
from ..usage_limits import spend_limit, spend_note
from .backend import API, ChatBackend
from .chat import (
    Message,
    OnText,
    RetryPolicy,
    ToolCall,
    ToolSpec,
    Turn,
    schema_name,
)
from .http import on_this_machine, schema_refused, sse_data, status_error, transport_error
from .limits import output_caps
from .pooled import HostFailover
from .prices import price

SCHEMA_WORDS = ("response_format", "json_schema", "schema")
"""An error naming one of these, in answer to a request with a schema, refuses the schema."""
TOOLS_REFUSED = re.compile(
    r"tools? param\w* requires|--jinja|does not support tools|tools? (?:are|is) not supported"
    r"|(?:tool|function) call\w* (?:is |are )?not supported|unsupported parameter:? '?tools",
    re.IGNORECASE,
)
"""How servers say they take no tools: llama.cpp's ``tools param requires --jinja flag``
(HTTP 500), vLLM's and Ollama's wordings (400). Recognised whatever the status."""
CHARS_PER_TOKEN = 4


def wire_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text})
        elif m.role == "assistant" and m.tool_calls:
            calls = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in m.tool_calls
            ]  # fmt: skip
            out.append({"role": "assistant", "content": m.text or None, "tool_calls": calls})
        else:
            out.append({"role": m.role, "content": m.text})
    return out


def wire_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {"type": "function",
         "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]  # fmt: skip


def parse_arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"_unparsed": raw[:200]}
    return value if isinstance(value, dict) else {"_unparsed": raw[:200]}


@dataclass
class _Stream:
    """Accumulates the chunks of one streamed completion."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    """llama.cpp's measured speeds (``prompt_per_second``, ``predicted_per_second``...)."""
    stop: str = ""

    def add(self, chunk: dict[str, Any], on_text: OnText) -> None:
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            self.timings = chunk["timings"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
                on_text(delta["content"])
            for tc in delta.get("tool_calls") or []:
                empty = {"id": "", "name": "", "args": ""}
                slot = self.calls.setdefault(int(tc.get("index", 0)), empty)
                fn = tc.get("function") or {}
                slot["id"] = tc.get("id") or slot["id"]
                slot["name"] += fn.get("name") or ""
                slot["args"] += fn.get("arguments") or ""
            self.stop = choice.get("finish_reason") or self.stop

    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(c["id"] or f"call_{n}", c["name"], parse_arguments(c["args"]))
            for n, c in sorted(self.calls.items())
        ]


class OpenAIChat:
    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoint: Endpoint,
        model: str,
        provider: str = "openai",
        retry: RetryPolicy | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.client = client
        self.endpoint = endpoint
        self.model = model
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.output_cap = max_tokens
        self.supports_tools = True

    def _body(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        schema: JsonSchema | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": wire_messages(system, messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = wire_tools(tools)
        if schema is not None:
            body["response_format"] = response_format(schema)
        if self.output_cap:
            # OpenAI's own API wants max_completion_tokens (its reasoning models refuse
            # max_tokens); llama.cpp, vLLM, OpenRouter and the rest take max_tokens
            official = self.endpoint.base_url == OPENAI_URL
            body["max_completion_tokens" if official else "max_tokens"] = self.output_cap
        if self.endpoint.name == "openrouter":
            body["usage"] = {"include": True}
        return body

    def _headers(self) -> dict[str, str]:
        key = self.endpoint.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: OnText,
        schema: JsonSchema | None = None,
    ) -> Turn:
        url = f"{self.endpoint.base_url}/chat/completions"
        body = self._body(system, messages, tools, schema)
        state = _Stream()
        try:
            headers = {**self._headers(), "content-type": "application/json"}
            async with self.client.stream(
                "POST", url, content=orjson.dumps(body), headers=headers
            ) as r:
                if r.status_code >= 400:
                    raise self._status(r.status_code, await r.aread(), r.headers, body)
                async for _, data in sse_data(r):
                    if data.strip() == "[DONE]":
                        break
                    chunk = orjson.loads(data)
                    if chunk.get("error"):
                        raise self._midstream(chunk["error"])
                    state.add(chunk, on_text)
        except httpx.HTTPError as exc:
            raise transport_error(self.provider, self.endpoint.base_url, exc) from exc
        except ValueError as exc:
            msg = f"{self.provider}: unreadable stream: {exc}"
            raise ProviderError(msg, retryable=True) from exc
        text = "".join(state.text)
        raw = state.usage or estimated_usage(body, text, state.tool_calls())
        usage, extra = self._usage(raw)
        if not state.usage:
            extra["usage_estimated"] = True
        if state.timings:  # llama.cpp: its context size is in /props, asked once
            extra["timings"] = state.timings
            extra["context"] = await llama_context(self.client, self.endpoint.base_url)
        return Turn(text, state.tool_calls(), usage, state.stop, extra)

    def _status(
        self, status: int, body: bytes, headers: httpx.Headers, sent: dict[str, Any]
    ) -> ProviderError:
        err = status_error(self.provider, status, body, headers, self.endpoint.key_env or "the key")
        said = str(err)
        refused = (status == 400 and "tool" in said.lower()) or TOOLS_REFUSED.search(said)
        if "tools" in sent and refused:
            return ToolsUnsupported(f"{self.model} does not take tools here: {err}")
        if "response_format" in sent and schema_refused(status, str(err), SCHEMA_WORDS):
            return SchemaUnsupported(f"no structured output here: {err}", status=status)
        if status == 404:
            return ProviderError(
                f"{err}; list models with `loopwright models {self.provider}`", status=404
            )
        return err

    def _midstream(self, error: Any) -> ProviderError:
        msg = error.get("message", error) if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        if spend_limit(str(error)):
            note = spend_note(str(msg))
            return ProviderError(f"{self.provider} usage limit mid-stream: {msg}; {note}")
        retryable = code in (429, 500, 502, 503, 529) or "overload" in str(msg).lower()
        return ProviderError(f"{self.provider} error mid-stream: {msg}", retryable=retryable)

    def _usage(self, raw: dict[str, Any]) -> tuple[Usage, dict[str, Any]]:
        tin, tout = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
        cached = int((raw.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
        cost: float | None
        if isinstance(raw.get("cost"), int | float):
            cost = float(raw["cost"])  # OpenRouter reports what it charged
        elif self.endpoint.free:
            cost = 0.0
        elif self.endpoint.name in ("openai", "openrouter") and raw:
            cost = price(self.endpoint.name, self.model, tin, tout, cache_read=cached)
        else:
            cost = None
        return Usage(tin, tout, cost), {"cache_read_tokens": cached, "endpoint": self.endpoint.name}


_CONTEXTS: dict[str, int | None] = {}
PROPS_TIMEOUT = 2.0


async def llama_context(client: httpx.AsyncClient, base_url: str) -> int | None:
    """The context size a llama.cpp server runs with (``/props``:
    ``default_generation_settings.n_ctx``), asked once per server; None when it says none."""
    if base_url not in _CONTEXTS:
        root = base_url.removesuffix("/v1")
        try:
            r = await client.get(f"{root}/props", timeout=PROPS_TIMEOUT)
            n_ctx = r.json().get("default_generation_settings", {}).get("n_ctx")
        except (httpx.HTTPError, ValueError, AttributeError):
            n_ctx = None
        _CONTEXTS[base_url] = n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None
    return _CONTEXTS[base_url]


def estimated_usage(body: dict[str, Any], text: str, calls: list[ToolCall]) -> dict[str, Any]:
    """Token counts guessed from characters (~4 each) for a server that reports no usage
    (llama-cpp-python's, streaming): never 0 for a call that sent and got text."""
    sent = len(json.dumps(body["messages"])) + len(json.dumps(body.get("tools", [])))
    got = len(text) + sum(len(json.dumps(c.arguments)) + len(c.name) for c in calls)
    return {
        "prompt_tokens": max(1, sent // CHARS_PER_TOKEN),
        "completion_tokens": max(1, got // CHARS_PER_TOKEN) if got else 0,
    }


def response_format(schema: JsonSchema) -> dict[str, Any]:
    """Structured output as chat completions take it (not strict: optional keys stay so)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name(schema), "schema": schema, "strict": False},
    }


def _pool_host(spec: Spec) -> Host | None:
    """The server of the pool ``spec`` names (``openai:MODEL@NAME``), None for a vendor's
    API (``openai:MODEL``, ``openrouter:MODEL``)."""
    if spec.provider != "openai" or spec.host in (None, *BUILT_IN_ENDPOINTS):
        return None
    found = [h for h in pool_hosts() if h.kind == "openai" and h.name == spec.host]
    return found[0] if found else None


def _endpoint(spec: Spec, field_name: str) -> Endpoint:
    name = spec.host or spec.provider
    found = endpoints()
    if name in found:
        return found[name]
    host = _pool_host(spec)
    if host is None:
        raise UserError(
            f"{field_name}: no OpenAI-compatible endpoint named {name!r}; known: "
            f'{", ".join(found)} (add [hosts.{name}] with kind = "openai" and its url, or '
            f"[openai.endpoints.{name}], to {config_path()})",
            field_name,
        )
    return as_endpoint(host)


def check(spec: Spec, field: str) -> str:
    if not spec.model:
        raise UserError(f"{field}: name a model, e.g. {spec.provider}:gpt-4.1", field)
    if spec.host == POOL and spec.provider == "openai":
        return str(spec)
    endpoint = _endpoint(spec, field)
    official = endpoint.base_url in (OPENAI_URL, OPENROUTER_URL)
    if official and not endpoint.api_key:
        raise UserError(f"{field}: {endpoint.key_env} is not set (needed for {spec})", field)
    return str(spec)


def _chat_backend(
    spec: Spec,
    label: str,
    endpoint: Endpoint,
    client: Any,
    runner: ProcessRunner | None,
    usd_per_hour: float = 0.0,
) -> ChatBackend:
    def make(c: httpx.AsyncClient, emit: Emit | None) -> OpenAIChat:
        # a server priced by the hour is paid for by the run's hold on it, not per call
        held = hold(emit, endpoint.name, usd_per_hour)
        point = dataclasses.replace(endpoint, free=True) if held else endpoint
        return OpenAIChat(c, point, spec.model, provider=spec.provider)

    caps = dataclasses.replace(API, local=on_this_machine(endpoint.base_url))
    host = endpoint.name if spec.host == POOL else spec.host
    return ChatBackend(
        label, make, client, host, tool_steps(), runner=runner, capabilities=caps,
        output_caps=output_caps(),
    )  # fmt: skip


def create(
    spec: Spec, client: httpx.AsyncClient | None = None, *, runner: ProcessRunner | None = None
) -> Backend:
    """A ``ChatBackend`` for a vendor's API; a ``HostFailover`` for a server of the pool
    (``openai:MODEL@NAME``) or the pool's choice (``openai:MODEL@pool``)."""
    check(spec, "backend")

    def on(host: Host) -> Backend:
        label = str(spec) if spec.host != POOL else f"openai:{spec.model}@{host.name}"
        return _chat_backend(spec, label, as_endpoint(host), client, runner, host.usd_per_hour)

    if spec.host == POOL and spec.provider == "openai":
        return HostFailover(spec, "openai", on, dataclasses.replace(API, local=True), None, client)
    host = _pool_host(spec)
    if host is None:
        return _chat_backend(spec, str(spec), _endpoint(spec, "backend"), client, runner)
    caps = dataclasses.replace(API, local=on_this_machine(host.api_url))
    return HostFailover(spec, "openai", on, caps, host, client)


def infos() -> list[BackendInfo]:
    """``openai`` is available with its key or with an endpoint of the config file
    (``openai:MODEL@NAME``); ``openrouter`` with its key."""
    found = endpoints()
    named = [f"{n}={ep.base_url}" for n, ep in found.items() if n not in ("openai", "openrouter")]
    out = []
    examples = {"openai": "openai:gpt-4.1", "openrouter": "openrouter:openai/gpt-4.1"}
    for name, example in examples.items():
        ep = found[name]
        extra = named if name == "openai" else []
        ok = bool(ep.api_key) or bool(extra)
        reason = "; ".join([*([] if ep.api_key else [f"{ep.key_env} not set"]),
                            *([f"endpoints: {', '.join(extra)}"] if extra else [])])  # fmt: skip
        fix = "" if ok else f"export {ep.key_env}=..." + (
            f", or add [openai.endpoints.NAME] with a base_url to {config_path()}"
            if name == "openai" else "")  # fmt: skip
        out.append(BackendInfo(name, "api", ok, reason=reason, fix=fix, spec_example=example))
    return out

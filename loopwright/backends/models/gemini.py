"""Gemini through the ``google-genai`` SDK, an optional extra (``loopwright[gemini]``):
streamed generateContent, function calling, usage metadata, 429/5xx retried by us.

Spec ``gemini:MODEL``; needs ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import httpx

from ...errors import ProviderError, SchemaUnsupported, UserError
from ...process.runner import ProcessRunner
from ..base import Backend, Emit, JsonSchema, Usage
from ..settings import tool_steps
from ..spec import BackendInfo, Spec
from .backend import ChatBackend
from .chat import (
    Message,
    OnText,
    RetryPolicy,
    ToolCall,
    ToolSpec,
    Turn,
)
from .http import retry_after, schema_refused, transport_error
from .prices import price

KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
INSTALL = "pip install 'loopwright[gemini]' (the google-genai SDK)"
SCHEMA_WORDS = ("response_json_schema", "responsejsonschema", "response_mime_type", "schema")


def _sdk() -> Any:
    try:  # imported by name: type checkers without the extra installed need no stubs
        genai = importlib.import_module("google.genai")
    except ImportError as exc:
        raise UserError(f"gemini needs the google-genai SDK: {INSTALL}", "backend") from exc
    return genai


def sdk_installed() -> bool:
    """Whether ``google.genai`` can be imported; ``find_spec`` of a submodule imports its
    parent and raises when there is no ``google`` package at all."""
    try:
        return importlib.util.find_spec("google.genai") is not None
    except ImportError:
        return False


def _key() -> str | None:
    return next((os.environ[k] for k in KEYS if os.environ.get(k)), None)


def wire_contents(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            part = {"function_response": {"name": m.tool_name, "response": {"result": m.text}}}
            if out and out[-1]["role"] == "user" and "function_response" in out[-1]["parts"][0]:
                out[-1]["parts"].append(part)
            else:
                out.append({"role": "user", "parts": [part]})
        elif m.role == "assistant":
            parts: list[dict[str, Any]] = [{"text": m.text}] if m.text else []
            parts += [
                {"function_call": {"name": c.name, "args": c.arguments}} for c in m.tool_calls
            ]
            out.append({"role": "model", "parts": parts or [{"text": "."}]})
        else:
            out.append({"role": "user", "parts": [{"text": m.text}]})
    return out


def map_error(exc: Exception) -> ProviderError:
    errors = _sdk().errors
    if isinstance(exc, httpx.HTTPError):
        return transport_error("Gemini", "generativelanguage.googleapis.com", exc)
    if not isinstance(exc, errors.APIError):
        return ProviderError(f"Gemini: {type(exc).__name__}: {exc}")
    code, msg = int(exc.code or 0), str(exc.message or exc)[:300]
    if code in (401, 403) or "API key not valid" in msg:
        return ProviderError(f"Gemini rejected the API key ({code}): {msg}; check GEMINI_API_KEY")
    if code == 404:
        return ProviderError(f"Gemini: not found (404): {msg}; check the model name", status=404)
    retryable = code in (408, 429) or code >= 500
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    return ProviderError(
        f"Gemini {'rate limit' if code == 429 else 'error'} ({code}): {msg}",
        retryable=retryable,
        retry_after=retry_after(headers) if retryable else None,
        status=code,
    )


class GeminiChat:
    provider = "gemini"

    def __init__(self, client: Any, model: str, retry: RetryPolicy | None = None) -> None:
        self.client = client
        self.model = model
        self.retry = retry or RetryPolicy()
        self.supports_tools = True
        self.output_cap: int | None = None
        """Not sent: Gemini's thinking tokens count against ``max_output_tokens``, so a
        cap sized for the answer would cut the thinking (the API bounds a turn itself)."""

    def _config(
        self, system: str, tools: list[ToolSpec], schema: JsonSchema | None = None
    ) -> dict[str, Any]:
        config: dict[str, Any] = {"automatic_function_calling": {"disable": True}}
        if system:
            config["system_instruction"] = system
        if schema is not None:
            config["response_mime_type"] = "application/json"
            config["response_json_schema"] = schema
        if tools:
            decls = [{"name": t.name, "description": t.description,
                      "parameters_json_schema": t.parameters} for t in tools]  # fmt: skip
            config["tools"] = [{"function_declarations": decls}]
        return config

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: OnText,
        schema: JsonSchema | None = None,
    ) -> Turn:
        text: list[str] = []
        calls: list[ToolCall] = []
        usage: Any = None
        stop = ""
        try:
            stream = await self.client.aio.models.generate_content_stream(
                model=self.model,
                contents=wire_contents(messages),
                config=self._config(system, tools, schema),
            )
            async for chunk in stream:
                usage = chunk.usage_metadata or usage
                for cand in chunk.candidates or []:
                    stop = str(cand.finish_reason or stop)
                    for part in (cand.content.parts if cand.content else None) or []:
                        if part.text and not part.thought:
                            text.append(part.text)
                            on_text(part.text)
                        if part.function_call:
                            fc = part.function_call
                            calls.append(ToolCall(fc.id or f"call_{len(calls)}", fc.name or "",
                                                  dict(fc.args or {})))  # fmt: skip
        except ProviderError:
            raise
        except Exception as exc:  # the SDK's errors, httpx's, and its own ValueErrors
            error = map_error(exc)
            if schema is not None and schema_refused(error.status or 0, str(error), SCHEMA_WORDS):
                raise SchemaUnsupported(f"no structured output here: {error}") from exc
            raise error from exc
        return Turn("".join(text), calls, self._usage(usage), stop)

    def _usage(self, meta: Any) -> Usage:
        if meta is None:
            return Usage(0, 0, None)
        tin = int(meta.prompt_token_count or 0)
        tout = int(meta.candidates_token_count or 0) + int(meta.thoughts_token_count or 0)
        cached = int(meta.cached_content_token_count or 0)
        return Usage(tin, tout, price("google", self.model, tin, tout, cache_read=cached))


def make_client(http: httpx.AsyncClient) -> Any:
    genai = _sdk()
    options = genai.types.HttpOptions(httpx_async_client=http)
    return genai.Client(api_key=_key(), http_options=options)


def check(spec: Spec, field: str) -> str:
    if not spec.model:
        raise UserError(f"{field}: name a model, e.g. gemini:gemini-2.5-pro", field)
    if not sdk_installed():
        raise UserError(f"{field}: gemini needs the google-genai SDK: {INSTALL}", field)
    if _key() is None:
        raise UserError(f"{field}: GEMINI_API_KEY is not set (needed for {spec})", field)
    return str(spec)


def create(
    spec: Spec, client: httpx.AsyncClient | None = None, *, runner: ProcessRunner | None = None
) -> Backend:
    check(spec, "backend")

    def make(http: httpx.AsyncClient, _emit: Emit | None) -> GeminiChat:
        return GeminiChat(make_client(http), spec.model)

    return ChatBackend(str(spec), make, client, steps=tool_steps(), runner=runner)


def infos() -> list[BackendInfo]:
    installed = sdk_installed()
    key = _key() is not None
    reason = "" if installed and key else "google-genai not installed" if not installed else (
        "GEMINI_API_KEY not set")  # fmt: skip
    fix = "" if installed and key else INSTALL if not installed else "export GEMINI_API_KEY=..."
    return [BackendInfo("gemini", "api", installed and key, reason, fix, "gemini:gemini-2.5-pro")]

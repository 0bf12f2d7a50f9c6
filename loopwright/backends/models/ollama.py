"""Ollama over its native API (``/api/chat`` NDJSON), which keeps the timings that the
OpenAI-compatible API drops. Specs: ``ollama:MODEL`` (host ``local``),
``ollama:MODEL@HOST`` for a host of the pool (``[hosts.HOST]``, ``[ollama.hosts.HOST]`` or a
rented one) and ``ollama:MODEL@pool`` to let the pool choose (``pooled.HostFailover``).

Each call records its profile (durations, tokens/s, ``num_ctx``, context length, Ollama
version) in the ``model_call`` event and in ``<state>/ollama/profiles.jsonl``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson

from ...errors import ProviderError, SchemaUnsupported, ToolsUnsupported, UserError
from ...hosts.named import POOL, Host
from ...hosts.pool import find_host
from ...process.runner import ProcessRunner
from ..base import Backend, Emit, JsonSchema, Usage
from ..hold import hold
from ..settings import (
    OllamaHost,
    as_ollama_host,
    config_path,
    ollama_host,
    ollama_hosts,
    tool_steps,
)
from ..spec import BackendInfo, Spec
from .backend import API, ChatBackend
from .chat import (
    Message,
    OnText,
    RetryPolicy,
    ToolCall,
    ToolSpec,
    Turn,
)
from .http import error_text, on_this_machine, schema_refused
from .limits import output_caps
from .ollama_api import (
    DEFAULT_MAX_CTX,
    NS,
    ModelFacts,
    facts_for,
    learn,
    not_found,
    profile,
    pull,
    record_profile,
    unreachable,
)
from .openai_compat import wire_tools
from .pooled import HostFailover

CHARS_PER_TOKEN = 4
TRUNCATION_RATIO = 0.5


def wire_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "content": m.text, "tool_name": m.tool_name})
        elif m.role == "assistant" and m.tool_calls:
            calls = [{"function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
            out.append({"role": "assistant", "content": m.text, "tool_calls": calls})
        else:
            out.append({"role": m.role, "content": m.text})
    return out


def _line(line: Any, text: list[str], calls: list[ToolCall], on_text: OnText) -> bool:
    """Take one NDJSON line of ``/api/chat``; True when it is the final one."""
    if not isinstance(line, dict):
        return False
    if "error" in line:
        raise ProviderError(f"Ollama error mid-stream: {line['error']}")
    msg = line.get("message") or {}
    if msg.get("content"):
        text.append(msg["content"])
        on_text(msg["content"])
    for c in msg.get("tool_calls") or []:
        fn = c.get("function") or {}
        args = fn.get("arguments")
        call_id = str(c.get("id") or f"call_{len(calls)}")
        calls.append(
            ToolCall(call_id, str(fn.get("name", "")), args if isinstance(args, dict) else {})
        )
    return bool(line.get("done"))


def estimate_tokens(body: dict[str, Any]) -> int:
    """A rough count of prompt tokens (~4 characters each), for truncation checks."""
    chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
    return (chars + len(json.dumps(body.get("tools", [])))) // CHARS_PER_TOKEN


class OllamaChat:
    provider = "ollama"

    def __init__(
        self,
        client: httpx.AsyncClient,
        host: OllamaHost,
        model: str,
        facts: ModelFacts | None = None,
        retry: RetryPolicy | None = None,
        max_ctx: int = DEFAULT_MAX_CTX,
        progress: Callable[[dict[str, Any]], None] | None = None,
        held: bool = False,
    ) -> None:
        self.client = client
        self.host = host
        self.model = model
        self.facts = facts or facts_for(host, model)
        self.retry = retry or RetryPolicy()
        self.max_ctx = max_ctx
        self.progress = progress
        self.output_cap: int | None = None
        self.held = held
        """The run holds the host (``chat.hold``) and pays its hours: a call costs nothing
        by its duration; else it costs ``usd_per_hour`` x its duration."""

    @property
    def supports_tools(self) -> bool:
        return self.facts.tools is not False

    @supports_tools.setter
    def supports_tools(self, value: bool) -> None:
        self.facts.tools = value

    async def _prepare(self) -> None:
        if self.facts.ready:
            return
        try:
            await learn(self.client, self.host, self.model, self.facts, self.max_ctx)
        except ProviderError as exc:
            if exc.status != 404 or not self.host.auto_pull:
                raise
            await pull(self.client, self.host, self.model, self.progress)
            await learn(self.client, self.host, self.model, self.facts, self.max_ctx)

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: OnText,
        schema: JsonSchema | None = None,
    ) -> Turn:
        await self._prepare()
        if tools and self.facts.tools is False:
            raise ToolsUnsupported(f"{self.model} does not support tools")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": wire_messages(system, messages),
            "stream": True,
            "options": {"num_ctx": self.facts.num_ctx},
        }
        if self.output_cap:
            body["options"]["num_predict"] = self.output_cap
        if tools:
            body["tools"] = wire_tools(tools)
        if schema is not None:
            body["format"] = schema  # Ollama >= 0.5 constrains the reply to the JSON schema
        text, calls, final = await self._stream(body, on_text)
        return self._turn(body, "".join(text), calls, final)

    async def _stream(
        self, body: dict[str, Any], on_text: OnText
    ) -> tuple[list[str], list[ToolCall], dict[str, Any]]:
        text: list[str] = []
        calls: list[ToolCall] = []
        final: dict[str, Any] = {}
        url = f"{self.host.url}/api/chat"
        headers = {**self.host.headers, "content-type": "application/json"}
        try:
            async with self.client.stream(
                "POST", url, content=orjson.dumps(body), headers=headers
            ) as r:
                if r.status_code >= 400:
                    raise self._status(r.status_code, await r.aread(), body)
                async for raw in r.aiter_lines():
                    if raw.strip():
                        line = orjson.loads(raw)
                        if _line(line, text, calls, on_text):
                            final = line
        except httpx.HTTPError as exc:
            raise unreachable(self.host, exc) from exc
        except ValueError as exc:
            raise ProviderError(f"Ollama sent an unreadable line: {exc}", retryable=True) from exc
        return text, calls, final

    def _status(self, status: int, body: bytes, sent: dict[str, Any]) -> ProviderError:
        msg = error_text(body)
        if status == 404:
            return not_found(self.host, self.model)
        if status == 400 and "tools" in sent and "does not support tools" in msg:
            self.facts.tools = False
            return ToolsUnsupported(f"{self.model} does not support tools")
        if "format" in sent and schema_refused(status, msg, ("format", "schema")):
            return SchemaUnsupported(
                f"Ollama host {self.host.name!r} refused a JSON schema format ({status}): {msg}",
                status=status,
            )
        if status in (401, 403):
            return ProviderError(
                f"Ollama host {self.host.name!r} refused our credentials ({status}); check its "
                "token_env or basic auth in loopwright.toml"
            )
        return ProviderError(
            f"Ollama host {self.host.name!r} answered {status}: {msg}",
            status=status,
            retryable=status >= 500 or status == 429,
        )

    def _turn(
        self, body: dict[str, Any], text: str, calls: list[ToolCall], final: dict[str, Any]
    ) -> Turn:
        p = profile(final, self.facts)
        record_profile(self.host, self.model, p)
        seconds = p["total_duration"] / NS
        cost = 0.0 if self.held else round(self.host.usd_per_hour * seconds / 3600, 6)
        warnings = []
        estimate = estimate_tokens(body)
        ctx = self.facts.num_ctx
        if estimate >= 0.8 * ctx and p["prompt_eval_count"] < TRUNCATION_RATIO * estimate:
            warnings.append(
                f"prompt likely truncated by Ollama: ~{estimate} tokens sent, "
                f"{p['prompt_eval_count']} evaluated, num_ctx {ctx}; use a model with a "
                "longer context or a smaller task"
            )
        usage = Usage(p["prompt_eval_count"], p["eval_count"], cost)
        extra = {"profile": p, "estimated_prompt_tokens": estimate}
        stop = str(final.get("done_reason", ""))
        return Turn(text, calls, usage, stop, extra, warnings)


def check(spec: Spec, field: str) -> str:
    if not spec.model:
        raise UserError(f"{field}: name a model, e.g. ollama:qwen2.5-coder:7b", field)
    if spec.host != POOL:
        ollama_host(spec.host, field)
    return str(spec)


def create(
    spec: Spec, client: httpx.AsyncClient | None = None, *, runner: ProcessRunner | None = None
) -> Backend:
    """A ``HostFailover`` over the host ``@NAME`` names (``local`` without one), or over the
    pool's choice for ``@pool``: each host's calls through its own ``ChatBackend``."""
    check(spec, "backend")
    steps, caps_out = tool_steps(), output_caps()

    def on(pool_host: Host) -> Backend:
        host = as_ollama_host(pool_host)

        def make(c: httpx.AsyncClient, emit: Emit | None) -> OllamaChat:
            def progress(data: dict[str, Any]) -> None:
                if emit is not None:
                    emit("model_pull", data)

            held = hold(emit, host.name, host.usd_per_hour)
            return OllamaChat(c, host, spec.model, progress=progress, held=held)

        caps = dataclasses.replace(API, local=on_this_machine(host.url))
        label = str(spec) if spec.host != POOL else f"ollama:{spec.model}@{host.name}"
        return ChatBackend(
            label, make, client, host.name, steps, runner=runner, capabilities=caps,
            output_caps=caps_out,
        )  # fmt: skip

    if spec.host == POOL:
        return HostFailover(spec, "ollama", on, dataclasses.replace(API, local=True), None, client)
    pinned = find_host(spec.host or "local", "ollama")
    caps = dataclasses.replace(API, local=on_this_machine(pinned.url))
    return HostFailover(spec, "ollama", on, caps, pinned, client)


PROBE_TIMEOUT = 1.5
"""Seconds ``backends`` and ``doctor`` wait for an Ollama host's ``/api/version``."""


def _answers(host: OllamaHost) -> str:
    """Empty when the host answers, else why not (a probe for ``backends``, bounded)."""
    try:
        got = httpx.get(f"{host.url}/api/version", headers=host.headers, timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        return f"{host.name}={host.url}: no answer ({type(exc).__name__})"
    return "" if got.status_code == 200 else f"{host.name}={host.url}: HTTP {got.status_code}"


def infos() -> list[BackendInfo]:
    """Available when one of its hosts answers; each host is asked (briefly, in parallel)."""
    hosts = list(ollama_hosts().values())
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        problems = list(pool.map(_answers, hosts))
    up = [h for h, why in zip(hosts, problems, strict=True) if not why]
    reason = (
        "answering: " + ", ".join(f"{h.name}={h.url}" for h in up) if up else "; ".join(problems)
    )
    fix = "" if up else (
        "start Ollama (`ollama serve`), point OLLAMA_HOST at one, or add [ollama.hosts.NAME] "
        f"with its url to {config_path()}"
    )  # fmt: skip
    return [BackendInfo("ollama", "api", bool(up), reason, fix,
                        "ollama:qwen2.5-coder:7b | ollama:MODEL@HOST")]  # fmt: skip

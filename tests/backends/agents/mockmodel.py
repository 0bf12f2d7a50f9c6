"""A scripted model endpoint on 127.0.0.1 speaking the four wire formats the agent CLIs use.

Anthropic Messages (SSE), OpenAI Chat Completions (SSE), OpenAI Responses (SSE) and Gemini
streamGenerateContent (SSE). Requests go to ``/s/<scenario>/...``; each turn of a scenario
takes the next reply from its queue (the last one repeats). A reply is
``("text", str)``, ``("tool", name, input)`` or ``("error", status)``. ``{cwd}`` in a tool
input becomes the working directory the CLI announced in its system prompt, so the same
script works wherever the run's worktree is; ``{run_id}`` becomes the newest loopwright run
id in the request (a tool result the model got back), so a script can call
``orchestrate`` and then ``orchestrate_result`` on the run it started. In the Responses
format a tool name ``NAMESPACE/NAME`` is a call of NAME in that namespace (Codex offers
each MCP server's tools in a namespace, ``mcp__SERVER``).

Side calls that are not turns (opencode's title request, Gemini's router and token counts)
get a plain answer without taking a reply.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[Any, ...]

_CWD = [
    re.compile(r"Primary working directory: ([^\s\"\\]+)"),
    re.compile(r"<cwd>([^<]+)</cwd>"),
    re.compile(r"Working directory: ([^\s\"\\]+)"),
    re.compile(r"Workspace Directories:\*\*(?:\\n|\n)\s*- ([^\s\"\\]+)"),
]


def _cwd_of(raw: str) -> str:
    for pattern in _CWD:
        m = pattern.search(raw)
        if m:
            return m.group(1)
    return "."


_RUN_ID = re.compile(r"\b[0-9]{8}-[0-9]{9}-[0-9a-f]{6}\b")


def _fields(raw: str) -> dict[str, str]:
    """What ``{cwd}`` and ``{run_id}`` stand for in the replies to this request."""
    run_ids = _RUN_ID.findall(raw)
    return {"{cwd}": _cwd_of(raw), "{run_id}": run_ids[-1] if run_ids else ""}


def _fill(value: Any, fields: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in fields.items():
            value = value.replace(name, text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fill(v, fields) for v in value)
    return value


class MockModel:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/s/{scenario}"

    def script(self, scenario: str, *replies: Reply) -> str:
        self.scripts[scenario] = list(replies)
        return self.url(scenario)

    def next_reply(self, scenario: str) -> Reply:
        with self._lock:
            queue = self.scripts.get(scenario) or [("text", "MOCK_DONE")]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def __enter__(self) -> MockModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(model: MockModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # model lists and the like: an empty list
            self._json(200, {"data": [], "models": [], "object": "list"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace")
            body = json.loads(raw) if raw.strip() else {}
            m = re.match(r"/s/([^/]+)(/.*)", self.path)
            scenario, path = (m.group(1), m.group(2)) if m else ("default", self.path)
            model.requests.append({"scenario": scenario, "path": path, "body": body})
            if path.endswith(":countTokens"):
                return self._json(200, {"totalTokens": 10})
            if path.endswith(":generateContent"):
                text = json.dumps({"complexity_reasoning": "mock", "complexity_score": 1})
                return self._json(200, _gemini_chunk(("text", text)))
            if "/chat/completions" in path and not body.get("tools") and scenario.startswith("oc"):
                return self._sse(_chat(("text", "Mock title"), body))  # opencode's title call
            reply = _fill(model.next_reply(scenario), _fields(raw))
            if reply[0] == "error":
                return self._json(int(reply[1]), _error_body(path, int(reply[1])))
            if "/messages" in path:
                return self._sse(_anthropic(reply))
            if path.endswith("/responses"):
                return self._sse(_responses(reply))
            if "streamGenerateContent" in path:
                return self._sse(_gemini(reply))
            if "/chat/completions" in path:
                if body.get("stream"):
                    return self._sse(_chat(reply, body))
                return self._json(200, _chat_whole(reply))
            return self._json(404, {"error": {"message": f"mock: no route {path}"}})

        def _json(self, status: int, data: Any) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _sse(self, events: Iterator[str]) -> None:
            payload = "".join(events).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _event(name: str | None, data: Any) -> str:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def _error_body(path: str, status: int) -> Any:
    if "/messages" in path:
        kind = "authentication_error" if status == 401 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": "invalid x-api-key"}}
    if "models/" in path:
        return {
            "error": {"code": status, "message": "API key not valid", "status": "UNAUTHENTICATED"}
        }
    return {
        "error": {
            "message": "Incorrect API key provided: sk-mock",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }


USAGE_IN, USAGE_OUT = 120, 30


def _anthropic(reply: Reply) -> Iterator[str]:
    msg = {
        "id": f"msg_{time.monotonic_ns()}",
        "type": "message",
        "role": "assistant",
        "model": "claude-mock",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": USAGE_IN, "output_tokens": 1},
    }
    yield _event("message_start", {"type": "message_start", "message": msg})
    if reply[0] == "tool":
        block = {
            "type": "tool_use",
            "id": f"toolu_{time.monotonic_ns()}",
            "name": reply[1],
            "input": {},
        }
        delta = {"type": "input_json_delta", "partial_json": json.dumps(reply[2])}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": reply[1]}
        stop = "end_turn"
    yield _event(
        "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    )
    yield _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
    yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": USAGE_OUT},
        },
    )
    yield _event("message_stop", {"type": "message_stop"})


def _responses(reply: Reply) -> Iterator[str]:
    rid = f"resp_{time.monotonic_ns()}"
    base = {"id": rid, "object": "response", "created_at": int(time.time()), "model": "mock-model"}
    yield _event(
        "response.created",
        {"type": "response.created", "response": {**base, "status": "in_progress", "output": []}},
    )
    if reply[0] == "tool" and isinstance(reply[2], str):
        item: dict[str, Any] = {
            "type": "custom_tool_call",
            "id": "ctc_1",
            "call_id": f"call_{rid}",
            "name": reply[1],
            "input": reply[2],
            "status": "completed",
        }
    elif reply[0] == "tool":
        namespace, _, name = str(reply[1]).rpartition("/")
        item = {
            "type": "function_call",
            "id": "fc_1",
            "call_id": f"call_{rid}",
            "name": name,
            "arguments": json.dumps(reply[2]),
            "status": "completed",
        }
        if namespace:  # a tool offered in a namespace (Codex: an MCP server's tools)
            item["namespace"] = namespace
    else:
        item = {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": reply[1], "annotations": []}],
        }
    yield _event(
        "response.output_item.added",
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress"},
        },
    )
    if item["type"] == "message":
        yield _event(
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": reply[1],
            },
        )
    yield _event(
        "response.output_item.done",
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    )
    usage = {
        "input_tokens": USAGE_IN,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": USAGE_OUT,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": USAGE_IN + USAGE_OUT,
    }
    done = {**base, "status": "completed", "output": [item], "usage": usage}
    yield _event("response.completed", {"type": "response.completed", "response": done})


def _chat_chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "mock-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _chat(reply: Reply, body: dict[str, Any]) -> Iterator[str]:
    if reply[0] == "tool":
        call = {
            "index": 0,
            "id": f"call_{time.monotonic_ns()}",
            "type": "function",
            "function": {"name": reply[1], "arguments": json.dumps(reply[2])},
        }
        yield _event(None, _chat_chunk({"role": "assistant", "tool_calls": [call]}, None))
        yield _event(None, _chat_chunk({}, "tool_calls"))
    else:
        yield _event(None, _chat_chunk({"role": "assistant", "content": reply[1]}, None))
        yield _event(None, _chat_chunk({}, "stop"))
    usage = {
        "prompt_tokens": USAGE_IN,
        "completion_tokens": USAGE_OUT,
        "total_tokens": USAGE_IN + USAGE_OUT,
    }
    yield _event(None, {**_chat_chunk({}, None), "choices": [], "usage": usage})
    yield "data: [DONE]\n\n"


def _chat_whole(reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "mock-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply[1]},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": USAGE_IN,
            "completion_tokens": USAGE_OUT,
            "total_tokens": USAGE_IN + USAGE_OUT,
        },
    }


def _gemini_chunk(reply: Reply) -> dict[str, Any]:
    part = (
        {"functionCall": {"name": reply[1], "args": reply[2]}}
        if reply[0] == "tool"
        else {"text": reply[1]}
    )
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": USAGE_IN,
            "candidatesTokenCount": USAGE_OUT,
            "totalTokenCount": USAGE_IN + USAGE_OUT,
        },
        "modelVersion": "gemini-mock",
    }


def _gemini(reply: Reply) -> Iterator[str]:
    yield f"data: {json.dumps(_gemini_chunk(reply))}\r\n\r\n"

"""A scripted Anthropic Messages endpoint on 127.0.0.1 that drives loopwright's tools.

It plays the model for ``claude -p``: call ``mcp__loopwright__orchestrate``, then
``mcp__loopwright__orchestrate_tail`` with the returned cursor until the run is no longer
running, then answer in text. Replies are SSE streams like the real API's.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

PREFIX = "mcp__loopwright__"
_ids = count(1)


def _sse(blocks: list[dict[str, Any]], stop: str) -> bytes:
    """A complete streamed message holding ``blocks`` (text or tool_use)."""
    msg = {
        "id": f"msg_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": "claude-scripted",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"message": msg})]
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            ("content_block_start", {"index": i, "content_block": start}),
            ("content_block_delta", {"index": i, "delta": delta}),
            ("content_block_stop", {"index": i}),
        ]
    events += [
        (
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 5}},
        ),
        ("message_stop", {}),
    ]
    return b"".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
        for name, data in events
    )


def _last_tool_result(messages: list[dict[str, Any]]) -> tuple[str, Any] | None:
    """(tool name, parsed result) of the newest tool_result in the conversation, found via
    its tool_use id (a client may add other user content after it)."""
    names = {
        b["id"]: b["name"]
        for m in messages
        if m["role"] == "assistant"
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_use"
    }
    for message in reversed(messages):
        content = message["content"] if message["role"] == "user" else None
        for block in reversed(content if isinstance(content, list) else []):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                return names.get(block["tool_use_id"], ""), _parse(block.get("content"))
    return None


def _parse(content: Any) -> Any:
    if isinstance(content, list):
        content = "".join(c.get("text", "") for c in content if isinstance(c, dict))
    try:
        return json.loads(content or "null")
    except ValueError:
        return content


class Script:
    """Decides the next reply; records what it saw for the test."""

    def __init__(self, goal: str, **orchestrate_args: Any) -> None:
        self.goal = goal
        self.orchestrate_args = orchestrate_args
        self.calls: list[str] = []
        self.run_id: str | None = None
        self.errors: list[Any] = []

    def tool(self, name: str, args: dict[str, Any]) -> bytes:
        self.calls.append(name)
        block = {
            "type": "tool_use",
            "id": f"toolu_{next(_ids)}",
            "name": PREFIX + name,
            "input": args,
        }
        return _sse([block], "tool_use")

    def text(self, text: str) -> bytes:
        return _sse([{"type": "text", "text": text}], "end_turn")

    def reply(self, body: dict[str, Any]) -> bytes:
        tools = {t.get("name") for t in body.get("tools") or []}
        if PREFIX + "orchestrate" not in tools:
            return self.text("ok")  # a side request (title, summary): no tools offered
        last = _last_tool_result(body.get("messages") or [])
        if last is None:
            return self.tool("orchestrate", {"goal": self.goal, **self.orchestrate_args})
        name, result = last
        if not isinstance(result, dict) or "run_id" not in result:
            self.errors.append(result)
            return self.text(f"ERROR {result}")
        self.run_id = result["run_id"]
        if result.get("status") == "needs_input":
            answers = {q["id"]: "scripted answer" for q in result.get("questions") or []}
            return self.tool("orchestrate_resume", {"run_id": self.run_id, "answers": answers})
        if name != PREFIX + "orchestrate_tail" or result.get("running") or result.get("more"):
            args = {"run_id": self.run_id, "wait": 30}
            if name == PREFIX + "orchestrate_tail":
                args["cursor"] = result["cursor"]
            return self.tool("orchestrate_tail", args)
        return self.text(f"DONE {self.run_id} {result.get('state')}")


def serve(script: Script) -> tuple[ThreadingHTTPServer, int]:
    """Start the endpoint on 127.0.0.1 (a free port) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            data = script.reply(body)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]

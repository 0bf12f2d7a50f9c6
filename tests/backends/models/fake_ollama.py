"""A scripted Ollama speaking the documented native API, as a MockTransport handler or
a real HTTP server on 127.0.0.1 (for runs that create their own clients)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

DONE = {
    "done": True,
    "done_reason": "stop",
    "total_duration": 2_000_000_000,
    "load_duration": 500_000_000,
    "prompt_eval_count": 400,
    "prompt_eval_duration": 200_000_000,
    "eval_count": 50,
    "eval_duration": 1_000_000_000,
}


def say(text: str, **final: Any) -> list[dict[str, Any]]:
    words = [text[i : i + 4] for i in range(0, len(text), 4)] or [""]
    lines: list[dict[str, Any]] = [
        {"model": "m", "message": {"role": "assistant", "content": w}, "done": False} for w in words
    ]
    lines.append({"model": "m", "message": {"role": "assistant", "content": ""}, **DONE, **final})
    return lines


def call(name: str, **args: Any) -> list[dict[str, Any]]:
    msg = {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": name, "arguments": args}}],
    }
    return [
        {"model": "m", "message": msg, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, **DONE},
    ]


@dataclass
class FakeOllama:
    chats: list[list[dict[str, Any]]] = field(default_factory=list)
    """Replies to /api/chat in order, each a list of NDJSON lines (the last repeats)."""
    models: set[str] = field(default_factory=lambda: {"m"})
    loaded: set[str] = field(default_factory=set)
    """Models ``/api/ps`` lists as held in memory."""
    context_length: int = 131_072
    capabilities: list[str] = field(default_factory=lambda: ["completion", "tools"])
    chat_status: int = 200
    schema_format: bool = True
    """False: like Ollama before 0.5, ``format`` must be a string (a schema is a 400)."""
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [b for p, b, _ in self.requests if p == path]

    def respond(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, str]:
        self.requests.append((path, body, headers))
        if path == "/api/version":
            return 200, json.dumps({"version": "0.9.0"})
        if path == "/api/tags":
            return 200, json.dumps(
                {"models": [{"name": m, "size": 1000} for m in sorted(self.models)]}
            )
        if path == "/api/ps":
            running = [
                {"name": m, "model": m, "size": 1000, "size_vram": 1000,
                 "expires_at": "2026-01-01T00:05:00Z", "context_length": self.context_length}
                for m in sorted(self.loaded)
            ]  # fmt: skip
            return 200, json.dumps({"models": running})
        if path == "/api/show":
            if body.get("model") not in self.models:
                return 404, json.dumps({"error": f"model '{body.get('model')}' not found"})
            info = {"general.architecture": "qwen2", "qwen2.context_length": self.context_length}
            return 200, json.dumps({"model_info": info, "capabilities": self.capabilities})
        if path == "/api/pull":
            self.models.add(body["model"])
            lines = [
                {"status": "pulling manifest"},
                {"status": "downloading", "total": 100, "completed": 50},
                {"status": "downloading", "total": 100, "completed": 100},
                {"status": "success"},
            ]
            return 200, "".join(json.dumps(x) + "\n" for x in lines)
        if path == "/api/chat":
            if self.chat_status != 200:
                return self.chat_status, json.dumps({"error": "scripted failure"})
            if not self.schema_format and isinstance(body.get("format"), dict):
                wrong = "json: cannot unmarshal object into Go struct field .format of type string"
                return 400, json.dumps({"error": wrong})
            n = min(len(self.bodies("/api/chat")), len(self.chats)) - 1
            return 200, "".join(json.dumps(x) + "\n" for x in self.chats[n])
        return 404, json.dumps({"error": "no such path"})

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        status, text = self.respond(request.url.path, body, dict(request.headers))
        return httpx.Response(status, content=text.encode())

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


class Server:
    """``FakeOllama`` on a real socket at 127.0.0.1 (a thread; stop() closes it)."""

    def __init__(self, fake: FakeOllama) -> None:
        outer = fake

        class H(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(size)) if size else {}
                status, text = outer.respond(
                    self.path, body, {k.lower(): v for k, v in self.headers.items()}
                )
                data = text.encode()
                self.send_response(status)
                self.send_header("content-type", "application/x-ndjson")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _reply

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

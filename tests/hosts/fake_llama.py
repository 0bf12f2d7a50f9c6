"""A fake llama.cpp ``llama-server`` on 127.0.0.1, built from its documented endpoints
(tools/server/README.md of llama.cpp): ``GET /health`` (200 ``{"status": "ok"}``, 503
``{"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}``
while the model loads), ``GET /v1/models`` (``{"object": "list", "data": [{"id": ...,
"object": "model", "owned_by": "llamacpp"}]}``), ``GET /props`` and ``POST
/v1/chat/completions`` streamed as server-sent events, the last chunk carrying
``timings``, then a usage chunk when ``stream_options.include_usage`` asks."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TIMINGS = {
    "prompt_n": 120,
    "prompt_ms": 60.0,
    "prompt_per_second": 2000.0,
    "predicted_n": 20,
    "predicted_ms": 250.0,
    "predicted_per_second": 80.0,
}


@dataclass
class FakeLlama:
    model: str = "gemma"
    reply: str = "hello from llama"
    loading: bool = False
    """``/health`` answers 503 Loading model, as llama-server does while it loads."""
    key: str | None = None
    """The ``--api-key`` it was started with: requests without it get 401."""
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def respond(self, method: str, path: str, body: dict[str, Any], auth: str) -> tuple[int, str]:
        self.requests.append((method, path, body))
        if path == "/health":
            if self.loading:
                err = {"code": 503, "message": "Loading model", "type": "unavailable_error"}
                return 503, json.dumps({"error": err})
            return 200, json.dumps({"status": "ok"})
        if self.key and auth != f"Bearer {self.key}":
            err = {"code": 401, "message": "Invalid API Key", "type": "authentication_error"}
            return 401, json.dumps({"error": err})
        if path == "/v1/models":
            data = [{"id": self.model, "object": "model", "created": 0, "owned_by": "llamacpp"}]
            return 200, json.dumps({"object": "list", "data": data})
        if path == "/props":
            return 200, json.dumps({"default_generation_settings": {"n_ctx": 4096}})
        if path == "/v1/chat/completions" and method == "POST":
            return 200, self._stream(body)
        return 404, json.dumps({"error": {"code": 404, "message": "File Not Found"}})

    def _stream(self, body: dict[str, Any]) -> str:
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": self.model}
        chunks: list[dict[str, Any]] = [
            {**base, "choices": [{"index": 0, "delta": {"content": self.reply}}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
             "timings": TIMINGS},
        ]  # fmt: skip
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 120, "completion_tokens": 20, "total_tokens": 140}
            chunks.append({**base, "choices": [], "usage": usage})
        return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


class LlamaServer:
    """``FakeLlama`` on a real socket at 127.0.0.1 (a thread; ``stop()`` closes it)."""

    def __init__(self, fake: FakeLlama) -> None:
        outer = fake

        class H(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(size)) if size else {}
                auth = self.headers.get("authorization") or ""
                status, text = outer.respond(self.command, self.path, body, auth)
                data = text.encode()
                self.send_response(status)
                kind = "text/event-stream" if text.startswith("data:") else "application/json"
                self.send_header("content-type", kind)
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

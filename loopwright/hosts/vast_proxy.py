"""The bearer-token proxy that guards Ollama on a rented instance.

This file is shipped, as it is, inside the instance's onstart script (``vast_onstart``)
and run there by ``python3``: standard library only, no loopwright import, Python 3.8+.
It listens on the instance's public port (11434), refuses every request whose
``Authorization`` is not ``Bearer <token>`` (401, compared in constant time), and
forwards the others to Ollama on 127.0.0.1, streaming the reply as it comes (a model
pull's progress, a chat's tokens). The token is read from ``$LW_PROXY_TOKEN``.

    python3 vast_proxy.py --listen 0.0.0.0:11434 --upstream 127.0.0.1:11435
"""

from __future__ import annotations

import argparse
import hmac
import http.client
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["TOKEN_ENV", "main", "make_server"]

TOKEN_ENV = "LW_PROXY_TOKEN"
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
_HOP |= {"proxy-authorization", "proxy-authenticate", "authorization", "content-length"}
_UPSTREAM_TIMEOUT = 3600.0  # a big model's pull streams for a long time


def _handler(token: str, upstream: tuple[str, int]) -> type[BaseHTTPRequestHandler]:
    expected = ("Bearer " + token).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            given = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(given, expected):
                self._json(401, {"error": "missing or wrong bearer token"})
                return
            if self.headers.get("Transfer-Encoding"):
                self._json(411, {"error": "send a Content-Length"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                self._forward(body)
            except OSError as exc:
                self._json(502, {"error": f"ollama is not reachable: {exc}"})

        def _forward(self, body: bytes) -> None:
            conn = http.client.HTTPConnection(*upstream, timeout=_UPSTREAM_TIMEOUT)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                self.send_response(reply.status)
                for name, value in reply.getheaders():
                    if name.lower() not in _HOP:
                        self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while True:
                    chunk = reply.read1(65536)
                    if not chunk:
                        break
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            finally:
                conn.close()

        def _json(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_DELETE = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request lines are nobody's business; the token is never logged

    return Handler


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def make_server(listen: str, upstream: str, token: str) -> ThreadingHTTPServer:
    """A proxy server bound to ``listen`` (``HOST:PORT``; port 0 picks one)."""
    if len(token) < 16:
        raise ValueError("the proxy token must be at least 16 characters")
    server = ThreadingHTTPServer(_address(listen), _handler(token, _address(upstream)))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ollama behind a bearer token")
    parser.add_argument("--listen", default="0.0.0.0:11434")
    parser.add_argument("--upstream", default="127.0.0.1:11435")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if len(token) < 16:
        print(f"set {TOKEN_ENV} to a token of 16 characters or more", file=sys.stderr)
        return 2
    server = make_server(args.listen, args.upstream, token)
    print(f"listening on port {server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

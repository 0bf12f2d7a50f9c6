"""Ollama's native API on 127.0.0.1 whose chat replies are held by the test: a reply
still being generated, or a backend that blocks until the test lets it go."""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.backends.models.fake_ollama import FakeOllama, say


class HeldOllama:
    """Each ``/api/chat`` reply sends its first ``first`` lines, then holds the rest until
    ``go`` is set (bounded); ``asked`` is set once a reply is being held."""

    def __init__(self, text: str = "First words, then the rest of it.", first: int = 3) -> None:
        fake, self.go, self.asked = (
            FakeOllama(models={"m", "n"}),
            threading.Event(),
            threading.Event(),
        )
        pieces = say(text)
        server = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path != "/api/chat":
                    status, text = fake.respond(self.path, json.loads(body or b"{}"), {})
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(text.encode())
                    return
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.end_headers()  # no length: the reply ends when the connection closes
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a killed chat
                    for n, line in enumerate(pieces):
                        if n == first:  # the first pieces are out: the rest waits
                            server.asked.set()
                            server.go.wait(30)
                        self.wfile.write((json.dumps(line) + "\n").encode())
                        self.wfile.flush()

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,))
        self.thread.start()

    @property
    def where(self) -> str:
        """``OLLAMA_HOST`` for it."""
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.go.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)

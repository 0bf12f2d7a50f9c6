"""``loopwright ui`` as a person runs it: it prints its URL, serves only with the token,
logs no token, stops on Ctrl-C, and names the port it cannot listen on."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys

import httpx

from loopwright.runs.store import RunStore
from loopwright.ui.serve import Served

from .conftest import make_run

RUN = "20260104-000000000-dddddd"


def _first_line(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "loopwright ui printed nothing"
        return proc.stdout.readline()


def test_the_ui_command_prints_its_url_serves_only_with_the_token_and_logs_no_token(
    store: RunStore,
) -> None:
    make_run(store, RUN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopwright", "ui", "--port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        line = _first_line(proc)
        url = line.split()[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        token = url.rstrip("/").rsplit("/", 1)[-1]
        assert len(token) >= 32
        base = url[: -len(token) - 1]
        with httpx.Client(timeout=10) as http:
            assert http.get(url).status_code == 200
            assert RUN in http.get(f"{url}api/runs").text
            assert http.get(f"{url}runs/{RUN}").status_code == 200
            assert http.get(f"{url}nope").status_code == 404
            assert http.get(base).status_code == 403
            assert http.get(f"{base}api/runs").status_code == 403
            assert http.get(f"{base}{token[:-1]}/").status_code == 403
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert token not in out + err  # beyond the one line that hands it to the user
    assert "api/runs" not in err  # no access log at all


def test_a_port_in_use_is_an_error_naming_the_port(store: RunStore, served: Served) -> None:
    port = served.url.split(":")[2].split("/")[0]
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", "ui", "--port", port],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"--port: cannot listen on 127.0.0.1:{port}" in done.stderr

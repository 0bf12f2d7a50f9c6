"""Live runs through a real server on 127.0.0.1: the event stream follows a log as it
grows and resumes from Last-Event-ID; cancel stops a live run; the server stops when
asked; --open hands the browser a file, not the token."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from loopwright.process.runner import proc_start_time
from loopwright.runs import runner
from loopwright.runs.eventlog import EventWriter
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore
from loopwright.ui import create_app, serve_in_thread
from loopwright.ui.serve import Served

from ..helpers import events_of, wait_dead, wait_for_file, write_scenario
from .conftest import TOKEN, make_run, u

RUN = "20260103-000000000-cccccc"


def _messages(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    """``(event, id, data)`` of each SSE message."""
    event, ident, data = "message", "", ""
    for line in lines:
        if line == "":
            if data:
                yield event, ident, data
            event, ident, data = "message", "", ""
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("data: "):
            data = line[6:]


def test_the_stream_follows_a_live_log_then_resumes_from_last_event_id(
    store: RunStore, served: Served
) -> None:
    me = os.getpid()  # the "host" of this run is the test itself: alive throughout
    make_run(store, RUN, "running", pid=me, pid_start=proc_start_time(me))
    writer = EventWriter(store.paths(RUN).events, RUN)
    writer.append("run_started", 0, {"goal": "g"})
    url = f"{served.url}api/runs/{RUN}/events/stream"
    with httpx.Client(timeout=10) as http, http.stream("GET", url) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        messages = _messages(r.iter_lines())
        _, first_id, data = next(messages)
        assert [e["type"] for e in json.loads(data)["events"]] == ["run_started"]
        writer.append("plan", 1, {"subgoals": []})  # appended while the stream is open
        _, second_id, data = next(messages)
        assert [e["seq"] for e in json.loads(data)["events"]] == [1]
        assert int(second_id) > int(first_id)
    writer.append("warning", 1, {"message": "while nobody listened"})
    writer.append("checkpoint", 1, {"sha": "0" * 40, "files": [], "verdict": "wip"})
    st = store.read_status(RUN)
    store.set_state(RUN, st, "completed")
    writer.close()
    with httpx.Client(timeout=10) as http:
        body = http.get(url, headers={"Last-Event-ID": second_id}).text
        from_query = http.get(f"{url}?cursor={first_id}").text
    got = list(_messages(iter(body.splitlines())))
    assert [json.loads(d)["events"][0]["seq"] for kind, _, d in got if kind == "message"] == [2]
    assert [e["type"] for e in json.loads(got[0][2])["events"]] == ["warning", "checkpoint"]
    assert got[-1][0] == "end" and json.loads(got[-1][2]) == {"state": "completed"}
    assert '"seq":1,' in from_query and '"seq":0,' not in from_query


def test_a_bad_last_event_id_is_refused(store: RunStore, served: Served) -> None:
    make_run(store, RUN)
    url = f"{served.url}api/runs/{RUN}/events/stream"
    for bad in ("abc", "-1", "99999999"):
        r = httpx.get(url, headers={"Last-Event-ID": bad}, timeout=10)
        assert r.status_code == 400, bad


async def test_cancel_stops_a_live_run_and_kills_its_workers(
    store: RunStore, tmp_path: Path
) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"run": ["sh", "-c", script]}]})
    run_id = runner.start(store, build_request("hang", backend=spec))
    grandchild = int(await wait_for_file(tmp_path / "gc.pid"))
    transport = httpx.ASGITransport(app=create_app(store, TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        assert (await http.get(u(f"runs/{run_id}"))).text.count("id=cancel") == 1
        r = await http.post(u(f"api/runs/{run_id}/cancel"), timeout=60)
        assert r.status_code == 200 and r.json() == {"run_id": run_id, "state": "cancelled"}
        assert "id=cancel" not in (await http.get(u(f"runs/{run_id}"))).text
    await wait_dead(grandchild)
    assert store.read_status(run_id)["state"] == "cancelled"
    assert "cancelled" in [e["type"] for e in events_of(store.paths(run_id).events)]


def test_served_in_a_thread_the_dashboard_stops_when_asked(store: RunStore) -> None:
    served = serve_in_thread(store)
    assert httpx.get(served.url, timeout=10).status_code == 200
    served.stop()
    assert not served.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.url, timeout=5)


def test_open_hands_the_browser_a_private_file_not_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopwright.ui.serve import open_in_browser

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    seen = tmp_path / "seen"
    opener.write_text(f"#!/bin/sh\ncat \"$1\" > {seen}.tmp; echo \"$@\" > {seen}.argv; "
                      f"mv {seen}.tmp {seen}\n")  # fmt: skip
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    url = f"http://127.0.0.1:1/{TOKEN}/"
    with open_in_browser(url, tmp_path / "ui") as problem:
        assert problem is None
        page = anyio.run(wait_for_file, seen)
        files = list((tmp_path / "ui").iterdir())
        assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    assert url in page
    assert TOKEN not in Path(f"{seen}.argv").read_text()  # not in any process's argv
    assert not list((tmp_path / "ui").iterdir())  # removed when the server stops

"""Size stays bounded: 10,000 runs are paged, a 100,000-event run loads from a cursor.
The assertions are on what is returned (rows, events, bytes), not on timings."""

from __future__ import annotations

import re

import orjson
from starlette.testclient import TestClient

from loopwright.loop.vocab import ALL_STATES
from loopwright.runs.index import IndexRow
from loopwright.runs.store import RunStore

from .conftest import make_run, u

RUNS = 10_000
EVENTS = 100_000
RUN = "20260102-000000000-bbbbbb"


def _fill_index(store: RunStore) -> None:
    for i in range(RUNS):
        row: IndexRow = {
            "run_id": f"20260101-{i:09d}-abcdef", "state": ALL_STATES[i % len(ALL_STATES)],
            "created_at": 1_700_000_000.0 + i, "updated_at": 1_700_000_000.0 + i,
            "goal": f"goal {i}", "cwd": f"/repos/r{i % 4}", "backend": "scripted",
        }  # fmt: skip
        store.index.upsert(row)


def test_ten_thousand_runs_are_paged_newest_first_and_every_run_is_reached_once(
    client: TestClient, store: RunStore
) -> None:
    _fill_index(store)
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = client.get(u(f"api/runs?limit=500&before={cursor}")).json()
        pages += 1
        assert len(page["runs"]) <= 500 and page["total"] == RUNS
        seen += [r["run_id"] for r in page["runs"]]
        if page["next"] is None:
            break
        cursor = page["next"]
    assert pages == RUNS // 500
    assert len(seen) == len(set(seen)) == RUNS and seen == sorted(seen, reverse=True)

    first = client.get(u()).text  # the HTML page: 50 rows, and a link to the next page
    assert first.count("<tr data-run=") == 50 and len(first) < 60_000
    assert 'rel=next href="?before=20260101-000009950-abcdef"' in first
    assert "10,000 run(s)" in first


def test_runs_are_filtered_by_state_and_repository(client: TestClient, store: RunStore) -> None:
    _fill_index(store)
    page = client.get(u("api/runs?state=failed&repo=/repos/r1&limit=500")).json()
    expected = sum(1 for i in range(RUNS) if ALL_STATES[i % 9] == "failed" and i % 4 == 1)
    assert page["total"] == expected and len(page["runs"]) == min(expected, 500)
    assert {(r["state"], r["repo"]) for r in page["runs"]} == {("failed", "/repos/r1")}
    html = client.get(u("?state=failed&repo=/repos/r1")).text
    assert f"{expected:,} run(s) matching" in html
    assert "<option selected>failed</option>" in html
    assert '<option value="/repos/r1" selected>' in html


def _big_log(store: RunStore) -> int:
    """A run whose log holds 100,000 events: 50 iterations of plan, 1,995 worker output
    lines, finish and checkpoint each. Returns the log's size."""
    path = make_run(store, RUN)
    seq = 0
    with open(path, "wb") as f:
        for it in range(1, 51):
            kinds = [("plan", {"subgoals": [{"id": "a", "title": f"step {it}"}]})]
            kinds += [("worker_output", {"text": "x" * 200})] * 1_995
            kinds += [("model_call", {"provider": "ollama", "model": "m", "input_tokens": 10,
                                      "output_tokens": 5, "cost_usd": 0.0})]  # fmt: skip
            kinds += [("iteration_finished", {"passed": False, "reasons": []})]
            kinds += [("checkpoint", {"sha": f"{it:040x}", "files": [], "verdict": "wip"})]
            kinds += [("warning", {"message": "w"})]
            for kind, data in kinds:
                record = {"seq": seq, "ts": 1.0, "run_id": RUN, "type": kind,
                          "iteration": it, "data": data}  # fmt: skip
                f.write(orjson.dumps(record) + b"\n")
                seq += 1
    assert seq == EVENTS
    return path.stat().st_size


def test_a_run_of_100000_events_loads_its_page_from_the_tail_of_its_log(
    client: TestClient, store: RunStore
) -> None:
    size = _big_log(store)
    page = client.get(u(f"runs/{RUN}")).text
    assert len(page) < 200_000 and size > 20_000_000
    assert page.count("class=iteration data-iteration=") == 50
    data = client.get(u(f"api/runs/{RUN}")).json()
    assert len(data["iterations"]) == 50 and data["models"]["ollama:m"]["calls"] == 50

    newest = client.get(u(f"api/runs/{RUN}/events")).json()  # the page's first view
    assert len(newest["events"]) == 200 and newest["events"][-1]["seq"] == EVENTS - 1
    assert newest["cursor"] == str(size) and newest["more"]
    older = client.get(u(f"api/runs/{RUN}/events?before={newest['start']}&limit=500")).json()
    assert [e["seq"] for e in older["events"]] == list(range(EVENTS - 700, EVENTS - 200))
    first = client.get(u(f"api/runs/{RUN}/events?cursor=0&limit=100")).json()
    assert [e["seq"] for e in first["events"]] == list(range(100)) and first["more"]


def test_the_event_stream_of_a_100000_event_run_starts_with_its_newest_events(
    client: TestClient, store: RunStore
) -> None:
    size = _big_log(store)
    body = client.get(u(f"api/runs/{RUN}/events/stream")).text
    ids = re.findall(r"^id: (\d+)$", body, re.M)
    assert ids == [str(size)] and len(body) < 200_000  # one batch: the newest 200
    batch = orjson.loads(re.findall(r"^data: (\{.*)$", body, re.M)[0])
    assert len(batch["events"]) == 200 and batch["events"][-1]["seq"] == EVENTS - 1
    assert body.rstrip().endswith('data: {"state": "completed"}')

"""The dashboard over HTTP: every endpoint, the token, traversal, the pages of a real run."""

from __future__ import annotations

import os
import re
from pathlib import Path

from starlette.testclient import TestClient

from loopwright.runs.store import RunStore
from loopwright.ui import create_app

from .conftest import TOKEN, make_run, raw_get, u, write_events

RUN = "20260101-000000000-aaaaaa"
ENDPOINTS = [
    "",
    "fragments/runs",
    f"runs/{RUN}",
    f"fragments/runs/{RUN}",
    f"runs/{RUN}/diff/1",
    f"runs/{RUN}/workers/w.out",
    "hosts",
    "api/runs",
    f"api/runs/{RUN}",
    f"api/runs/{RUN}/events",
    f"api/runs/{RUN}/events/stream",
    f"api/runs/{RUN}/diff/1",
    "api/hosts",
    "api/hosts/health",
    "fragments/hosts",
    "static/app.js",
    "static/style.css",
]


def test_every_endpoint_answers_403_without_the_token_or_with_a_wrong_one(
    client: TestClient, store: RunStore
) -> None:
    make_run(store, RUN)
    wrong = ["", "nope/", f"{TOKEN[:-1]}/", f"{TOKEN}x/", f"x{TOKEN}/", f"{TOKEN.upper()}/"]
    for path in ENDPOINTS:
        for prefix in wrong:
            r = client.get(f"/{prefix}{path}")
            assert r.status_code == 403, (prefix, path, r.status_code)
            assert TOKEN not in r.text
    r = client.post(f"/api/runs/{RUN}/cancel")
    assert r.status_code == 403
    assert store.read_status(RUN)["state"] == "completed"


def test_every_endpoint_answers_with_the_token(client: TestClient, store: RunStore) -> None:
    events = make_run(store, RUN)
    write_events(events, [("run_finished", 0, {"state": "completed"})])
    (store.paths(RUN).workers / "w.out").write_text("worker says hi")
    codes = {path: client.get(u(path)).status_code for path in ENDPOINTS}
    # no iteration 1 was checkpointed: its diff is not found; everything else answers
    assert codes.pop(f"runs/{RUN}/diff/1") == codes.pop(f"api/runs/{RUN}/diff/1") == 404
    assert set(codes.values()) == {200}, codes
    assert client.get(f"/{TOKEN}").status_code == 200  # redirected to /<token>/


def test_only_loopback_host_names_are_served(store: RunStore) -> None:
    with TestClient(create_app(store, TOKEN), base_url="http://evil.example") as c:
        assert c.get(u()).status_code == 400
    with TestClient(create_app(store, TOKEN), base_url="http://localhost:8123") as c:
        assert c.get(u()).status_code == 200


def test_responses_keep_the_page_to_itself(client: TestClient) -> None:
    for r in (client.get(u()), client.get("/nope/")):
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"  # the URL holds the token
        assert r.headers["x-frame-options"] == "DENY"


def test_a_demo_run_shows_iterations_budgets_backends_and_each_iterations_diff(
    client: TestClient, demo_run: str
) -> None:
    page = client.get(u(f"runs/{demo_run}")).text
    assert page.count('class=iteration data-iteration="') == 2
    assert "Iteration 1" in page and "Iteration 2" in page
    assert "not passed" in page and "passed" in page  # iteration 1 failed its verify
    assert "st-completed" in page and "Budgets" in page and "scripted:" in page
    assert f'<base href="/{TOKEN}/">' in page
    diffs = re.findall(r'data-diff="(runs/[^"]+/diff/\d+)"', page)
    assert diffs == [f"runs/{demo_run}/diff/2", f"runs/{demo_run}/diff/1"]
    first = client.get(u(diffs[1])).text  # iteration 1 fixed mean(): // became /
    assert '<span class="dl-del">-    return sum(values) // len(values)</span>' in first
    assert '<span class="dl-add">+    return sum(values) / len(values)</span>' in first
    second = client.get(u(diffs[0])).text  # iteration 2 fixed median()
    assert "median" in second and "dl-add" in second and "// len(values)" not in second
    data = client.get(u(f"api/runs/{demo_run}")).json()
    assert [it["passed"] for it in data["iterations"]] == [False, True]
    assert data["status"]["state"] == "completed" and data["roles"]["planner"]
    assert {b["label"] for b in data["budgets"]} >= {"iterations", "tokens", "cost"}
    patch = client.get(u(f"api/runs/{demo_run}/diff/1")).json()
    assert patch["sha"] == data["iterations"][0]["checkpoint"]["sha"] and not patch["truncated"]


def test_the_runs_page_lists_runs_linking_to_their_pages(client: TestClient, demo_run: str) -> None:
    page = client.get(u()).text
    assert f'href="runs/{demo_run}"' in page and "st-completed" in page
    rows = client.get(u("api/runs")).json()
    assert rows["total"] == 1 and rows["next"] is None
    assert rows["runs"][0]["iteration"] == 2 and rows["runs"][0]["state"] == "completed"
    assert client.get(u("fragments/runs?state=completed")).text.count("<tr") == 1
    assert "no runs" in client.get(u("fragments/runs?state=failed")).text


def test_worker_output_files_are_served_as_text_and_nothing_else_is(
    client: TestClient, store: RunStore, tmp_path: Path
) -> None:
    make_run(store, RUN)
    workers = store.paths(RUN).workers
    (workers / "mean-1.out").write_text("<script>alert(1)</script> worker output")
    secret = tmp_path / "secret.out"
    secret.write_text("SECRET-CONTENT")
    os.symlink(secret, workers / "link.out")
    r = client.get(u(f"runs/{RUN}/workers/mean-1.out"))
    assert r.status_code == 200 and r.text.startswith("<script>")
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["x-content-type-options"] == "nosniff"
    app = create_app(store, TOKEN)
    for name in ("link.out", "..", "../status.json", "..%2Fstatus.json", "%2E%2E", ".out",
                 "x%00.out", "../../../secret.out", "..%2F..%2F..%2Fsecret.out",
                 "mean-1.out/../../status.json", "..%2frequest.json"):  # fmt: skip
        code, body = raw_get(app, u(f"runs/{RUN}/workers/{name}"))
        assert code in (404, 400), name
        assert b"SECRET" not in body and b'"state"' not in body and b"goal of" not in body
    listing = client.get(u(f"api/runs/{RUN}")).json()["workers"]
    assert listing == [{"name": "mean-1.out", "bytes": 39}]  # the symlink is not listed
    (workers / "big.out").write_bytes(b"y" * 1_500_000)
    big = client.get(u(f"runs/{RUN}/workers/big.out")).content
    assert len(big) < 1_000_100 and big.endswith(b"[cut here: the file holds 1,500,000 bytes]\n")


def test_static_files_are_served_and_paths_out_of_static_are_refused(
    client: TestClient, store: RunStore
) -> None:
    assert "EventSource" in client.get(u("static/app.js")).text
    app = create_app(store, TOKEN)
    for path in ("static/../app.py", "static/%2E%2E/app.py", "static/..%2Fapp.py",
                 "static/../../config.py", "static/..%2F..%2Fconfig.py", "static/",
                 "static/../pages/run.py", "static/%2e%2e/%2e%2e/errors.py"):  # fmt: skip
        code, body = raw_get(app, u(path))
        assert code == 404, path
        assert b"create_app" not in body and b"LoopwrightError" not in body and b"def " not in body


def test_bad_parameters_are_refused_with_the_field_named(
    client: TestClient, store: RunStore
) -> None:
    make_run(store, RUN)
    cases = {
        "api/runs?state=bogus": "state",
        "api/runs?limit=0": "limit",
        "api/runs?limit=100000": "limit",
        "api/runs?limit=-1": "limit",
        "api/runs?before=..%2F..%2Fetc": "before",
        f"api/runs/{RUN}/events?cursor=abc": "cursor",
        f"api/runs/{RUN}/events?before=99999999": "before",
        "api/runs/not-a-run-id": "run_id",
    }
    for path, field in cases.items():
        r = client.get(u(path))
        assert r.status_code == 400, path
        assert r.json()["field"] == field, path
    assert client.get(u("api/runs/20991231-000000000-ffffff")).status_code == 404
    assert client.get(u("runs/..%2F..%2Fetc")).status_code in (400, 404)
    assert client.get(u(f"api/runs/{RUN}/cancel")).status_code == 405

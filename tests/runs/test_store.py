from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from loopwright.errors import RunNotFound, UserError
from loopwright.runs import runner
from loopwright.runs.ids import check_run_id, new_run_id
from loopwright.runs.redact import Redactor
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore, write_json_atomic


def test_run_ids_sort_by_time_and_are_unique() -> None:
    ids = [new_run_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(check_run_id(i) == i for i in ids[:5])


@pytest.mark.parametrize(
    "bad",
    ["../x", "/etc/passwd", "", "20261123-071300123-A3F9C2", "20261123-071300123-a3f9c2/../../x"],
)
def test_anything_but_the_id_format_is_refused(store: RunStore, bad: str) -> None:
    with pytest.raises(UserError, match="not a run id"):
        store.paths(bad)


def test_a_run_id_with_a_trailing_newline_or_another_script_s_digits_is_refused(
    store: RunStore,
) -> None:
    run_id = new_run_id()
    for bad in (f"{run_id}\n", f"{run_id}\r", "٢٠٢٦١١٢٣-071300123-a3f9c2"):
        with pytest.raises(UserError, match="not a run id"):
            check_run_id(bad)
        with pytest.raises(UserError, match="not a run id"):
            store.paths(bad)


def test_an_unknown_run_is_a_clear_error(store: RunStore) -> None:
    with pytest.raises(RunNotFound):
        store.read_status(new_run_id())


def test_status_writes_are_atomic_for_concurrent_readers(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    redact = Redactor([])
    write_json_atomic(path, {"n": 0, "pad": "x" * 5000}, redact)
    bad: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except ValueError as exc:
                bad.append(str(exc))

    t = threading.Thread(target=reader)
    t.start()
    for n in range(500):
        write_json_atomic(path, {"n": n, "pad": "x" * (5000 + n)}, redact)
    stop.set()
    t.join(timeout=10)
    assert not bad
    assert json.loads(path.read_text())["n"] == 499
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temp files left


def test_a_run_directory_is_private_and_complete(store: RunStore) -> None:
    run_id = runner.create_run(store, build_request("do it"))
    p = store.paths(run_id)
    assert p.root.stat().st_mode & 0o777 == 0o700
    assert p.workers.stat().st_mode & 0o777 == 0o700
    for f in (p.request, p.status):
        assert f.stat().st_mode & 0o777 == 0o600
    assert store.read_status(run_id)["state"] == "queued"
    assert store.read_request(run_id)["loop"]["goal"] == "do it"


def test_secrets_never_reach_the_request_or_status(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_API_KEY", "sk-test-abcdef123456")
    s = RunStore(store.home)  # the redactor reads the environment
    run_id = runner.create_run(s, build_request("use key sk-test-abcdef123456 please"))
    p = s.paths(run_id)
    assert "sk-test-abcdef123456" not in p.request.read_text()
    assert "sk-test-abcdef123456" not in p.status.read_text()


def test_the_index_lists_newest_first_and_filters_by_state(store: RunStore) -> None:
    ids = [runner.create_run(store, build_request(f"goal {n}")) for n in range(5)]
    status = store.read_status(ids[1])
    store.set_state(ids[1], status, "completed")
    assert [r["run_id"] for r in store.index.list()] == ids[::-1]
    assert [r["run_id"] for r in store.index.list("completed")] == [ids[1]]
    assert store.index.list(limit=2)[0]["goal"] == "goal 4"


def test_the_index_is_rebuilt_from_run_dirs_when_lost(store: RunStore) -> None:
    ids = [runner.create_run(store, build_request(f"goal {n}")) for n in range(3)]
    store.index.close()
    (store.home / "index.sqlite").unlink()
    for extra in store.home.glob("index.sqlite-*"):
        extra.unlink()
    fresh = RunStore(store.home)
    assert sorted(r["run_id"] for r in fresh.index.list()) == ids


def test_a_worker_output_file_marks_the_cut_even_when_the_cap_is_met_exactly(
    tmp_path: Path,
) -> None:
    from loopwright.runs.recorder import CappedFile

    f = CappedFile(str(tmp_path / "w.out"), Redactor([]), cap=10)
    f.write("0123456789")  # exactly the cap
    f.write("more")
    f.write("and more")
    f.close()
    text = (tmp_path / "w.out").read_text()
    assert text.startswith("0123456789") and text.count("output cut at the size cap") == 1

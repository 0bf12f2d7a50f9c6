"""``loopwright config show`` and the config files as the CLI uses them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.cli import commands
from loopwright.loop.vocab import LIVE_STATES
from loopwright.runs import runner
from loopwright.runs.store import RunStore


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LOOPWRIGHT_CONFIG", raising=False)
    commands._STORE = None
    yield tmp_path / "xdg" / "loopwright" / "config.toml"
    commands._STORE = None


def lw(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = commands.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_config_show_lists_each_default_with_its_source(
    repo: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated.parent.mkdir(parents=True)
    isolated.write_text("[budget]\nmax_iterations = 3\n[ollama.hosts.gpu1]\nurl = 'http://x'\n")
    (repo / ".loopwright.toml").write_text("[run]\nverify = ['pytest -q']\n")
    code, out, _ = lw(capsys, "config", "show", "--cwd", str(repo))
    assert code == 0
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith(("run.", "budget."))}
    assert lines["run.verify"].split(None, 1)[1].startswith("pytest -q")
    assert lines["run.verify"].endswith(f"repo file {repo / '.loopwright.toml'}")
    assert lines["budget.max_iterations"].endswith(f"user file {isolated}")
    assert lines["budget.max_seconds"].endswith("built-in")
    assert "precedence: an option you give > repo file > user file > built-in" in out
    assert "also in the user file: [ollama.hosts.gpu1]" in out
    code, out, _ = lw(capsys, "config", "show", "--cwd", str(repo), "--json")
    shown = json.loads(out)
    assert shown["repo_file"] == str(repo / ".loopwright.toml")
    assert shown["settings"]["run.verify"]["value"] == [["pytest", "-q"]]


def test_a_run_in_a_repository_takes_its_defaults_from_the_repo_file(
    repo: Path, store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".loopwright.toml").write_text(
        "[run]\nverify = ['test -f loopwright-scripted.md']\n[budget]\nmax_iterations = 2\n"
    )
    code, out, err = lw(capsys, "run", "write a file", "--cwd", str(repo), "--detach", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    assert runner.wait(store, run_id, 30)["state"] not in LIVE_STATES
    loop = store.read_request(run_id)["loop"]
    assert loop["verify_commands"] == [["test", "-f", "loopwright-scripted.md"]]
    assert loop["budget"]["max_iterations"] == 2
    code, out, err = lw(capsys, "run", "again", "--cwd", str(repo), "--max-iterations", "4",
                        "--verify", "true", "--detach", "--json")  # fmt: skip
    loop = store.read_request(json.loads(out)["run_id"])["loop"]
    assert loop["budget"]["max_iterations"] == 4 and loop["verify_commands"] == [["true"]]


def test_a_mistake_in_a_config_file_is_said_once_without_an_option_name(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".loopwright.toml").write_text("[run]\nverfy = ['pytest']\n")
    code, _, err = lw(capsys, "run", "x", "--cwd", str(repo))
    assert code == 2
    assert err == (
        f"loopwright: error: config {repo / '.loopwright.toml'}: unknown key run.verfy; "
        "did you mean run.verify?\n"
    )

"""The command line refuses what the MCP edge refuses: exit 2, the option named."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.cli import main

RUN_ID = "20261123-071300123-a3f9c2"


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err: str = capsys.readouterr().err
    return err


@pytest.mark.parametrize("bad", ["\n", "\x01", "\x1b[2J", "\x7f"])
def test_control_characters_in_cwd_verify_and_run_ids_exit_2_naming_the_option(
    bad: str, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said = "holds a control character"
    err = refused(["run", "g", "--detach", "--cwd", f"{tmp_path}{bad}"], capsys)
    assert err.startswith("loopwright: error: --cwd") and said in err
    err = refused(["run", "g", "--detach", "--no-preflight", "--verify", f"echo '{bad}'"], capsys)
    assert err.startswith("loopwright: error: --verify") and said in err
    err = refused(["doctor", "--cwd", f"/tmp{bad}"], capsys)
    assert err.startswith("loopwright: error: --cwd") and said in err
    for command in ("status", "cancel", "result", "diff", "tail"):
        err = refused([command, f"{RUN_ID}{bad}"], capsys)
        assert "is not a run id" in err, command
    assert not (home / "runs").exists() or not list((home / "runs").iterdir())


@pytest.mark.parametrize("option", ["--backend", "--planner", "--worker", "--reviewer"])
def test_an_empty_backend_option_exits_2_instead_of_meaning_scripted(
    option: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(["run", "g", "--detach", option, ""], capsys)
    assert err.startswith(f"loopwright: error: {option}") and "is empty" in err
    assert not (home / "runs").exists()

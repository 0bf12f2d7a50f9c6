"""The sandbox's command line and caps, read without running bubblewrap (fast suite)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.process.bwrap import Mount, Plan, call_tmp, child_env, repo_root, sandbox_argv
from loopwright.process.caps import Caps
from loopwright.runs.git.scratch import make_scratch_repo

MIB = 1024 * 1024


def binds(argv: list[str], flag: str) -> list[str]:
    """Where each ``flag`` mounts (a bind's destination, a tmpfs's path)."""
    skip = 1 if flag == "--tmpfs" else 2
    return [argv[i + skip] for i, a in enumerate(argv) if a == flag]


def plan(cwd: Path, tmp_path: Path, **env: str) -> Plan:
    return Plan("bwrap", cwd, {"PATH": "/usr/bin:/bin", **env}, tmp_path / "private", False)


def test_the_caps_come_from_the_environment_with_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Caps.configured() == Caps(8192 * MIB, 1024, 4096 * MIB)
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX_MEMORY_MB", "512")
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX_PROCESSES", "64")
    assert Caps.configured() == Caps(512 * MIB, 64, 4096 * MIB)
    assert Caps(1, 2, 3).prlimit("/usr/bin/prlimit") == [
        "/usr/bin/prlimit", "--data=1", "--nproc=2", "--fsize=3", "--",
    ]  # fmt: skip
    for bad in ("0", "-1", "lots", "1.5"):
        monkeypatch.setenv("LOOPWRIGHT_SANDBOX_FILE_MB", bad)
        with pytest.raises(UserError, match="LOOPWRIGHT_SANDBOX_FILE_MB") as caught:
            Caps.configured()
        assert caught.value.field == "LOOPWRIGHT_SANDBOX_FILE_MB"


def test_the_worktree_is_writable_and_its_git_dirs_read_only_after_it(tmp_path: Path) -> None:
    main = make_scratch_repo(tmp_path / "main")
    subprocess.run(
        ["git", "-C", str(main), "worktree", "add", "-q", "-b", "wt", str(tmp_path / "wt")],
        check=True,
    )
    cwd = tmp_path / "wt"
    (cwd / "sub").mkdir()
    argv = sandbox_argv(plan(cwd / "sub", tmp_path), ["pytest"])
    assert binds(argv, "--bind") == ["/tmp", str(cwd)]  # the private tmp, the worktree
    ro = binds(argv, "--ro-bind")
    assert [str(cwd / ".git"), str(main / ".git" / "worktrees" / "wt"), str(main / ".git")] == [
        p for p in ro if ".git" in p
    ]
    assert argv.index(str(cwd)) < argv.index(str(main / ".git"))  # on top of the worktree
    assert argv[-3:] == ["--chdir", str(cwd / "sub"), "pytest"]
    assert "--share-net" not in argv and "--unshare-all" in argv and "ALL" in argv


def test_the_writable_root_is_never_slash_or_home_as_a_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)  # a dotfiles repository
    (home / "project").mkdir()
    assert repo_root(home / "project", home) == home / "project"


@pytest.fixture
def temp_dir_of_ours() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="loopwright-agent-"))
    yield path
    path.rmdir()


def test_tmpdir_is_the_private_tmp_unless_it_is_a_per_call_dir_loopwright_made(
    tmp_path: Path, temp_dir_of_ours: Path
) -> None:
    assert child_env({"TMPDIR": str(tmp_path)})["TMPDIR"] == "/tmp"
    assert child_env({"TMPDIR": tempfile.gettempdir()})["TMPDIR"] == "/tmp"
    assert call_tmp({"TMPDIR": str(temp_dir_of_ours)}) == temp_dir_of_ours.resolve()
    argv = sandbox_argv(plan(tmp_path, tmp_path, TMPDIR=str(temp_dir_of_ours)), ["x"])
    assert str(temp_dir_of_ours.resolve()) in binds(argv, "--bind")


def test_programs_in_home_come_back_read_only_a_venv_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    venv = home / "proj" / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "pytest").write_text("#!/bin/sh\n")
    (venv / "bin" / "pytest").chmod(0o755)
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "lib").mkdir()
    (home / ".ssh").mkdir()
    path = f"{home / '.local' / 'bin'}:/usr/bin"
    p = Plan("bwrap", tmp_path, {"PATH": path, "HOME": str(home)}, tmp_path / "t", False)
    argv = sandbox_argv(p, [str(venv / "bin" / "pytest")])
    assert str(home) in binds(argv, "--tmpfs")
    ro = binds(argv, "--ro-bind")
    assert {str(venv), str(home / ".local" / "bin"), str(home / ".local" / "lib")} <= set(ro)
    assert not [r for r in ro if ".ssh" in r]


def test_policy_mounts_keep_their_mode_and_the_network_is_shared_only_when_allowed(
    tmp_path: Path,
) -> None:
    mounts = (Mount(tmp_path / "conf"), Mount(tmp_path / "state", writable=True))
    p = Plan("bwrap", tmp_path, {}, tmp_path / "t", True, mounts)
    argv = sandbox_argv(p, ["x"])
    assert binds(argv, "--ro-bind-try") == [str(tmp_path / "conf")]
    assert binds(argv, "--bind-try") == [str(tmp_path / "state")]
    assert "--share-net" in argv

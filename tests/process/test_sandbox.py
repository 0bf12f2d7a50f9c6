"""The sandbox runner confines what it runs (modelled on Codex's Linux sandbox tests):
writes outside the worktree fail, ``.git`` is read-only, the network is off unless
allowed, nothing outlives the step, and the caps hold. Needs bubblewrap (marker
``sandbox``; under CI a missing bubblewrap fails)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from loopwright.process.caps import Caps
from loopwright.process.runner import PlainRunner, ProcessResult
from loopwright.process.sandbox import Mount, SandboxPolicy, SandboxRunner
from loopwright.runs.git.scratch import make_scratch_repo

from ..sandboxing import need_sandbox

pytestmark = pytest.mark.sandbox
PY = sys.executable
MIB = 1024 * 1024
IDENTITY = ["-c", "user.name=t", "-c", "user.email=t@t"]  # no global git config on CI


@pytest.fixture(autouse=True)
def _needs_bwrap() -> None:
    need_sandbox()


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """A linked worktree of a scratch repo: its ``.git`` is a file into the main repo."""
    main = make_scratch_repo(tmp_path / "main")
    path = tmp_path / "wt"
    subprocess.run(
        ["git", "-C", str(main), "worktree", "add", "-q", "-b", "run", str(path)], check=True
    )
    return path


async def sandboxed(
    code: str, cwd: Path, policy: SandboxPolicy | None = None, **kw: object
) -> ProcessResult:
    with anyio.fail_after(60):
        return await SandboxRunner(policy).run([PY, "-c", code], cwd=cwd, timeout=30, **kw)  # type: ignore[arg-type]


def writes(path: Path) -> str:
    return (
        "import sys\n"
        f"try:\n    open({str(path)!r}, 'w').write('x')\n"
        "except OSError as e:\n    print('refused', e.strerror); sys.exit(3)\n"
        "print('wrote')"
    )


async def test_a_sandboxed_command_can_write_its_worktree_and_its_private_tmp(
    worktree: Path,
) -> None:
    code = (
        "import os, tempfile; open('made.txt', 'w').write('ok'); "
        "p = os.path.join(tempfile.gettempdir(), 't'); open(p, 'w').write('tmp'); "
        "print(tempfile.gettempdir(), open(p).read())"
    )
    r = await sandboxed(code, worktree)
    assert r.exit_code == 0, r.output
    assert (worktree / "made.txt").read_text() == "ok"
    assert r.output.split() == ["/tmp", "tmp"]
    assert r.argv[:2] == [PY, "-c"]  # the command as given, not bubblewrap's


@pytest.fixture
def home_dir() -> Iterator[Path]:
    """A dir in the real home (the sandbox hides home), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=".loopwright-sandbox-test-", dir=Path.home()))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_a_sandboxed_command_cannot_write_outside_its_worktree(
    worktree: Path, tmp_path: Path, home_dir: Path
) -> None:
    tools = tmp_path / "tools"  # on PATH: visible in the sandbox, read-only
    tools.mkdir()
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    for target in (tools / "outside.txt", Path("/etc/lw-sandbox")):
        r = await sandboxed(writes(target), worktree, env=env)
        assert r.exit_code == 3 and "Read-only file system" in r.output, r.output
        assert not target.exists(), target
    # /tmp and home are private to the step: a write lands there and vanishes with it
    for target in (tmp_path / "outside.txt", home_dir / "outside.txt"):
        r = await sandboxed(writes(target), worktree)
        assert not target.exists(), target


async def test_a_sandboxed_command_cannot_write_git_neither_the_worktree_s_nor_the_repository_s(
    worktree: Path, tmp_path: Path
) -> None:
    common = tmp_path / "main" / ".git"
    for target in (worktree / ".git", common / "config", common / "hooks" / "pre-commit"):
        before = target.read_bytes() if target.exists() else None
        r = await sandboxed(writes(target), worktree)
        assert r.exit_code == 3 and "Read-only file system" in r.output, r.output
        assert (target.read_bytes() if target.exists() else None) == before
    r = await SandboxRunner().run(
        ["git", "commit", "--allow-empty", "-m", "sneaky"], cwd=worktree, timeout=30
    )
    assert r.exit_code != 0 and "Read-only file system" in r.output, r.output


async def test_a_sandboxed_command_cannot_read_home_or_other_runs(
    worktree: Path, home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = home_dir / ".ssh" / "id_ed25519"
    secret.parent.mkdir(parents=True)
    secret.write_text("secret")
    other_run = home_dir / "state" / "runs" / "other" / "events.jsonl"
    other_run.parent.mkdir(parents=True)
    other_run.write_text("{}")
    monkeypatch.setenv("LOOPWRIGHT_HOME", str(home_dir / "state"))
    code = (
        f"import os; print(os.path.exists({str(secret)!r}), "
        f"os.path.exists({str(other_run)!r}), sorted(os.listdir(os.path.expanduser('~'))))"
    )
    r = await sandboxed(code, worktree)
    assert r.exit_code == 0, r.output
    found, run, listing = r.output.split(" ", 2)
    assert (found, run) == ("False", "False"), r.output
    assert home_dir.name not in listing


async def test_login_files_named_by_the_policy_come_back_read_only_or_writable(
    worktree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_home = tmp_path / "user"
    (fake_home / ".tool").mkdir(parents=True)
    (fake_home / ".tool.conf").write_text("conf")
    (fake_home / ".tool" / "auth.json").write_text("{}")
    monkeypatch.setenv("HOME", str(fake_home))
    policy = SandboxPolicy(
        mounts=(Mount(fake_home / ".tool.conf"), Mount(fake_home / ".tool", writable=True))
    )
    r = await sandboxed(writes(fake_home / ".tool" / "auth.json"), worktree, policy)
    assert r.exit_code == 0 and (fake_home / ".tool" / "auth.json").read_text() == "x"
    r = await sandboxed(writes(fake_home / ".tool.conf"), worktree, policy)
    assert r.exit_code == 3 and (fake_home / ".tool.conf").read_text() == "conf"


@pytest.fixture
def listener() -> Iterator[int]:
    """A server on 127.0.0.1 (accepting is not needed: the kernel completes connects)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def connects(port: int) -> str:
    return (
        "import socket, sys\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
        "except OSError as e:\n    print('unreachable', e); sys.exit(3)\n"
        "print('reached')"
    )


async def test_with_the_network_off_a_sandboxed_command_cannot_reach_a_server_on_loopback(
    worktree: Path, listener: int
) -> None:
    r = await sandboxed(connects(listener), worktree)
    assert r.exit_code == 3 and "unreachable" in r.output, r.output


async def test_with_the_network_allowed_a_sandboxed_command_reaches_it(
    worktree: Path, listener: int
) -> None:
    r = await sandboxed(connects(listener), worktree, SandboxPolicy(network=True))
    assert r.exit_code == 0 and "reached" in r.output, r.output


def running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def test_a_background_process_does_not_outlive_its_sandboxed_step(worktree: Path) -> None:
    marker = f"{uuid.uuid4().int % 10**6 + 10**6}"
    code = (
        "import subprocess, os\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
        "print('left behind', flush=True)"
    )
    r = await sandboxed(code, worktree)
    assert r.exit_code == 0 and "left behind" in r.output
    with anyio.fail_after(5):  # the kernel tears a PID namespace down asynchronously
        while running(marker):
            await anyio.sleep(0.02)


async def test_the_environment_handed_in_is_the_one_the_command_gets(worktree: Path) -> None:
    code = "import os; print(os.environ.get('GIVEN'), os.environ.get('NOT_GIVEN'))"
    env = {"PATH": os.environ["PATH"], "GIVEN": "yes"}
    os.environ["NOT_GIVEN"] = "leak"
    try:
        r = await sandboxed(code, worktree, env=env)
    finally:
        del os.environ["NOT_GIVEN"]
    assert r.output.split() == ["yes", "None"], r.output


SMALL = Caps(memory=128 * MIB, processes=16, file_size=1 * MIB)


async def test_the_memory_cap_applies(worktree: Path) -> None:
    code = "b = bytearray(512 * 1024 * 1024); print('allocated')"
    r = await sandboxed(code, worktree, SandboxPolicy(caps=SMALL))
    assert r.exit_code != 0 and "MemoryError" in r.output, r.output
    plain = await PlainRunner().run([PY, "-c", code], cwd=worktree, timeout=30)
    assert plain.exit_code == 0  # the same command, unconfined, allocates


async def test_the_process_cap_applies(worktree: Path) -> None:
    code = (
        "import subprocess\n"
        "kids = []\n"
        "try:\n"
        "    for _ in range(40): kids.append(subprocess.Popen(['sleep', '30']))\n"
        "except OSError as e:\n    print('refused after', len(kids), e.strerror)\n"
        "for k in kids: k.kill()\n"
    )
    r = await sandboxed(code, worktree, SandboxPolicy(caps=SMALL))
    assert "refused after" in r.output, r.output
    assert int(r.output.split()[2]) < 16  # the python itself is one of the 16


async def test_the_file_size_cap_applies(worktree: Path) -> None:
    code = "open('big', 'wb').write(b'x' * (4 * 1024 * 1024))"
    r = await sandboxed(code, worktree, SandboxPolicy(caps=SMALL))
    assert r.exit_code != 0 and "File too large" in r.output, r.output
    assert (worktree / "big").stat().st_size <= 1 * MIB


async def test_a_home_under_tmp_is_an_empty_writable_home_inside_the_sandbox(
    worktree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"  # under /tmp, which the sandbox replaces with a private one
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("secret")
    monkeypatch.setenv("HOME", str(home))
    code = (
        "import os; h = os.path.expanduser('~'); print(sorted(os.listdir(h))); "
        "os.makedirs(h + '/.cache'); open(h + '/.cache/x', 'w').write('x'); print('wrote')"
    )
    r = await sandboxed(code, worktree)
    assert r.exit_code == 0 and r.output.split() == ["[]", "wrote"], r.output
    assert sorted(p.name for p in home.iterdir()) == [".ssh"]


def test_git_goes_to_the_plain_runner_and_may_write_git(worktree: Path) -> None:
    done = SandboxRunner().run_sync(
        ["git", *IDENTITY, "commit", "-q", "--allow-empty", "-m", "loopwright's own"],
        cwd=worktree,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr

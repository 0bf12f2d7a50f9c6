"""The bubblewrap command line of one sandboxed command: what it sees, what it may write.

Mounts in order (a later one lies on top of an earlier one):

1. ``/`` read-only; a fresh ``/dev`` and a ``/proc`` of its own PID namespace.
2. Hidden behind empty tmpfs: ``/home``, ``/root``, ``$HOME``, ``/run`` (sockets such as
   the Docker or D-Bus ones, ``XDG_RUNTIME_DIR``), ``/var/tmp`` and loopwright's state
   dir (other runs). With the network on, the resolver's file under ``/run`` comes back
   read-only so that ``/etc/resolv.conf`` still resolves.
3. ``/tmp``: the command's private temp dir (made and removed by the runner); ``TMPDIR``
   is ``/tmp`` unless it names a per-call temp dir loopwright made (see ``call_tmp``).
4. Read-only, from the hidden places and the host's ``/tmp``: the directories of the
   ``PATH`` entries and of the program itself (a virtualenv or a toolchain prefix whole:
   ``bin``'s parent when it has ``lib`` or ``pyvenv.cfg``, ``~/.local/lib`` with
   ``~/.local/bin``), then the extra mounts the policy names (an agent CLI's login
   files), each read-only or writable.
5. Writable: the working dir's repository root (the worktree), else the working dir.
6. Read-only again: its ``.git`` and, for a worktree whose ``.git`` is a file, the git
   dir it points to and the repository's common dir: commits are loopwright's job.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import state_dir
from ..errors import ProcessError

__all__ = ["CALL_TMP_PREFIX", "Mount", "Plan", "call_tmp", "repo_root", "sandbox_argv"]

CALL_TMP_PREFIX = "loopwright-"
"""A ``TMPDIR`` directly in the system temp dir whose name starts so is a per-call temp dir
loopwright made (an agent CLI's prompt files): the command gets it writable."""
HIDDEN = ("/home", "/root", "/run", "/var/tmp")
RESOLV_CONF = Path("/etc/resolv.conf")


@dataclass(frozen=True)
class Mount:
    """A path bound into the sandbox at the same place."""

    path: Path
    writable: bool = False


@dataclass(frozen=True)
class Plan:
    """Everything about one sandboxed command besides the command itself."""

    bwrap: str
    cwd: Path
    env: Mapping[str, str]
    tmp: Path
    """The private temp dir on the host, mounted at ``/tmp``."""
    network: bool = False
    extra: tuple[Mount, ...] = ()


def sandbox_argv(plan: Plan, argv: Sequence[str], prefix: Sequence[str] = ()) -> list[str]:
    """The ``bwrap`` argv that runs ``argv`` confined, behind ``prefix`` (its caps)."""
    home = _real(plan.env.get("HOME") or str(Path.home()))
    hidden = _hidden(home)
    args = [plan.bwrap, "--die-with-parent", "--new-session", "--unshare-all"]
    args += ["--cap-drop", "ALL"]  # root keeps its capabilities in bwrap unless dropped
    if plan.network:
        args.append("--share-net")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in hidden:
        args += ["--tmpfs", str(path)]
    if plan.network:
        args += _ro(_resolver(hidden))
    args += ["--bind", str(plan.tmp), "/tmp"]
    if _inside(home, _real("/tmp")):  # the private /tmp hid it: an empty home, as elsewhere
        args += ["--tmpfs", str(home)]
    for source, dest in _toolchains(argv, plan.env, [*hidden, _real("/tmp")], home):
        args += ["--ro-bind", str(source), str(dest)]
    for m in plan.extra:
        args += ["--bind-try" if m.writable else "--ro-bind-try", str(m.path), str(m.path)]
    root = repo_root(plan.cwd, home)
    args += ["--bind", str(root), str(root)]
    args += _ro(_git_dirs(root))
    tmp = call_tmp(plan.env)
    if tmp is not None:
        args += ["--bind", str(tmp), str(tmp)]
    return [*args, "--chdir", str(plan.cwd), *prefix, *argv]


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The command's environment: ``env`` as given, ``TMPDIR`` the private ``/tmp`` unless
    it names a per-call temp dir of loopwright's."""
    return {**env, "TMPDIR": str(call_tmp(env) or "/tmp")}


def call_tmp(env: Mapping[str, str]) -> Path | None:
    """``env``'s ``TMPDIR`` when it is a per-call temp dir loopwright made (an agent CLI's:
    ``CALL_TMP_PREFIX``, directly in the system temp dir, ours); else None."""
    value = env.get("TMPDIR")
    if not value or not os.path.isabs(value):
        return None
    path = _real(value)
    base = _real(tempfile.gettempdir())
    if path.parent != base or not path.name.startswith(CALL_TMP_PREFIX):
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return path if path.is_dir() and st.st_uid == os.geteuid() else None


def repo_root(cwd: Path, home: Path) -> Path:
    """The writable root for a command run in ``cwd``: its repository's top level (the
    worktree), else ``cwd`` itself; never ``/`` nor the home dir as a whole."""
    cwd = _real(str(cwd))
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            if folder not in (Path("/"), home):
                return folder
            break
    if cwd == Path("/"):
        raise ProcessError("refusing to sandbox a command in / (it would make / writable)")
    return cwd


def _git_dirs(root: Path) -> list[Path]:
    """``root/.git`` and, when it is a file (a worktree), the dirs it points into."""
    dotgit = root / ".git"
    if not dotgit.is_file():
        return [dotgit] if dotgit.is_dir() else []
    found = [dotgit]
    try:
        text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return found
    if not text.startswith("gitdir:"):
        return found
    gitdir = _real(str(root / text.removeprefix("gitdir:").strip()))
    if gitdir.is_dir():
        found.append(gitdir)
        common = gitdir / "commondir"
        if common.is_file():
            found.append(_real(str(gitdir / common.read_text(encoding="utf-8").strip())))
    return [p for p in found if p.exists()]


def _hidden(home: Path) -> list[Path]:
    candidates = [*(_real(p) for p in HIDDEN), home, state_dir()]
    found: list[Path] = []
    for path in candidates:
        if path.is_dir() and path != Path("/") and not _within(path, found):
            found = [p for p in found if not _inside(p, path)] + [path]
    return found


def _resolver(hidden: list[Path]) -> list[Path]:
    """The dir of the file ``/etc/resolv.conf`` links to, when it is a hidden one."""
    target = _real(str(RESOLV_CONF))
    return [target.parent] if target != RESOLV_CONF and _within(target, hidden) else []


def _toolchains(
    argv: Sequence[str], env: Mapping[str, str], hidden: list[Path], home: Path
) -> list[tuple[Path, Path]]:
    """(source, destination) of each program dir that lies in a hidden place."""
    search = env.get("PATH", os.defpath)
    entries = [Path(os.path.normpath(e)) for e in search.split(os.pathsep) if os.path.isabs(e)]
    program = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=search)
    if program and os.path.isabs(program):
        entries += [Path(os.path.normpath(program)).parent, _real(program).parent]
    found: dict[Path, Path] = {}
    for entry in entries:
        if not _within(entry, hidden):
            continue
        for dest in _prefix(entry, home):
            source = _real(str(dest))
            if source.is_dir():
                found.setdefault(dest, source)
    return [(source, dest) for dest, source in found.items()]


def _prefix(bin_dir: Path, home: Path) -> list[Path]:
    """What a program dir needs: a venv or toolchain prefix whole, else the dir alone."""
    parent = bin_dir.parent
    local = home / ".local"
    if bin_dir == local / "bin":
        return [bin_dir, local / "lib"]  # pip --user: its scripts and its site-packages
    real = _real(str(parent))
    toolchain = (real / "pyvenv.cfg").is_file() or (real / "lib").is_dir()
    if bin_dir.name == "bin" and parent not in (home, local, Path("/")) and toolchain:
        return [parent]
    return [bin_dir]


def _ro(paths: Iterable[Path]) -> list[str]:
    args: list[str] = []
    for p in paths:
        args += ["--ro-bind", str(p), str(p)]
    return args


def _real(path: str) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _within(path: Path, dirs: Iterable[Path]) -> bool:
    return any(_inside(path, d) for d in dirs)

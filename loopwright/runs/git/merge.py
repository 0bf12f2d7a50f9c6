"""``diff`` and ``merge`` of a run's branch: what it changed, and bringing it home safely.

A merge never leaves a half-merged checkout: conflicts are found first with
``git merge-tree`` (nothing touched), uncommitted changes in the files the run touched
are refused, and a branch that is not checked out is updated without any checkout.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidState, UserError
from ...loop.vocab import LIVE_STATES
from ..store import RunStore
from .gitcmd import git, porcelain, repo_lock, run_git
from .worktree import parse_name_status

PATCH_CAP = 200_000


def _workspace(store: RunStore, run_id: str) -> dict[str, Any]:
    status = store.read_status(run_id)
    ws: dict[str, Any] | None = status.get("workspace")
    if not ws or not ws.get("branch"):
        raise UserError(f"run {run_id} did not work in a git worktree: it has no branch", "run_id")
    return {**ws, "state": status["state"]}


def _branch_exists(repo: str, branch: str) -> bool:
    return run_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode == 0


def diff(
    store: RunStore, run_id: str, max_bytes: int = PATCH_CAP, iteration: int | None = None
) -> dict[str, Any]:
    """Files, stats and the patch from the run's base to its branch (patch capped); with
    ``iteration``, only what that iteration's checkpoint changed."""
    ws = _workspace(store, run_id)
    repo, base, branch = ws["repo"], ws["base"], ws["branch"]
    out: dict[str, Any] = {"run_id": run_id, "repo": repo, "branch": branch, "base": base,
                           "files": [], "insertions": 0, "deletions": 0, "patch": "",
                           "truncated": False}  # fmt: skip
    if not _branch_exists(repo, branch):
        if iteration is not None:
            raise InvalidState(f"run {run_id} has no branch (any more): no iteration to show")
        return out  # nothing was committed, so the branch was cleaned up
    tip = branch
    if iteration is not None:
        base, tip = _iteration_span(repo, base, branch, iteration)
        out.update(base=base, iteration=iteration)
    out["files"] = parse_name_status(git(repo, "diff", "--name-status", "-M", "-z", base, tip))
    for line in git(repo, "diff", "--numstat", "-M", base, tip).splitlines():
        added, deleted, _ = line.split("\t", 2)
        out["insertions"] += int(added) if added.isdigit() else 0
        out["deletions"] += int(deleted) if deleted.isdigit() else 0
    patch = git(repo, "diff", "-M", base, tip)
    out["truncated"] = len(patch) > max_bytes
    out["patch"] = patch[:max_bytes]
    return out


def _iteration_span(repo: str, base: str, branch: str, iteration: int) -> tuple[str, str]:
    """The parent of the iteration's first checkpoint and its last one (a resumed
    iteration may have a work-in-progress checkpoint before its own)."""
    log = git(repo, "log", "--reverse", "--format=%H %P%x00%(trailers:key=Loopwright-Iteration,"
              "valueonly,separator=%x2C)%x00", f"{base}..{branch}")  # fmt: skip
    found: list[tuple[str, str]] = []
    seen: set[int] = set()
    for record in log.split("\0\n"):
        head, _, trailer = record.strip("\n").partition("\0")
        number = trailer.strip("\0 \n")
        if not head or not number.isdigit():
            continue
        seen.add(int(number))
        if int(number) == iteration:
            sha, _, parents = head.partition(" ")
            found.append((parents.split()[0] if parents else base, sha))
    if not found:
        made = ", ".join(map(str, sorted(seen))) or "none"
        raise UserError(
            f"iteration {iteration} made no checkpoint (it changed nothing, or there is no "
            f"such iteration); checkpoints: {made}",
            "iteration",
        )
    return found[0][0], found[-1][1]


def merge(
    store: RunStore, run_id: str, squash: bool = False, into: str | None = None
) -> dict[str, Any]:
    """Merge the run's branch into ``into`` (default: the checked-out branch). A branch
    that already has the run's work is no error: ``merged`` is False, ``already`` True."""
    ws = _workspace(store, run_id)
    if ws["state"] in LIVE_STATES:
        raise InvalidState(f"run {run_id} is still {ws['state']}; wait for it or cancel it")
    repo, branch = ws["repo"], ws["branch"]
    reply: dict[str, Any] = {"run_id": run_id, "merged": False, "already": True, "into": "",
                             "commit": "", "squash": squash, "files": []}  # fmt: skip
    if not _branch_exists(repo, branch):
        if ws.get("merged_into"):  # merged, then cleaned up
            return {**reply, "into": ws["merged_into"]}
        raise InvalidState(f"run {run_id} committed nothing: there is nothing to merge")
    current = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD").stdout.decode().strip()
    target = into or current
    if not target:
        raise UserError("the checkout is on a detached HEAD; name a branch with --into", "into")
    if not _branch_exists(repo, target):
        raise UserError(f"no branch {target!r} in {repo}", "into")
    with repo_lock(repo):
        tree = _merge_tree(repo, target, branch)
        if tree == git(repo, "rev-parse", f"{target}^{{tree}}").strip():
            head = git(repo, "rev-parse", f"refs/heads/{target}").strip()
            reply.update(into=target, commit=head)
        else:
            files = _touched(repo, target, branch)
            message = _message(store, run_id, branch, squash)
            if target == current:
                sha = _merge_in_checkout(repo, branch, files, squash, message)
            else:
                _refuse_if_checked_out_elsewhere(repo, target)
                sha = _merge_without_checkout(repo, target, branch, tree, squash, message)
            reply.update(merged=True, already=False, into=target, commit=sha, files=files)
    _remember(store, run_id, target)
    return reply


def _remember(store: RunStore, run_id: str, target: str) -> None:
    """Note in the run's status where its work went: ``gc`` and ``rm`` then know its
    branch is merged, and a later ``merge`` says so even once the branch is gone."""
    from ..runner import run_lock

    with run_lock(store, run_id):
        status = store.read_status(run_id)
        status.setdefault("workspace", {})["merged_into"] = target
        store.write_status(run_id, status)


def _merge_tree(repo: str, target: str, branch: str) -> str:
    done = run_git(repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", target,
                   branch)  # fmt: skip
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    if done.returncode == 1:
        paths = [p for p in lines[1:] if p]
        raise InvalidState(f"merging {branch} into {target} would conflict in: "
                           f"{', '.join(paths)}; nothing was changed")  # fmt: skip
    if done.returncode != 0:
        raise InvalidState(f"cannot merge: {done.stderr.decode().strip()}")
    return lines[0]


def _touched(repo: str, target: str, branch: str) -> list[str]:
    base = git(repo, "merge-base", target, branch).strip()
    return [f["path"] for f in parse_name_status(
        git(repo, "diff", "--name-status", "-M", "-z", base, branch))]  # fmt: skip


def _message(store: RunStore, run_id: str, branch: str, squash: bool) -> str:
    goal = " ".join(str(store.read_request(run_id)["loop"]["goal"]).split())[:72]
    kind = "squashed" if squash else "merged"
    return f"{goal}\n\nloopwright run {run_id}, {kind} from {branch}."


def _need_our_identity(repo: str) -> bool:
    """True when the user has no git identity, so our own must be used."""
    return run_git(repo, "config", "--get", "user.email").returncode != 0


def _merge_in_checkout(repo: str, branch: str, files: list[str], squash: bool, msg: str) -> str:
    dirty = {path for _, path in porcelain(repo)}
    clash = sorted(dirty.intersection(files))
    if clash:
        raise InvalidState(f"uncommitted changes in files the run touched: {', '.join(clash)}; "
                           "commit or stash them first; nothing was changed")  # fmt: skip
    ours = _need_our_identity(repo)
    args = ["merge", "--squash", branch] if squash else ["merge", "--no-ff", "-m", msg, branch]
    done = run_git(repo, *args, identity=ours)
    if done.returncode == 0 and squash:
        done = run_git(repo, "commit", "-q", "--no-verify", "-m", msg, identity=ours)
    if done.returncode != 0:
        run_git(repo, "merge", "--abort")
        run_git(repo, "reset", "--merge")
        raise InvalidState(f"merge failed and was undone: {done.stderr.decode().strip()}")
    return git(repo, "rev-parse", "HEAD").strip()


def _refuse_if_checked_out_elsewhere(repo: str, target: str) -> None:
    listing = git(repo, "worktree", "list", "--porcelain")
    if f"branch refs/heads/{target}\n" in listing + "\n":
        raise InvalidState(f"branch {target!r} is checked out in another worktree; merge there")


def _merge_without_checkout(
    repo: str, target: str, branch: str, tree: str, squash: bool, msg: str
) -> str:
    old = git(repo, "rev-parse", f"refs/heads/{target}").strip()
    parents = ["-p", old] if squash else ["-p", old, "-p", branch]
    sha = git(
        repo, "commit-tree", tree, *parents, "-m", msg, identity=_need_our_identity(repo)
    ).strip()
    git(repo, "update-ref", f"refs/heads/{target}", sha, old)
    return sha

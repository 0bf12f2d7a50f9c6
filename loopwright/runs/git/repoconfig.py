"""Programs a repository's own git config names, neutralised for loopwright's git calls.

A worker can write ``.git/config`` (a worktree shares the user's): ``filter.<x>.clean``
then runs during a checkpoint's ``git add``, ``merge.<x>.driver`` during a merge, and so
on. The driver names come from that config (and ``.gitattributes`` picks which files use
them), so they cannot be listed in advance: before a git call that may run one, the
config is listed with its scopes (``git config --list --show-scope``), and every such key
set in the repository (``local``, ``worktree``, or a file those include) is given back
the value the user's own config (``system``, ``global``, the command line) has for it,
else a neutral one: an empty filter (none runs), git's own text merge for a merge driver.
A git-lfs installed in the user's global config keeps working; one configured only in the
repository does not run from loopwright's git calls.

Keys that need no list because a fixed setting covers them live in ``gitcmd``: hooks,
fsmonitor, signing, the pager, editors, askpass, external diff and textconv.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["TRUSTED_SCOPES", "as_env", "may_run_programs", "overrides", "parse_listing"]

TRUSTED_SCOPES = frozenset({"system", "global", "command"})
"""Where the user's own settings come from; anything else is the repository's."""

TEXT_MERGE = "git merge-file --marker-size=%L %A %O %B"
"""What git does for a merge driver it does not know: its own three-way text merge."""

_NEUTRAL: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), value)
    for pattern, value in (
        (r"filter\..+\.(clean|smudge|process)", ""),  # empty: the filter does nothing
        (r"merge\..+\.driver", TEXT_MERGE),
        (r"merge\.default", "text"),
        (r"core\.sshcommand", "ssh"),  # transports: a partial clone fetches lazily
        (r"remote\..+\.uploadpack", "git-upload-pack"),
        (r"remote\..+\.receivepack", "git-receive-pack"),
        (r"credential\.(.+\.)?helper", ""),  # a list: empty clears it
    )
)
_LISTS = re.compile(r"credential\.(.+\.)?helper", re.DOTALL)

_PLUMBING = frozenset(
    {"rev-parse", "rev-list", "merge-base", "commit-tree", "update-ref", "symbolic-ref",
     "branch", "config", "ls-tree", "cat-file", "check-ignore", "for-each-ref", "show-ref",
     "init"}
)  # fmt: skip
"""Subcommands (as loopwright calls them) that never read a file's content through its
attributes, merge, write the index or talk to a remote: no config program runs from them.
Whatever writes the index can: it re-reads a racily clean file through its clean filter
(even ``write-tree``)."""


def may_run_programs(args: Sequence[str]) -> bool:
    """Whether ``git *args`` could run a program the config names (so needs the scan)."""
    sub = args[0] if args else ""
    if sub in _PLUMBING:
        return False
    if sub == "worktree":
        return args[1:2] not in (["list"], ["prune"])
    if sub == "diff-index":
        return "--cached" not in args
    if sub == "hash-object":
        return "--no-filters" not in args
    return True


def parse_listing(raw: bytes) -> list[tuple[str, str, str | None]]:
    """``git config --list --show-scope -z`` -> (scope, key, value or None) in order."""
    parts = raw.decode("utf-8", "surrogateescape").split("\0")
    entries = []
    for scope, item in zip(parts[0::2], parts[1::2], strict=False):
        key, newline, value = item.partition("\n")
        entries.append((scope, key, value if newline else None))
    return entries


def _neutral(key: str) -> str | None:
    for pattern, value in _NEUTRAL:
        if pattern.fullmatch(key):
            return value
    return None


def overrides(entries: Sequence[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    """(key, value) settings that undo every program key the repository sets."""
    planted = sorted(
        {k for s, k, _ in entries if s not in TRUSTED_SCOPES and _neutral(k) is not None}
    )
    out: list[tuple[str, str]] = []
    for key in planted:
        own = [v for s, k, v in entries if k == key and s in TRUSTED_SCOPES and v is not None]
        if _LISTS.fullmatch(key):
            out += [(key, ""), *((key, v) for v in own)]
        else:
            out.append((key, own[-1] if own else _neutral(key) or ""))
    return out


def as_env(settings: Sequence[tuple[str, str]], env: Mapping[str, str]) -> dict[str, str]:
    """``GIT_CONFIG_COUNT``/``_KEY_n``/``_VALUE_n`` for ``settings``, after any already in
    ``env``: unlike ``-c key=value`` a key with ``=`` in its name stays whole."""
    if not settings:
        return {}
    start = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    out = {"GIT_CONFIG_COUNT": str(start + len(settings))}
    for i, (key, value) in enumerate(settings, start):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    return out

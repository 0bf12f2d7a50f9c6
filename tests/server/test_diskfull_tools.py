"""Tools on a full disk say so, instead of the SDK's bare "Error executing tool X"."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from loopwright.runs.store import RunStore
from loopwright.server.app import build_server

from ..smalldisk import fill, tmpfs
from .test_tools import error


async def test_tools_say_the_disk_is_full_instead_of_a_bare_error(
    tmp_path: Path, repo: Path
) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        home = disk / "home"
        made = RunStore(home)
        made.index.count()  # the index exists; then the disk fills up
        made.index.close()
        fill(disk)  # before the server starts: none of its threads holds the index open
        async with Client(build_server(home)) as c:
            text = await error(c, "orchestrate", goal="g", cwd=str(repo))
            assert "no space left on device writing " + str(home / "runs") in text, text
            text = await error(c, "orchestrate_list")  # a new reader needs room for -shm
            assert "no space left on device writing " + str(home / "index.sqlite") in text
        assert not (home / "runs").exists() or list((home / "runs").iterdir()) == []

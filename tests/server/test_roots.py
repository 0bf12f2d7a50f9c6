"""Allowed working dirs: the client's roots (read by era) and LOOPWRIGHT_ALLOWED_ROOTS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import ListRootsResult, Root

from loopwright.runs.git.scratch import make_scratch_repo
from loopwright.server.state import ServerState

from .test_tools import call, error


def roots_of(*paths: Path) -> Any:
    async def callback(ctx: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=p.as_uri()) for p in paths])  # type: ignore[arg-type]

    return callback


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A project root, a repo inside it, a sibling sharing its prefix, and a symlink out."""
    root = tmp_path / "proj"
    inside = make_scratch_repo(root / "app")
    sibling = make_scratch_repo(tmp_path / "proj-evil")
    (root / "escape").symlink_to(sibling)
    return {"root": root, "inside": inside, "sibling": sibling, "escape": root / "escape"}


async def test_a_cwd_inside_the_clients_roots_is_used_in_place(
    server: MCPServer[ServerState], mode: str, layout: dict[str, Path]
) -> None:
    async with Client(server, mode=mode, list_roots_callback=roots_of(layout["root"])) as c:
        with anyio.fail_after(30):
            reply = await call(
                c, "orchestrate", goal="g", cwd=str(layout["inside"]), isolate=False, detach=False
            )
    assert reply["status"] == "completed" and not reply["scratch"]
    assert reply["cwd"] == str(layout["inside"])
    assert (layout["inside"] / "loopwright-scripted.md").is_file()


async def test_a_sibling_with_a_common_prefix_or_a_symlink_out_is_refused(
    server: MCPServer[ServerState], mode: str, layout: dict[str, Path], home: Path
) -> None:
    async with Client(server, mode=mode, list_roots_callback=roots_of(layout["root"])) as c:
        for cwd in (layout["sibling"], layout["escape"]):
            text = await error(c, "orchestrate", goal="g", cwd=str(cwd))
            assert "outside the client's roots" in text and "cwd" in text
    assert not (home / "runs").exists() or not list((home / "runs").iterdir())


async def test_loopwright_allowed_roots_bounds_every_client(
    server: MCPServer[ServerState], mode: str, layout: dict[str, Path], monkeypatch: Any
) -> None:
    monkeypatch.setenv("LOOPWRIGHT_ALLOWED_ROOTS", f"{layout['root']}{os.pathsep}/nonexistent")
    async with Client(server, mode=mode) as c:
        text = await error(c, "orchestrate", goal="g", cwd=str(layout["escape"]))
        assert "outside LOOPWRIGHT_ALLOWED_ROOTS" in text
        with anyio.fail_after(30):
            reply = await call(c, "orchestrate", goal="g", cwd=str(layout["inside"]), detach=False)
    assert reply["status"] == "completed"


async def test_without_cwd_roots_do_not_apply_and_a_scratch_repo_is_made(
    server: MCPServer[ServerState], mode: str, layout: dict[str, Path], home: Path
) -> None:
    async with Client(server, mode=mode, list_roots_callback=roots_of(layout["root"])) as c:
        with anyio.fail_after(30):
            reply = await call(c, "orchestrate", goal="g", detach=False)
    assert reply["scratch"] and Path(reply["cwd"]).is_relative_to(home / "scratch")
    assert (Path(reply["cwd"]) / ".git").is_dir()


async def test_a_client_that_declares_roots_but_fails_to_list_them_gets_a_clear_error(
    server: MCPServer[ServerState], layout: dict[str, Path]
) -> None:
    async def broken(ctx: Any) -> ListRootsResult:
        raise RuntimeError("no roots today")

    async with Client(server, mode="legacy", list_roots_callback=broken) as c:
        text = await error(c, "orchestrate", goal="g", cwd=str(layout["inside"]))
    assert "cwd: the client declares roots but did not list them" in text


async def test_doctor_refuses_a_cwd_outside_the_clients_roots_without_probing_it(
    server: MCPServer[ServerState], mode: str, layout: dict[str, Path]
) -> None:
    async with Client(server, mode=mode, list_roots_callback=roots_of(layout["root"])) as c:
        for cwd in (layout["sibling"], layout["escape"], Path("/etc")):
            text = await error(c, "doctor", cwd=str(cwd))
            assert "outside the client's roots" in text and "cwd" in text
        checks = (await call(c, "doctor", cwd=str(layout["inside"])))["checks"]
    assert {"name": "cwd in a git repository", "ok": True, "detail": ""} in checks


async def test_doctor_refuses_a_cwd_outside_loopwright_allowed_roots(
    server: MCPServer[ServerState], layout: dict[str, Path], monkeypatch: Any
) -> None:
    monkeypatch.setenv("LOOPWRIGHT_ALLOWED_ROOTS", str(layout["root"]))
    async with Client(server) as c:
        assert "outside LOOPWRIGHT_ALLOWED_ROOTS" in await error(
            c, "doctor", cwd=str(layout["sibling"])
        )

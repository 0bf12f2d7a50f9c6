"""``loopwright models`` and ``loopwright ollama profile|pull`` (registered in ``cli``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .output import out


def cmd_models(args: argparse.Namespace) -> int:
    import anyio

    from ..backends.discovery import list_models

    found = anyio.run(list_models, args.provider)
    if args.json:
        out(json.dumps(found))
        return 0 if found and not all("error" in v for v in found.values()) else 1
    if not found:
        out(f"no provider named {args.provider!r} is configured")
        return 1
    for name, row in found.items():
        out(_models_line(name, row))
    return 0 if not all("error" in v for v in found.values()) else 1


def _models_line(name: str, row: dict[str, Any]) -> str:
    where = [str(row["url"])] if row.get("url") else []
    where += [f"Ollama {row['version']}"] if row.get("version") else []
    head = f"{name} ({', '.join(where)})" if where else name
    if "error" in row:
        return f"{head}: {row['error']}"
    loaded = set(row.get("loaded") or [])
    models = [f"{m}{' [loaded]' if m in loaded else ''}" for m in row.get("models") or []]
    body = "".join(f"\n  {m}" for m in models) or "\n  (no models)"
    return f"{head}:{body}"


def cmd_ollama(args: argparse.Namespace) -> int:
    if args.ollama_command == "pull":
        return _pull(args)
    from ..backends.discovery import profile_summary

    rows = profile_summary(args.model)
    if args.json:
        out(json.dumps(rows))
        return 0
    if not rows:
        out("no Ollama calls recorded yet" + (f" for {args.model}" if args.model else ""))
        return 0
    out(f"{'host':<10} {'model':<28} {'calls':>5} {'gen tok/s':>9} {'prompt tok/s':>12} "
        f"{'load s':>7} {'num_ctx':>7} {'ctx len':>8}  version")  # fmt: skip
    for r in rows:
        out(f"{r['host']:<10} {r['model']:<28} {r['calls']:>5} {_n(r['gen_tps']):>9} "
            f"{_n(r['prompt_tps']):>12} {r['load_s']:>7} {_n(r['num_ctx']):>7} "
            f"{_n(r['context_length']):>8}  {r['version'] or '?'}")  # fmt: skip
    return 0


def _n(value: Any) -> str:
    return "?" if value is None else str(value)


def _pull(args: argparse.Namespace) -> int:
    import anyio
    import httpx

    from ..backends.models.ollama_api import pull
    from ..backends.settings import ollama_host

    host = ollama_host(args.host, "host")

    def progress(data: dict[str, Any]) -> None:
        total, done = data.get("total"), data.get("completed")
        pct = f" {100 * done // total}%" if total and done else ""
        out(f"{data.get('status', '')}{pct}")

    async def go() -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10)) as client:
            await pull(client, host, args.model, progress)

    from ..errors import ProviderError

    try:
        anyio.run(go)
    except ProviderError as exc:
        out(f"loopwright: {exc}")
        return 1
    return 0

"""Measured performance of every model call, per model x host, in one SQLite store.

Each ``model_call`` event becomes one row (``runs`` writes them as the events pass; the
loop does no I/O): prompt tokens and tokens/s, generated tokens and tokens/s, load time,
context size, wall time and outcome. The speeds come from the best source the call had:

- ``ollama`` — Ollama's ``prompt_eval_*``, ``eval_*`` and ``load_duration`` (ns);
- ``timings`` — an OpenAI-compatible server's ``timings`` (llama.cpp's ``llama-server``:
  ``prompt_per_second``, ``predicted_per_second``);
- ``usage`` — otherwise the token counts over the wall time (generation only: time to the
  first token is not generation).

Each subgoal's estimate against what it took (``Outcome``) goes in beside them: the pass
rates and the estimate errors of the routing card. The file is ``<state>/profiles.sqlite``
(0600, its folder 0700); a write that fails never fails a run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from ..config import state_dir
from ..fsmodes import PrivateSqlite

FILE_NAME = "profiles.sqlite"
NS = 1e9


@dataclass(frozen=True)
class CallProfile:
    """One model call as measured."""

    ts: float
    model: str
    host: str
    """The host or endpoint name; the provider's name for its own API."""
    provider: str
    purpose: str
    prompt_tokens: int
    prompt_tps: float | None
    gen_tokens: int
    gen_tps: float | None
    load_s: float | None
    context: int | None
    wall_s: float
    outcome: str
    """``ok``, ``truncated`` (stopped at the output cap) or ``failed``."""
    source: str
    """Where the speeds come from: ``ollama``, ``timings`` or ``usage``."""
    estimated: bool = False
    """The token counts are estimated (the server reported no usage)."""
    cost_usd: float | None = None


@dataclass(frozen=True)
class Outcome:
    """One subgoal's estimate against what it took."""

    ts: float
    worker: str
    """The worker's backend spec."""
    local: bool
    est_tokens: int | None
    est_seconds: float | None
    tokens: int
    seconds: float
    passed: bool
    """The worker succeeded and the iteration's verify commands passed."""
    attempt: int = 1


def _rate(count: Any, seconds: float | None) -> float | None:
    if not count or not seconds or seconds <= 0:
        return None
    return round(float(count) / seconds, 2)


def _speeds(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The source and the measured fields of a ``model_call`` event's data."""
    p, t = data.get("profile"), data.get("timings")
    if isinstance(p, dict) and p.get("eval_duration"):
        return "ollama", {
            "prompt_tokens": int(p.get("prompt_eval_count") or 0),
            "prompt_tps": p.get("prompt_tps"),
            "gen_tokens": int(p.get("eval_count") or 0),
            "gen_tps": p.get("gen_tps"),
            "load_s": round(int(p.get("load_duration") or 0) / NS, 3),
            "context": p.get("num_ctx"),
        }
    if isinstance(t, dict) and t.get("predicted_per_second"):
        return "timings", {
            "prompt_tokens": int(t.get("prompt_n") or data.get("input_tokens") or 0),
            "prompt_tps": t.get("prompt_per_second"),
            "gen_tokens": int(t.get("predicted_n") or data.get("output_tokens") or 0),
            "gen_tps": t.get("predicted_per_second"),
            "load_s": None,
            "context": data.get("context"),
        }
    wall, first = float(data.get("latency") or 0.0), data.get("first_token")
    generating = wall - float(first) if isinstance(first, int | float) else wall
    return "usage", {
        "prompt_tokens": int(data.get("input_tokens") or 0),
        "prompt_tps": None,
        "gen_tokens": int(data.get("output_tokens") or 0),
        "gen_tps": _rate(data.get("output_tokens"), generating),
        "load_s": None,
        "context": data.get("context"),
    }


def from_model_call(data: Mapping[str, Any], ts: float | None = None) -> CallProfile | None:
    """The profile of one ``model_call`` event's data (None when it names no model)."""
    model = data.get("model")
    if not isinstance(model, str) or not model:
        return None
    source, measured = _speeds(data)
    if data.get("ok") is False:
        outcome = "failed"
    else:
        outcome = "truncated" if data.get("truncated") else "ok"
    provider = str(data.get("provider") or "")
    cost = data.get("cost_usd")
    return CallProfile(
        ts=time.time() if ts is None else ts,
        model=model,
        host=str(data.get("host") or data.get("endpoint") or provider),
        provider=provider,
        purpose=str(data.get("purpose") or ""),
        wall_s=round(float(data.get("latency") or 0.0), 4),
        outcome=outcome,
        source=source,
        estimated=bool(data.get("usage_estimated")),
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
        **measured,
    )


def _call(row: dict[str, Any]) -> CallProfile:
    return CallProfile(**{**row, "estimated": bool(row["estimated"])})


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


CALL_COLUMNS = _columns(CallProfile)
OUTCOME_COLUMNS = _columns(Outcome)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS calls ({", ".join(CALL_COLUMNS)});
CREATE INDEX IF NOT EXISTS calls_by_model ON calls (model, host, ts);
CREATE TABLE IF NOT EXISTS outcomes ({", ".join(OUTCOME_COLUMNS)});
CREATE INDEX IF NOT EXISTS outcomes_by_worker ON outcomes (worker, ts);
"""


def default_path() -> Path:
    return state_dir() / FILE_NAME


class ProfileStore:
    """The SQLite store of call profiles and subgoal outcomes, opened on first use.

    Several run hosts may write at once (WAL, a busy timeout); each method is safe to call
    from any thread of one process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._sql = PrivateSqlite(self.path, SCHEMA, timeout=5.0)

    def add_call(self, profile: CallProfile) -> None:
        marks = ", ".join("?" * len(CALL_COLUMNS))
        with self._sql.transaction() as db:
            db.execute(f"INSERT INTO calls VALUES ({marks})", astuple(profile))

    def add_outcomes(self, outcomes: list[Outcome]) -> None:
        marks = ", ".join("?" * len(OUTCOME_COLUMNS))
        with self._sql.transaction() as db:
            db.executemany(f"INSERT INTO outcomes VALUES ({marks})", map(astuple, outcomes))

    def calls(self, model: str | None = None, since: float = 0.0) -> list[CallProfile]:
        """The recorded calls (of ``model``), oldest first."""
        if not self.path.exists():
            return []
        query = f"SELECT {', '.join(CALL_COLUMNS)} FROM calls WHERE ts >= ?"
        args: list[Any] = [since]
        if model is not None:
            query += " AND model = ?"
            args.append(model)
        with self._sql.transaction() as db:
            rows = db.execute(query + " ORDER BY ts", args).fetchall()
        return [_call(dict(zip(CALL_COLUMNS, r, strict=True))) for r in rows]

    def outcomes(self, worker: str | None = None) -> list[Outcome]:
        """The recorded subgoal outcomes (of ``worker``), oldest first."""
        if not self.path.exists():
            return []
        query = f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM outcomes"
        args: list[Any] = []
        if worker is not None:
            query += " WHERE worker = ?"
            args.append(worker)
        with self._sql.transaction() as db:
            rows = db.execute(query + " ORDER BY ts", args).fetchall()
        out = [dict(zip(OUTCOME_COLUMNS, r, strict=True)) for r in rows]
        return [Outcome(**{**o, "local": bool(o["local"]), "passed": bool(o["passed"])})
                for o in out]  # fmt: skip

    def close(self) -> None:
        self._sql.close()

"""The profile store: every model call's measured speed, from the best source it had,
written by the run's recorder and summed up by ``loopwright hosts profile``."""

from __future__ import annotations

import stat
from pathlib import Path

from loopwright.hosts.profiles import FILE_NAME, CallProfile, ProfileStore, from_model_call
from loopwright.hosts.summary import percentile, summarize

OLLAMA = {
    "provider": "ollama", "model": "qwen", "host": "gpu1", "purpose": "work", "latency": 2.5,
    "input_tokens": 300, "output_tokens": 120,
    "profile": {"load_duration": 1_500_000_000, "prompt_eval_count": 300,
                "prompt_eval_duration": 500_000_000, "prompt_tps": 600.0, "eval_count": 120,
                "eval_duration": 2_000_000_000, "gen_tps": 60.0, "num_ctx": 8192},
}  # fmt: skip
LLAMA = {
    "provider": "openai", "model": "gemma", "host": "llama", "purpose": "plan",
    "latency": 1.1, "input_tokens": 355, "output_tokens": 40, "stop": "length",
    "truncated": True,
    "timings": {"prompt_n": 355, "prompt_per_second": 700.0, "predicted_n": 40,
                "predicted_per_second": 77.0},
}  # fmt: skip
PLAIN = {
    "provider": "openai", "model": "gpt", "host": None, "endpoint": "openai",
    "purpose": "review", "latency": 3.0, "first_token": 1.0, "input_tokens": 900,
    "output_tokens": 100, "usage_estimated": True, "cost_usd": 0.002,
}  # fmt: skip


def test_ollama_durations_become_speeds_and_load_time() -> None:
    p = from_model_call(OLLAMA, 1.0)
    assert p is not None and p.source == "ollama"
    assert (p.prompt_tps, p.gen_tps, p.load_s, p.context) == (600.0, 60.0, 1.5, 8192)
    assert (p.prompt_tokens, p.gen_tokens, p.wall_s, p.outcome) == (300, 120, 2.5, "ok")


def test_llama_cpp_timings_are_taken_as_measured() -> None:
    p = from_model_call(LLAMA, 1.0)
    assert p is not None and p.source == "timings"
    assert (p.prompt_tps, p.gen_tps, p.gen_tokens, p.host) == (700.0, 77.0, 40, "llama")
    assert p.outcome == "truncated"


def test_without_timings_speed_is_tokens_over_the_time_after_the_first_token() -> None:
    p = from_model_call(PLAIN, 1.0)
    assert p is not None and p.source == "usage"
    assert p.gen_tps == 50.0 and p.prompt_tps is None  # 100 tokens in 3.0 - 1.0 s
    assert p.estimated and p.host == "openai" and p.cost_usd == 0.002


def test_the_store_is_private_and_reads_back_what_was_written(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "state" / FILE_NAME)
    for data in (OLLAMA, LLAMA, PLAIN):
        profile = from_model_call(data, 5.0)
        assert profile is not None
        store.add_call(profile)
    assert [c.model for c in store.calls()] == ["qwen", "gemma", "gpt"]
    assert store.calls("gemma")[0] == from_model_call(LLAMA, 5.0)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    store.close()


def profile(ts: float, gen: float, model: str = "m", host: str = "h") -> CallProfile:
    return CallProfile(ts, model, host, "ollama", "work", 100, 500.0, 50, gen, 0.1, 4096,
                       1.0, "ok", "ollama")  # fmt: skip


def test_the_summary_has_medians_p90_and_the_daily_movement() -> None:
    day = 86_400.0
    calls = [profile(day * 1 + n, g) for n, g in enumerate((10, 20, 30))]
    calls += [profile(day * 2 + n, g) for n, g in enumerate((40, 50))]
    [row] = summarize(calls)
    assert row["calls"] == 5 and row["gen_tps"] == {"median": 30, "p90": 46}
    assert [(t["day"], t["gen_tps"]) for t in row["trend"]] == [
        ("1970-01-02", 20),
        ("1970-01-03", 45),
    ]
    assert percentile([], 50) is None

"""Redaction speed: MB/s of the redactor (secret values and token shapes) against a plain
``str.replace`` of the one key over the same text, on whole texts, on UTF-8 bytes (the event
log) and as a stream in 4 KiB parts (a worker's output file); and the cost of one typical
event. "values only" is the redactor before token shapes: one regex of the secret values.

The text is this repository's own Python source, repeated to 8 MB, with a key in every
50 KB. The redactor knows ``--secrets`` values (a shell with a few API keys set has 3-10).
Baseline: ``str.replace`` is the floor (one scan, no patterns). Target: whole texts at
least 100 MB/s, an event under 10 µs.
"""

from __future__ import annotations

import argparse
import random
import re
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from loopwright.runs.redact import Redactor

SIZE = 8_000_000
KEY = "sk-ant-api03-" + "Q" * 80


def corpus() -> str:
    source = "".join(p.read_text() for p in sorted(Path("loopwright").rglob("*.py")))
    chunks, n = [], 0
    while n < SIZE:
        chunk = source[:50_000] + f" {KEY}\n"
        chunks.append(chunk)
        n += len(chunk)
        source = source[50_000:] + source[:50_000]
    return "".join(chunks)[:SIZE]


def best(fn: Callable[[Any], Any], arg: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - started)
    return min(times)


def values_only(secrets: list[str]) -> tuple[Callable[[str], str], Callable[[bytes], bytes]]:
    """The redactor before token shapes: one regex of the values."""
    pattern = re.compile("|".join(map(re.escape, secrets)))
    bpattern = re.compile(pattern.pattern.encode())
    return (lambda t: pattern.sub("[redacted]", t)), (lambda b: bpattern.sub(b"[redacted]", b))


def streamed(redactor: Redactor, text: str, part: int = 4096) -> str:
    stream, out = redactor.stream(), []
    for at in range(0, len(text), part):
        out.append(stream.feed(text[at : at + part]))
    out.append(stream.flush())
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=5, help="secret values known")
    args = parser.parse_args()
    rng = random.Random(1)
    alphabet = string.ascii_letters + string.digits
    secrets = ["".join(rng.choices(alphabet, k=40)) for _ in range(args.secrets)]
    redactor = Redactor(secrets)
    before, bbefore = values_only(secrets)
    text = corpus()
    data = text.encode()
    mb = len(data) / 1e6
    floor = mb / best(lambda t: t.replace(KEY, "[redacted]"), text)
    print(f"text: {mb:.1f} MB of Python source, a key every 50 KB, {args.secrets} secrets known")
    print(f"  str.replace of the key (baseline)   {floor:8.0f} MB/s")
    texts: list[tuple[str, Callable[[Any], Any], Any]] = [
        ("redactor, text", redactor, text),
        ("redactor, UTF-8 bytes", redactor.bytes, data),
        ("redactor, stream in 4 KiB parts", lambda t: streamed(redactor, t), text),
    ]
    if secrets:  # with none, the redactor before token shapes did nothing
        texts.insert(0, ("values only (before), text", before, text))
    for name, fn, arg in texts:
        speed = mb / best(fn, arg)
        print(f"  {name:<36}{speed:8.0f} MB/s  ({floor / speed:.0f}x slower than the baseline)")
    assert KEY not in redactor(text) and KEY not in streamed(redactor, text)
    event = orjson.dumps(
        {"seq": 41, "ts": 1.0, "run_id": "20260101-000000000-abcdef", "type": "worker_output",
         "iteration": 2, "data": {"kind": "message", "text": text[:600]}}
    )  # fmt: skip
    events: list[tuple[str, Callable[[bytes], bytes]]] = [("redactor", redactor.bytes)]
    if secrets:
        events.insert(0, ("values only (before)", bbefore))
    for name, fn in events:
        n = 20_000
        started = time.perf_counter()
        for _ in range(n):
            fn(event)
        per_event = (time.perf_counter() - started) / n * 1e6
        print(f"one {len(event)}-byte event, {name}: {per_event:.1f} µs (target <= 10 µs)")


if __name__ == "__main__":
    main()

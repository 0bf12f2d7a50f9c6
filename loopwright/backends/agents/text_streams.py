"""Plain-text output: aider (edits, tokens and API errors read from its text) and any CLI."""

from __future__ import annotations

import re
from collections import deque

from .common import Capped, Outcome, Reporter, StreamReader

# --- plain text: aider and custom CLIs ---------------------------------------------------
_AIDER_ERROR = re.compile(
    r"(litellm\.\w+Error|The API provider is not able to authenticate you|"
    r"Unable to list files in git repo|No LLM model was specified|"
    r"Model \S+ is not available|API key.*(?:missing|not set))"
)
_MAYBE_ERROR = re.compile(r"Error|API|Unable|No LLM|Model ")
_AIDER_TOKENS = re.compile(r"Tokens: ([\d.]+)([kM]?) sent.*?([\d.]+)([kM]?) received\.")
_AIDER_COST = re.compile(r"Cost: \$([\d.]+) message")
_UNITS = {"": 1, "k": 1000, "M": 1_000_000}


class TextReader(StreamReader):
    """Any program's plain output: previews in chunks, success from the exit code."""

    name = "cli"
    CHUNK = 1500

    def __init__(self, report: Reporter) -> None:
        super().__init__(report)
        self.text = Capped()
        self.tail_text: deque[str] = deque(maxlen=200)
        self.chunk: list[str] = []
        self.chunk_len = 0

    def feed(self, line: str) -> None:
        self.on_line(line)
        self.text.add(line + "\n")
        self.tail_text.append(line[:2000])
        if self.chunk_len < self.CHUNK:
            self.chunk.append(line)
        self.chunk_len += len(line) + 1
        if self.chunk_len >= self.CHUNK:
            self.flush()

    def on_line(self, line: str) -> None:
        pass

    def flush(self) -> None:
        if self.chunk:
            self.report("output", "\n".join(self.chunk))
        self.chunk, self.chunk_len = [], 0

    def finish(self, exit_code: int | None) -> Outcome:
        self.flush()
        text = self.text.text() if self.text.left > 0 else "\n".join(self.tail_text)
        if exit_code not in (0, None):
            last = " | ".join(list(self.tail_text)[-5:])
            return Outcome(False, text, f"{self.name} exited {exit_code}: {last}", edits=self.edits)
        return Outcome(True, text, None, cost_usd=None, edits=self.edits)


class AiderReader(TextReader):
    name = "aider"

    def __init__(self, report: Reporter) -> None:
        super().__init__(report)
        self.failure: str | None = None
        self.inp = self.outp = 0
        self.cost: float | None = None

    def on_line(self, line: str) -> None:
        # cheap substring tests first: a worker may print a gigabyte of other lines
        if line.startswith("Applied edit to "):
            self.edited(line[16:].strip())
        if self.failure is None and _MAYBE_ERROR.search(line) and _AIDER_ERROR.search(line):
            self.failure = line.strip()[:500]
        if "Tokens: " in line:
            t = _AIDER_TOKENS.search(line)
            if t:
                self.inp += int(float(t.group(1)) * _UNITS[t.group(2)])
                self.outp += int(float(t.group(3)) * _UNITS[t.group(4)])
            c = _AIDER_COST.search(line)
            if c:
                self.cost = (self.cost or 0.0) + float(c.group(1))

    def finish(self, exit_code: int | None) -> Outcome:
        out = super().finish(exit_code)
        out.input_tokens, out.output_tokens = self.inp, self.outp
        out.cost_usd = self.cost if self.cost is not None or self.inp + self.outp else 0.0
        if self.failure:  # aider exits 0 after an API error: the error is only in its output
            out.ok, out.error = False, _aider_error(self.failure)
        return out


def _aider_error(line: str) -> str:
    if "authenticat" in line.lower() or "api key" in line.lower():
        return (
            f"aider's model provider rejected the key ({line}): set the key for the model's "
            "provider (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY), or use a local model with "
            "aider:ollama_chat/<model> and OLLAMA_API_BASE"
        )
    return f"aider failed: {line}"

"""The redactor: secret values by name, well-known token shapes, and texts in parts."""

from __future__ import annotations

import json
import random

import pytest

from loopwright.runs.redact import HOLD, MASK, Redactor

ANTHROPIC = "sk-ant-api03-Xy7_abcDEF0123456789-ghIJKLmnop_qrstUV"
TOKENS = {
    "anthropic": ANTHROPIC,
    "openai project": "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34_op-QR",
    "openai legacy": "sk-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12",
    "github classic": "ghp_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78",
    "github app": "ghs_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78",
    "github fine-grained": "github_pat_11ABCDEFG0Ab12Cd34Ef56_Gh78Ij90Kl12Mn34Op56Qr78St90",
    "aws key id": "AKIAIOSFODNN7EXAMPLE",
    "aws temporary key id": "ASIAIOSFODNN7EXAMPLE",
    "slack bot": "xoxb-1234567890-0987654321-AbCdEfGhIjKl",
    "slack user": "xoxp-1234567890-0987654321-AbCdEfGhIjKl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF",
}
URLS = {
    "https://alice:hunter2hunter2@github.com/o/r.git": "https://[redacted]@github.com/o/r.git",
    "postgres://app:p@ss:w0rd@db.internal:5432/prod": "postgres://[redacted]@db.internal:5432/prod",
    "redis://:only-a-password@cache:6379/0": "redis://[redacted]@cache:6379/0",
}
ORDINARY = [
    "task-management-system-2024-design and disk-usage-report-20240101",
    "ask-the-user sk-learn mask-rcnn-resnet50-fpn-coco-2020",
    "https://github.com/o/r.git ssh://git@github.com/o/r http://localhost:8080/a?x=b:c@d",
    "AKIAWORDSTHATARETOOLONGFORAKEY highlight_Ab12Cd34Ef56Gh78Ij90Kl12Mn34 thigh gh_ ghp_short",
    "def test_the_token(): assert parse('eyJ') == {} and xox-not-slack",
    "ordinary prose: keys start with sk-ant- and GitHub tokens with ghp_, says the README",
]


@pytest.mark.parametrize("name", TOKENS)
def test_each_token_shape_is_redacted_wherever_it_stands(name: str) -> None:
    token = TOKENS[name]
    r = Redactor()
    for text in (
        f"{token}",
        f"the key is {token}.",
        f'export KEY="{token}"',
        f"Authorization: Bearer {token}\n",
        f"\x1b[32m{token}\x1b[0m",  # coloured
        f"KEY={token};next",
    ):
        redacted = r(text)
        assert token not in redacted and MASK in redacted, (name, redacted)
        assert r.bytes(text.encode()) == redacted.encode()
    inside_json = json.dumps({"text": f"line one\n{token}\tend"})
    assert json.loads(r(inside_json))["text"] == f"line one\n{MASK}\tend"
    assert r.bytes(inside_json.encode()) == r(inside_json).encode()


@pytest.mark.parametrize("url", URLS)
def test_credentials_in_a_url_are_redacted_keeping_scheme_and_host(url: str) -> None:
    assert Redactor()(f"clone {url} now") == f"clone {URLS[url]} now"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    r = Redactor()
    assert r(text) == text
    assert r.bytes(text.encode()) == text.encode()


def test_values_of_secret_named_variables_are_redacted_by_value_but_author_names_are_not() -> None:
    env = {
        "MY_SERVICE_TOKEN": "plain-value-without-shape",
        "DB_PASSWORD": 'quo"te-secret',
        "PRIVATE_KEY": "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQAB\n-----END KEY-----",
        "GIT_AUTHOR_NAME": "Jane Developer",
        "SHORT_KEY": "abc",
    }
    r = Redactor.from_env(env)
    text = "plain-value-without-shape by Jane Developer, abc, AAAAB3NzaC1yc2EAAAADAQAB"
    assert r(text) == f"{MASK} by Jane Developer, abc, {MASK}"
    assert json.loads(r(json.dumps({"p": 'quo"te-secret'})))["p"] == MASK


def test_a_stream_cut_anywhere_redacts_exactly_as_the_whole_text() -> None:
    secret = "s3cret value with spaces 0123"
    r = Redactor([secret])
    rng = random.Random(7)
    parts = ["word ", secret, " ", "\n", f"{ANTHROPIC} ", "https://u:pw@h/ ", '"', "y" * 9000]
    text = "".join(rng.choice(parts) for _ in range(3000))
    for seed in range(10):
        rng = random.Random(seed)
        stream, out, at = r.stream(), [], 0
        while at < len(text):
            n = rng.choice([1, 2, 7, 300, 5000, 70000])
            out.append(stream.feed(text[at : at + n]))
            at += n
        out.append(stream.flush())
        assert "".join(out) == r(text), seed


def test_a_stream_holds_back_only_the_unfinished_line_and_a_bounded_part_of_a_long_one() -> None:
    stream = Redactor().stream()
    assert stream.feed("done line\nunfinished sk-ant-api03-") == "done line\n"
    assert stream.feed("Xy7_abcDEF0123456789 more\n") == f"unfinished {MASK} more\n"
    long = "word " * 200_000  # a megabyte without a newline
    written = stream.feed(long)
    assert len(written) > len(long) - HOLD and written.endswith(" ")
    assert written + stream.flush() == long

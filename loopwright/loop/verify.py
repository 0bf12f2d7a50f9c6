"""Run the verify commands in the working dir; any failure blocks completion."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ProcessError
from ..process.env import allowlisted_env
from ..process.runner import ProcessRunner
from .types import VerifyResult

VERIFY_OUTPUT_CAP = 64 * 1024


async def run_verify(
    commands: list[list[str]],
    cwd: str,
    timeout: float,
    runner: ProcessRunner,
    env_names: Iterable[str] = (),
) -> list[VerifyResult]:
    """Each command in turn, started by ``runner``; one that cannot start fails. A
    command gets the allowlisted environment plus ``env_names`` (``--verify-env``)."""
    env = allowlisted_env(env_names)
    results = []
    for argv in commands:
        try:
            r = await runner.run(argv, cwd=cwd, timeout=timeout, env=env, cap=VERIFY_OUTPUT_CAP)
        except ProcessError as exc:
            results.append(VerifyResult(argv=argv, passed=False, exit_code=None, output=str(exc)))
            continue
        output = r.output + (f"\n[timed out after {timeout:g}s]" if r.timed_out else "")
        results.append(
            VerifyResult(
                argv=argv,
                passed=r.ok,
                exit_code=r.exit_code,
                timed_out=r.timed_out,
                duration=round(r.duration, 3),
                output=output,
            )
        )
    return results

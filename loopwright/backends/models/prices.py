"""USD per call from the offline price table that ``genai-prices`` ships.

A model the table does not know costs ``None`` (unknown), never 0.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_UNKNOWN: set[tuple[str, str]] = set()


@lru_cache(maxsize=1)
def _lib() -> Any:
    try:
        import genai_prices
    except ImportError:  # an install without the price table: every cost is unknown
        return None
    return genai_prices


def price(
    provider: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
) -> float | None:
    """USD for one call; ``input_tokens`` counts every input token, cached ones too."""
    lib = _lib()
    if lib is None or (provider, model) in _UNKNOWN:
        return None
    usage = lib.Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read or None,
        cache_write_tokens=cache_write or None,
    )
    try:
        calc = lib.calc_price(usage, model_ref=model, provider_id=provider)
    except (LookupError, ValueError):
        _UNKNOWN.add((provider, model))
        return None
    return float(calc.total_price)

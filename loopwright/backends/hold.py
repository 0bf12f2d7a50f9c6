"""How a backend says that a call goes to a host priced by the hour."""

from __future__ import annotations

from .base import Emit

__all__ = ["hold", "release"]


def hold(emit: Emit | None, host: str, usd_per_hour: float) -> bool:
    """Tell the run that a call goes to ``host``, priced by the hour (a ``host_held``
    event): the run is charged for holding it, from its first call to its end
    (``loop.holds``), so the call must not charge its own duration too. False when the
    host costs nothing, or nothing charges holds (an ``emit`` without ``charges_holds``,
    e.g. a caller of the backend that is no run): then the call charges its duration."""
    if emit is None or usd_per_hour <= 0 or not getattr(emit, "charges_holds", False):
        return False
    emit("host_held", {"host": host, "usd_per_hour": usd_per_hour})
    return True


def release(emit: Emit | None, host: str) -> None:
    """Tell the run that it no longer holds ``host`` (a ``host_released`` event), e.g. a
    host that failed and that no later call goes to: the run stops paying for it."""
    if emit is not None:
        emit("host_released", {"host": host})

"""Usage and spend limits: answers that no retry within a call can fix, and their reset times.

Two kinds, read from the provider's own words:

- **API spend limits** (Anthropic's "You have reached your specified API usage limits. You
  will regain access on 2026-04-01 at 00:00 UTC.", OpenAI's ``insufficient_quota``, or any
  429 whose Retry-After exceeds the retry cap) are final for the call: it fails at once
  with the provider's message and the reset time.
- **Subscription usage limits of coding-agent CLIs** with a reset time become a
  ``UsageLimit`` on the failed response; the harness pauses the run until then and repeats
  the call. Each parser below names the texts it matches and where they come from.

Times are epoch seconds. A clock time without a date is its next occurrence; a reset time
already past (providers sometimes report a stale one) waits ``PAST_RESET_WAIT``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from .base import UsageLimit

PAST_RESET_WAIT = 60.0
SPEND_MARKERS = ("insufficient_quota", "reached your specified api usage limits")
"""OpenAI's error code for a spent quota; Anthropic's message for a workspace spend limit."""

_MONTHS = {m: n for n, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                      "sep", "oct", "nov", "dec"), 1)}  # fmt: skip
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_REGAIN = re.compile(r"regain access on (\d{4})-(\d{2})-(\d{2}) at (\d{1,2}):(\d{2}) UTC", re.I)


# --- words ---------------------------------------------------------------------------
def in_words(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 2m``, ``2d 5h``."""
    s = max(0, round(seconds))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{s}s"


def reset_note(at: float, now: float | None = None) -> str:
    """``resets 2026-04-01 02:00 CEST (in 3h 2m)``, in this machine's time zone."""
    now = time.time() if now is None else now
    when = datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"resets {when} (in {in_words(at - now)})"


# --- API spend limits ----------------------------------------------------------------
def spend_limit(text: str) -> bool:
    """Whether an API error (its body or message) is a spend or quota limit."""
    low = text.lower()
    return any(marker in low for marker in SPEND_MARKERS)


def spend_note(text: str, now: float | None = None) -> str:
    """What to tell about a spend limit: its reset time when the message gives one."""
    m = _REGAIN.search(text)
    if m is None:
        return "no reset time given: raise the limit or add credits; not retried"
    y, mo, d, h, mi = (int(g) for g in m.groups())
    at = datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("UTC")).timestamp()
    return f"{reset_note(at, now)}; not retried"


# --- coding-agent CLIs ---------------------------------------------------------------
_CLAUDE_LIMIT = re.compile(r"usage limit reached|hit your limit|limit reached\W+resets", re.I)
_CLAUDE_EPOCH = re.compile(r"usage limit reached\|(\d{9,13})", re.I)
_CLAUDE_WHEN = re.compile(
    r"resets?(?: at)? (?:(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?:,| at) )?"
    r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))? ?(?P<ap>am|pm)(?: \((?P<tz>[\w/+-]+)\))?",
    re.I,
)


def claude_limit(text: str, rejected_until: float | None, now: float) -> UsageLimit | None:
    """Claude Code's subscription limit. Its ``stream-json`` has a ``rate_limit_event`` whose
    ``rate_limit_info`` is ``{"status": "rejected", "resetsAt": EPOCH}`` (``rejected_until``),
    and a result text: ``Claude AI usage limit reached|EPOCH`` (1.0.x), ``Claude usage limit
    reached. Your limit will reset at 5pm (Europe/Warsaw).``, ``You've hit your limit ·
    resets 3pm (Europe/Berlin)`` or ``… resets Apr 23 at 4pm (America/Recife)`` (2.x)."""
    limited = bool(_CLAUDE_LIMIT.search(text))
    if not limited and rejected_until is None:
        return None
    at: float | None = None
    if epoch := _CLAUDE_EPOCH.search(text):
        at = _epoch(float(epoch.group(1)))
    elif rejected_until is not None:
        at = _epoch(rejected_until)
    elif when := _CLAUDE_WHEN.search(text):
        at = _clock(when, now)
    return None if at is None else _limit(text or "Claude usage limit reached", at, now)


_CODEX_LIMIT = re.compile(r"usage limit|usage_limit_reached", re.I)
_CODEX_IN = re.compile(r"try again in ((?:\d+ (?:days?|hours?|minutes?|seconds?),?\s*)+)", re.I)
_CODEX_AT = re.compile(
    r"try again at (?:(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?:st|nd|rd|th)?, (?P<year>\d{4}) )?"
    r"(?P<h>\d{1,2}):(?P<m>\d{2}) ?(?P<ap>AM|PM)",
    re.I,
)
_CODEX_JSON = re.compile(r'"(resets_at|resets_in_seconds)"\s*:\s*(\d+)')


def codex_limit(text: str, now: float) -> UsageLimit | None:
    """Codex's ChatGPT-plan limit, from ``turn.failed``/``error`` messages of ``exec --json``:
    ``You've hit your usage limit. … or try again in 2 days 17 hours 14 minutes.`` (0.3x),
    ``… Try again at 3:15 PM.`` or ``… try again at Dec 29th, 2025 10:15 PM.`` (local time,
    codex-rs ``UsageLimitReachedError``), or the backend's JSON ``{"type":
    "usage_limit_reached", …, "resets_at": EPOCH, "resets_in_seconds": N}``."""
    if not _CODEX_LIMIT.search(text):
        return None
    at: float | None = None
    fields = dict(_CODEX_JSON.findall(text))
    if "resets_at" in fields:
        at = _epoch(float(fields["resets_at"]))
    elif "resets_in_seconds" in fields:
        at = now + float(fields["resets_in_seconds"])
    elif m := _CODEX_IN.search(text):
        at = now + _duration(m.group(1))
    elif m := _CODEX_AT.search(text):
        at = _clock(m, now)
    return None if at is None else _limit(text, at, now)


_GEMINI_QUOTA = re.compile(r"quota|RESOURCE_EXHAUSTED|exhausted your capacity", re.I)
_GEMINI_AFTER = re.compile(r"reset after ((?:\d+(?:\.\d+)?(?:ms|[dhms]))+)", re.I)
_GEMINI_RETRY = re.compile(r"(?:retry in|retry after) (\d+(?:\.\d+)?)(ms|s)\b", re.I)
_GEMINI_DAILY = re.compile(r"daily quota|per ?day", re.I)
_PACIFIC = "America/Los_Angeles"


def gemini_limit(text: str, now: float) -> UsageLimit | None:
    """Gemini CLI's quota errors (``googleQuotaErrors.ts``): ``You have exhausted your
    capacity on this model. Your quota will reset after 2h52m39s.``, ``… Please retry in
    34.07s`` / ``Suggested retry after 3600s.``, and ``You have exhausted your daily quota
    on this model.``, whose reset is midnight Pacific time (Gemini API quota docs)."""
    if not _GEMINI_QUOTA.search(text):
        return None
    at: float | None = None
    if m := _GEMINI_AFTER.search(text):
        at = now + _duration(m.group(1))
    elif m := _GEMINI_RETRY.search(text):
        at = now + float(m.group(1)) * _UNITS[m.group(2).lower()]
    elif _GEMINI_DAILY.search(text):
        midnight = datetime.fromtimestamp(now, ZoneInfo(_PACIFIC)) + timedelta(days=1)
        at = midnight.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return None if at is None else _limit(text, at, now)


# --- parsing helpers -----------------------------------------------------------------
def _limit(text: str, at: float, now: float) -> UsageLimit:
    at = at if at > now else now + PAST_RESET_WAIT
    return UsageLimit(message=" ".join(text.split())[:500], resume_at=at)


def _epoch(value: float) -> float:
    return value / 1000 if value > 1e11 else value  # milliseconds from some versions


def _duration(text: str) -> float:
    """``2 days 17 hours 14 minutes`` or ``2h52m39s`` in seconds."""
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|[a-z]+)", text.lower()):
        total += float(number) * _UNITS.get(unit if unit == "ms" else unit[0], 0)
    return total


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


def _clock(m: re.Match[str], now: float) -> float | None:
    """The next moment at the matched clock time (in its zone, else this machine's)."""
    groups = m.groupdict()
    hour, minute = int(groups["h"]) % 12, int(groups.get("m") or 0)
    hour += 12 if groups["ap"].lower() == "pm" else 0
    zone = _zone(groups.get("tz"))
    base = datetime.fromtimestamp(now, zone) if zone else datetime.fromtimestamp(now).astimezone()
    when = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if groups.get("mon"):
        month = _MONTHS.get(groups["mon"][:3].lower())
        if month is None:
            return None
        year = int(groups.get("year") or base.year)
        when = when.replace(year=year, month=month, day=int(groups["day"]))
        if not groups.get("year") and when.timestamp() < now - 86400:
            when = when.replace(year=year + 1)  # "Jan 2" read on Dec 30
        return when.timestamp()
    if when.timestamp() <= now:
        when += timedelta(days=1)
    return when.timestamp()

"""Whether each venue answered lately, learnt from the requests the bots make anyway (no probe of its own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.exchange.ccxt_lazy import ccxt


@dataclass(slots=True)
class _Seen:
    answered_at: float | None = None  # wall-clock seconds of the last answer, refusals and 429s included
    failed_at: float | None = None
    error: str | None = None  # class name of the last failure to get any answer


class Reachability:
    """A venue is reachable when its last request got an answer of any kind: a refusal or a rate limit is the venue
    speaking; a timeout, a refused connection or a 5xx after every retry is not."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._seen: dict[str, _Seen] = {}

    def record(self, venue: str, error: BaseException | None) -> None:
        seen = self._seen.setdefault(venue, _Seen())
        if error is None or not unreachable(error):
            seen.answered_at, seen.error = self._clock(), None
        else:
            seen.failed_at, seen.error = self._clock(), type(error).__name__

    def snapshot(self) -> dict[str, dict]:
        """{venue: {"ok", "answered_s_ago" (None before any answer), "error" (when not ok)}}, venues sorted."""
        now, out = self._clock(), {}
        for venue, s in sorted(self._seen.items()):
            ok = s.error is None
            out[venue] = {"ok": ok, "answered_s_ago": None if s.answered_at is None else round(now - s.answered_at, 1)}
            if not ok:
                out[venue]["error"] = s.error
        return out

    def clear(self) -> None:
        self._seen.clear()


def unreachable(e: BaseException) -> bool:
    """Network-class trouble that is not the venue itself answering "slow down"."""
    return isinstance(e, ccxt.NetworkError) and not isinstance(e, ccxt.RateLimitExceeded | ccxt.DDoSProtection)


REACH = Reachability()  # one per process, like the request budgets: the venues are shared by every account

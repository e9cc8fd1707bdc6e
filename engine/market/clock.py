"""Injectable clocks: real time, a manual clock for tests, and replay time at a speed the user can change."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class RealClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ManualClock:
    def __init__(self, now_ms: int = 0):
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now

    def set(self, now_ms: int) -> None:
        self._now = now_ms

    def advance(self, ms: int) -> None:
        self._now += ms


class ReplayClock:
    """Market time runs at `speed` replayed seconds per wall-clock second (0 = paused). `set_speed` re-anchors at
    the current market time, so a change of speed never makes it jump. Speed changes are told to the subscribers
    (the engine's replay tick); call it from the event loop the engine runs on."""

    def __init__(self, start_ms: int, speed: float, wall: Clock | None = None):
        self._wall = wall or RealClock()
        self._start, self._t0 = start_ms, self._wall.now_ms()
        self._speed = _checked(speed)
        self._subscribers: list[Callable[[float], None]] = []

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        return self._at(self._wall.now_ms())

    def _at(self, wall_ms: int) -> int:
        return self._start + int((wall_ms - self._t0) * self._speed)

    def set_speed(self, speed: float) -> None:
        """Pause (0), 1×, 60×, 600× or any other non-negative speed, from the current market time on."""
        speed = _checked(speed)
        wall = self._wall.now_ms()
        self._start, self._t0, self._speed = self._at(wall), wall, speed
        for fn in list(self._subscribers):
            fn(speed)

    def subscribe(self, fn: Callable[[float], None]) -> Callable[[], None]:
        """`fn(speed)` after every speed change; returns the unsubscribe call."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def wall_ms_at(self, market_ms: int) -> int | None:
        """The first wall-clock ms at which `now_ms()` reaches `market_ms` at the current speed; None while paused."""
        if self._speed <= 0:
            return None
        w = self._t0 + max(0, math.ceil((market_ms - self._start) / self._speed))
        while self._at(w) < market_ms:  # int() in now_ms: at most a step or two
            w += 1
        return w


def _checked(speed: float) -> float:
    speed = float(speed)
    if not (math.isfinite(speed) and speed >= 0):
        raise ValueError(f"replay speed must be a finite number >= 0, not {speed!r}")
    return speed

"""Injectable clocks: real time, a manual clock for tests, and replay time running at a speed factor."""

from __future__ import annotations

import time
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
    """Market time = start + wall time elapsed × speed (replayed seconds per wall-clock second)."""

    def __init__(self, start_ms: int, speed: float, wall: Clock | None = None):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start, self._speed = start_ms, speed
        self._wall = wall or RealClock()
        self._t0 = self._wall.now_ms()

    def now_ms(self) -> int:
        return self._start + int((self._wall.now_ms() - self._t0) * self._speed)

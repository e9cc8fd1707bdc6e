"""APScheduler triggers aligned to candle closes, and the job options every engine job uses."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from engine.candles import timeframe_ms

# Seconds after a candle's close before it is fetched: exchanges publish the closed candle a moment later.
CLOSE_DELAY_S = 2


def candle_close_trigger(timeframe: str, delay_s: int = CLOSE_DELAY_S) -> CronTrigger:
    """Fires `delay_s` seconds after every close of `timeframe` (UTC, aligned to the epoch like the candles)."""
    ms = timeframe_ms(timeframe)
    minutes = ms // 60_000
    if ms % 60_000 or minutes < 1:
        raise ValueError(f"timeframe {timeframe!r} is not a whole number of minutes")
    if minutes < 60:
        if 60 % minutes:
            raise ValueError(f"timeframe {timeframe!r} does not divide an hour")
        return CronTrigger(minute=f"*/{minutes}", second=delay_s, timezone="UTC")
    hours = minutes // 60
    if minutes % 60 == 0 and hours < 24:
        if 24 % hours:
            raise ValueError(f"timeframe {timeframe!r} does not divide a day")
        return CronTrigger(hour=f"*/{hours}", minute=0, second=delay_s, timezone="UTC")
    if minutes == 1440:
        return CronTrigger(hour=0, minute=0, second=delay_s, timezone="UTC")
    raise ValueError(f"unsupported timeframe {timeframe!r}")


def misfire_grace(timeframe: str) -> int:
    """How late a candle-close job may still run: a quarter of the candle, between 10 s and 5 min."""
    return int(min(max(timeframe_ms(timeframe) / 4000, 10), 300))


def job_options(grace_s: int) -> dict:
    """One run at a time, missed runs collapsed into one, late runs allowed within the grace time."""
    return {"max_instances": 1, "coalesce": True, "misfire_grace_time": grace_s}


def every(seconds: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds, timezone="UTC")


def close_time_ms(fire_time_ms: int, timeframe: str) -> int:
    """The close (= open of the next candle) that a trigger firing at `fire_time_ms` belongs to."""
    ms = timeframe_ms(timeframe)
    return fire_time_ms - fire_time_ms % ms


def as_timedelta(timeframe: str) -> timedelta:
    return timedelta(milliseconds=timeframe_ms(timeframe))

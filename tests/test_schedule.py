"""Candle-close triggers fire just after each close, for every timeframe the strategies offer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.runtime.schedule import candle_close_trigger, close_time_ms, job_options, misfire_grace


@pytest.mark.parametrize(
    ("tf", "now", "expected"),
    [
        ("1m", "2024-08-01 10:00:30", "2024-08-01 10:01:02"),
        ("3m", "2024-08-01 10:01:00", "2024-08-01 10:03:02"),
        ("5m", "2024-08-01 10:04:59", "2024-08-01 10:05:02"),
        ("15m", "2024-08-01 10:15:01", "2024-08-01 10:15:02"),
        ("30m", "2024-08-01 10:15:01", "2024-08-01 10:30:02"),
        ("1h", "2024-08-01 10:15:00", "2024-08-01 11:00:02"),
        ("4h", "2024-08-01 10:15:00", "2024-08-01 12:00:02"),
        ("1d", "2024-08-01 10:15:00", "2024-08-02 00:00:02"),
    ],
)
def test_fires_two_seconds_after_each_close(tf, now, expected):
    t = datetime.fromisoformat(now).replace(tzinfo=UTC)
    fire = candle_close_trigger(tf).get_next_fire_time(None, t)
    assert fire == datetime.fromisoformat(expected).replace(tzinfo=UTC)
    fire_ms = int(fire.timestamp() * 1000)
    close = close_time_ms(fire_ms, tf)
    assert fire_ms - close == 2000  # the job knows which close it serves


def test_consecutive_fires_are_one_timeframe_apart():
    trig = candle_close_trigger("15m")
    t = datetime(2024, 8, 1, 23, 50, tzinfo=UTC)
    a = trig.get_next_fire_time(None, t)
    b = trig.get_next_fire_time(a, a + timedelta(seconds=1))
    assert b - a == timedelta(minutes=15)


@pytest.mark.parametrize("tf", ["7m", "5h", "2d", "30s"])
def test_unaligned_timeframes_are_refused(tf):
    with pytest.raises(ValueError):
        candle_close_trigger(tf)


def test_grace_and_options():
    assert misfire_grace("1m") == 15 and misfire_grace("1d") == 300 and misfire_grace("15m") == 225
    assert job_options(10) == {"max_instances": 1, "coalesce": True, "misfire_grace_time": 10}

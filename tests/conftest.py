"""Shared pytest fixtures: where the real candle data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder of real Binance candles; `TB_DATA_DIR` overrides the default `../shared/data`."""
    return Path(os.environ.get("TB_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = data_dir()
    if not (d / "BTC_USDT-1m.csv").exists():
        pytest.fail(f"candle data not found in {d}; set TB_DATA_DIR")
    return d

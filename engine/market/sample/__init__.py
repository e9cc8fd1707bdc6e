"""A small sample of real Binance 1m candles shipped with the project, so a fresh clone can replay without ../shared."""

from pathlib import Path

SAMPLE_DIR: Path = Path(__file__).resolve().parent

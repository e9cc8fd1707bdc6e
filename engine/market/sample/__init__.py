"""A small sample of real Binance 1m candles shipped with the project, so a fresh clone can replay without ../shared."""

from pathlib import Path

SAMPLE_DIR: Path = Path(__file__).resolve().parent

# Where the sandbox's replay starts on this sample: 2024-08-10 00:00 UTC, 14 days in, after the crash of 5 August,
# so a GRID started with the quick setup's defaults fills within the first market hour (from 3 August, the replay's
# default start, a BTC/USDT grid waited days); 15 days are left to play, about 6 hours at 60x.
SANDBOX_START_MS: int = 1_723_248_000_000

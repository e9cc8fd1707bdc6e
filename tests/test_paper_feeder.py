"""The paper feeder asks the market data for a symbol's 1m candles once per feed, however many accounts it feeds
and however long ago each was last fed, and each venue gets exactly the candles closed since its own last one."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

from engine.candles import load_csv
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import MarketType
from engine.market.candle_cache import CandleCache
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource
from engine.runtime.paper_feed import PaperFeeder

SYM = "BTC/USDT"
MIN = 60_000


async def test_a_symbol_is_fetched_once_for_accounts_fed_at_different_minutes(shared_data):
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock = ManualClock(int(csv.ts[100]) + MIN)  # candle 100 has just closed
    cache = CandleCache({"replay": ReplaySource(shared_data, clock)}, clock)
    feeder = PaperFeeder(cache)
    recent, behind, new = (PaperExchange(MarketType.SPOT, {"USDT": D(1000)}) for _ in range(3))
    await recent.feed(SYM, csv.rows()[97])
    await behind.feed(SYM, csv.rows()[90])
    groups = {(account, SYM): [SimpleNamespace(exchange=ex, source="replay")]  # all the feeder reads of a bot
              for account, ex in ((1, recent), (2, behind), (3, new))}  # the shortest gap first

    fed = await feeder.feed(groups, clock.now_ms())

    assert sum(cache.requests.values()) == 1, cache.requests
    assert fed == 3 + 10 + 1  # candles 98-100, 91-100, and the last closed one for a venue that had none
    for ex in (recent, behind, new):
        assert (await ex.fetch_ticker(SYM)).ts == int(csv.ts[100])

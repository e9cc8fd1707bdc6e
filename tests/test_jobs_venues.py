"""A worker's paper venues kept across its jobs: read from the database once while nobody else writes them, read
again when another process (a worker, the chat's process) stored a newer version, and never written over it."""

from __future__ import annotations

from decimal import Decimal

from db.models import ExchangeAccount, PaperVenue
from engine.candles import timeframe_ms
from engine.exchange.factory import make_exchange
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import OrderRequest, OrderType, Side
from engine.jobs.markets import HANDLE_BYTES
from engine.jobs.worker import build_markets
from engine.runtime.registry import RECORD_BYTES, venue_bytes
from tests.runtime_kit import day_start
from tests.test_jobs import _start_bots

STEP = timeframe_ms("5m")
BTC = "BTC/USDT:USDT"


async def _started(shared_data) -> tuple[int, ExchangeAccount]:
    start = day_start(shared_data)
    start -= start % STEP
    engine = await _start_bots(shared_data, start)
    await engine.shutdown()
    return start, await ExchangeAccount.get(label=BTC)


def _counted_loads(monkeypatch) -> list[int]:
    """Accounts whose stored venue was read: whole, or what a copy lacked (PaperStore.load, PaperStore.since, and
    PaperStore.since_many for copies that catch up together)."""
    loads: list[int] = []
    for name in ("load", "since"):
        read = getattr(PaperStore, name)

        async def counted(self, *a, _read=read):
            loads.append(self.account_id)
            return await _read(self, *a)

        monkeypatch.setattr(PaperStore, name, counted)
    together = PaperStore.since_many

    async def many(wants):
        if PaperVenue._meta.db.capabilities.dialect == "postgres":  # elsewhere it reads by `since`, counted above
            loads.extend(wants)
        return await together(wants)

    monkeypatch.setattr(PaperStore, "since_many", staticmethod(many))
    return loads


async def test_a_worker_reads_an_unchanged_venue_once_across_its_jobs(db, shared_data, monkeypatch):
    start, acc = await _started(shared_data)
    loads = _counted_loads(monkeypatch)
    markets = build_markets(replay_dir=shared_data)
    for k in range(4):  # each job feeds the venue its minutes and stores them: this worker's own writes
        assert (await markets.close("paper:swap", BTC, "5m", start + k * STEP))["bots"] == 1
    assert loads == [acc.id]
    assert (markets.attached, markets.adopted) == (1, 3)  # the bot's handle kept from its first job on


async def test_a_venue_another_process_wrote_is_read_again_and_not_written_over(db, shared_data, monkeypatch):
    start, acc = await _started(shared_data)
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", BTC, "5m", start)
    elsewhere = make_exchange(acc, None, replay_source=markets.replay)  # the chat's process, or another worker
    far = OrderRequest(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), "elsewhere-1", price=Decimal(1000))
    placed = await elsewhere.create_order(far)
    loads = _counted_loads(monkeypatch)
    await markets.close("paper:swap", BTC, "5m", start + STEP)
    assert loads == [acc.id]
    kept = markets.exchanges[acc.id]
    assert (await kept.fetch_order(BTC, placed.id)).client_order_id == "elsewhere-1"
    again = make_exchange(acc, None, replay_source=markets.replay)
    assert [o.client_order_id for o in await again.fetch_open_orders(BTC)] == ["elsewhere-1"]


async def _both_kept(shared_data):
    start, btc = await _started(shared_data)
    eth = await ExchangeAccount.get(label="ETH/USDT:USDT")  # its GRID's resting orders make its venue the heavier
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", BTC, "5m", start)
    await markets.close("paper:swap", "ETH/USDT:USDT", "5m", start)
    assert list(markets.exchanges) == [btc.id, eth.id]
    weights = [venue_bytes(markets.exchanges[a.id]) + HANDLE_BYTES for a in (btc, eth)]  # a kept bot each
    assert markets.kept_bytes == sum(weights)
    return start, btc, eth, markets, weights


async def test_a_worker_keeps_its_least_recently_used_venues_only_within_its_memory_budget(db, shared_data):
    start, btc, eth, markets, (w_btc, w_eth) = await _both_kept(shared_data)
    markets.keep_bytes = max(w_btc, w_eth)  # room for either, not both
    await markets.close("paper:swap", BTC, "5m", start + STEP)
    assert list(markets.exchanges) == [btc.id]  # the least recently used went
    await markets.close("paper:swap", "ETH/USDT:USDT", "5m", start + STEP)  # and is read again when its job comes
    assert list(markets.exchanges) == [eth.id]
    assert markets.kept_bytes == venue_bytes(markets.exchanges[eth.id]) + HANDLE_BYTES


async def test_a_venue_holding_more_orders_counts_for_more_of_the_budget(db, shared_data):
    """Kept by memory, not by count: two venues that fit stop fitting when one of them takes 10 more orders (a
    count of 2 kept both)."""
    start, btc, _, markets, (w_btc, w_eth) = await _both_kept(shared_data)
    markets.keep_bytes = w_btc + w_eth + 3 * RECORD_BYTES
    elsewhere = make_exchange(btc, None, replay_source=markets.replay)  # the chat's process, or another worker
    for k in range(10):
        await elsewhere.create_order(OrderRequest(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), f"far-{k}",
                                                  price=Decimal(1000)))
    await markets.close("paper:swap", BTC, "5m", start + STEP)  # its copy reads the 10 orders: heavier
    assert venue_bytes(markets.exchanges[btc.id]) + HANDLE_BYTES >= w_btc + 10 * RECORD_BYTES
    assert list(markets.exchanges) == [btc.id]  # the other, used less recently, went
    assert markets.kept_bytes <= markets.keep_bytes


async def test_an_account_without_active_bots_leaves_the_worker_at_the_next_reconciliation(db, shared_data):
    """A worker keeps exchanges across jobs; one whose account has no active bot any more (stopped, or the account
    deleted: a live gateway holds the decrypted key) is closed and dropped by the next reconciliation job."""
    from db.enums import BotStatus
    from db.models import StrategyBot

    start, btc = await _started(shared_data)
    eth = await ExchangeAccount.get(label="ETH/USDT:USDT")
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", BTC, "5m", start)
    await markets.close("paper:swap", "ETH/USDT:USDT", "5m", start)
    assert set(markets.exchanges) == {btc.id, eth.id}
    await StrategyBot.filter(account_id=btc.id).update(status=BotStatus.STOPPED)
    await markets.reconcile(start + STEP)
    assert set(markets.exchanges) == {eth.id}


async def test_a_reconciliation_job_feeds_the_venues_up_to_now_before_it_repairs_their_orders(db, shared_data):
    """A GRID's level cancelled behind its back is placed again by the periodic reconciliation, ten minutes after
    any job fed its venue: the venue is fed the minutes closed since first, so the order is placed at now's time and
    price and no minute that closed before it can fill it."""
    from db.enums import OrderStatus
    from db.models import Order

    start, _ = await _started(shared_data)
    grid = await ExchangeAccount.get(label="ETH/USDT:USDT")
    venue = make_exchange(grid, None)
    gone = (await venue.fetch_open_orders("ETH/USDT:USDT"))[0]
    await venue.cancel_order("ETH/USDT:USDT", gone.id)  # behind the bot's back
    now = start + 10 * 60_000 + 2_000
    await build_markets(replay_dir=shared_data).reconcile(now)
    again = await Order.filter(status=OrderStatus.OPEN, level__not_isnull=True).exclude(
        client_order_id=gone.client_order_id).filter(price=gone.price).first()
    assert again is not None, "the level was not placed again"
    last_closed = now - now % 60_000 - 60_000
    placed = await make_exchange(grid, None).fetch_order("ETH/USDT:USDT", client_order_id=again.client_order_id)
    assert placed.ts == last_closed  # at the venue's time now, not at the start's

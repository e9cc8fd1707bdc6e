"""Supervision and reconciliation as jobs (real NATS JetStream, real PostgreSQL): a GRID bot on 1h candles whose entry
fills at its venue gets its counter order from a supervision job within seconds, not at the next hourly close; a
supervision or reconciliation job kicked twice in its interval runs once."""

from __future__ import annotations

import asyncio
import time

from db.enums import OrderRole, OrderStatus
from db.models import Order
from engine.exchange.protocol import MarketType as ExMarketType
from engine.jobs.broker import make_broker, supervise_job_id
from engine.jobs.emitter import PeriodicEmitter
from engine.jobs.markets import FreshMarkets, JobClock
from engine.jobs.tasks import register
from engine.jobs.worker import CANDLE_KEEP, attach, serve
from engine.market.candle_cache import CandleCache
from engine.market.clock import ManualClock, RealClock
from engine.runtime.locks import SymbolLocks
from tests.conftest import migrated_database
from tests.fakes.gateways import gateway, venue
from tests.runtime_kit import grid_on_venue
from tests.test_jobs import NATS_URL, until

MARKET = ("okx:spot", "BTC/USDT", "1h")


async def _grid_on_fake(fake, data_dir):
    """A long GRID bot on 1h candles at the fake venue, started at the replayed day's start: its buy levels rest."""
    from engine.runtime.engine import Engine

    user, bot, start, _day = await grid_on_venue(fake, data_dir, "okx", 7, 90)
    bot.settings = {**bot.settings, "timeframe": "1h"}
    await bot.save()
    engine = Engine(clock=ManualClock(start + 2_000), exchange_factory=lambda a: gateway(fake, ExMarketType.SPOT))
    await engine.start(schedule=False)
    await engine.control.start_bot(user.id, bot.id)
    await engine.shutdown()
    return bot


def _worker_markets(fake) -> FreshMarkets:
    clock = JobClock(RealClock())
    return FreshMarkets(CandleCache({}, clock, keep=CANDLE_KEEP), clock, SymbolLocks(),
                        factory=lambda a: gateway(fake, ExMarketType.SPOT))


async def _drained(broker, opts) -> None:
    """Every job kicked so far ran and was acknowledged (so stopping the worker cuts none short)."""
    js = broker.client.jetstream()
    for _ in range(500):
        c = await js.consumer_info(opts.stream, opts.durable)
        if c.num_pending == 0 and c.num_ack_pending == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the jobs kicked did not drain")


async def _exits(bot_id: int) -> list[Order]:
    return await Order.filter(bot_id=bot_id, role=OrderRole.GRID_EXIT).all()


async def test_a_fill_gets_its_counter_order_from_a_supervision_job(db_templates, tmp_path, shared_data,
                                                                    stream_options):
    async with migrated_database("postgres", db_templates, tmp_path, "sv"), \
            venue("okx", shared_data, balances={"USDT": "100000"}) as fake:
        bot = await _grid_on_fake(fake, shared_data)
        buys = await Order.filter(bot_id=bot.id, role=OrderRole.GRID_ENTRY, status=OrderStatus.OPEN).all()
        assert buys
        top = max(buys, key=lambda o: o.price)

        worker = make_broker(NATS_URL, stream_options)
        markets = _worker_markets(fake)
        attach(worker, markets)
        scheduler = make_broker(NATS_URL, stream_options)
        tasks = register(scheduler)
        await scheduler.startup()
        stop = asyncio.Event()
        serving = asyncio.create_task(serve(worker, concurrency=2, stop=stop))
        emitter = PeriodicEmitter(tasks, interval_s=1.0, reconcile_interval_s=None)
        quiet = asyncio.Event()
        emitting = asyncio.create_task(emitter.run(RealClock(), quiet))
        try:
            # the emitter runs, a job a second for the market: the first ones take in the start's market entry
            await until(lambda: markets.supervised >= 3)
            before = {o.id for o in await _exits(bot.id)}
            fake.fill(next(o.id for o in fake.orders.values() if o.client_id == top.client_order_id))
            filled_at = time.monotonic()

            async def countered() -> bool:  # its row is written PENDING before it is sent: wait for the answer
                return any(o.id not in before and o.status != OrderStatus.PENDING for o in await _exits(bot.id))

            end = filled_at + 20
            while not await countered():
                assert time.monotonic() < end, "no counter order 20 s after the fill"
                await asyncio.sleep(0.05)
            took = time.monotonic() - filled_at
            print(f"\ncounter order placed {took:.2f} s after the fill (supervision every 1 s; the next 1h close "
                  f"is up to 3600 s away)")
            assert took < 5
            assert markets.jobs == 0 and markets.reconciled == 0  # neither a close nor a reconciliation placed it
            exits = await _exits(bot.id)
            (exit_row,) = [o for o in exits if o.id not in before]
            assert exit_row.side == "sell" and exit_row.price > top.price and exit_row.status == OrderStatus.OPEN
            assert any(o.client_id == exit_row.client_order_id and o.status == "open" for o in fake.orders.values())
        finally:
            quiet.set()
            await emitting
            await _drained(worker, stream_options)
            stop.set()
            await serving

        # kicked twice in one interval (two schedulers): the stream drops the second, it runs once
        stop = asyncio.Event()
        before, dup = markets.supervised, scheduler.duplicates
        bucket = int(time.time() // 1.0) + 10_000  # an interval no emitter reached
        ids = [await tasks.kick_market_supervise(*MARKET, bucket, int(time.time() * 1000)) for _ in range(2)]
        assert ids == [supervise_job_id(*MARKET, bucket)] * 2 and scheduler.duplicates == dup + 1
        serving = asyncio.create_task(serve(worker, concurrency=2, stop=stop))
        try:
            await until(lambda: markets.supervised == before + 1)
            await asyncio.sleep(1.0)
            assert markets.supervised == before + 1
            await _drained(worker, stream_options)
            assert not await emitter.emit(0, (emitter.last_bucket + 0.5) * 1.0)  # its own interval: emitted already
        finally:
            stop.set()
            await serving
            await scheduler.shutdown()
            for ex in markets.exchanges.values():  # the worker keeps real venues' gateways across jobs
                await ex.close()


async def test_a_reconcile_job_runs_once_and_repairs_an_order_cancelled_behind_the_bots_back(
        db_templates, tmp_path, shared_data, stream_options):
    async with migrated_database("postgres", db_templates, tmp_path, "rc"), \
            venue("okx", shared_data, balances={"USDT": "100000"}) as fake:
        bot = await _grid_on_fake(fake, shared_data)
        buys = await Order.filter(bot_id=bot.id, role=OrderRole.GRID_ENTRY, status=OrderStatus.OPEN).all()
        gone = max(buys, key=lambda o: o.price)
        next(o for o in fake.orders.values() if o.client_id == gone.client_order_id).status = "canceled"

        worker = make_broker(NATS_URL, stream_options)
        markets = _worker_markets(fake)
        attach(worker, markets)
        scheduler = make_broker(NATS_URL, stream_options)
        tasks = register(scheduler)
        await scheduler.startup()
        bucket = int(time.time() // 600)
        ids = [await tasks.kick_reconcile(bucket, int(time.time() * 1000)) for _ in range(2)]
        assert ids == [f"rc:{bucket}"] * 2 and scheduler.duplicates == 1
        stop = asyncio.Event()
        serving = asyncio.create_task(serve(worker, concurrency=2, stop=stop))
        try:
            await until(lambda: markets.reconciled == 1)
            await _drained(worker, stream_options)
            assert markets.reconciled == 1 and markets.supervised == 0 and markets.jobs == 0
        finally:
            stop.set()
            await serving
            await scheduler.shutdown()
            for ex in markets.exchanges.values():
                await ex.close()
        await gone.refresh_from_db()
        assert gone.status == OrderStatus.CANCELED
        again = await Order.filter(bot_id=bot.id, role=OrderRole.GRID_ENTRY, status=OrderStatus.OPEN,
                                   level=gone.level).all()
        assert len(again) == 1 and again[0].price == gone.price and again[0].client_order_id != gone.client_order_id
        assert any(o.client_id == again[0].client_order_id and o.status == "open" for o in fake.orders.values())


async def test_supervision_jobs_go_only_to_markets_with_something_in_flight(db, shared_data):
    """Between closes only a market whose bots have an order not final (a fill or an outcome to take in) or a stop
    to finish needs supervising: a flat HYPERRSI bot with nothing resting waits for its close job (which takes in
    whatever happened), so 10,000 such bots cost no job every 5 s."""
    from db.enums import BotStatus
    from db.models import StrategyBot
    from engine.candles import timeframe_ms
    from tests.runtime_kit import day_start
    from tests.test_jobs import _start_bots

    step = timeframe_ms("5m")
    start = day_start(shared_data)
    start -= start % step
    await (await _start_bots(shared_data, start)).shutdown()  # a flat HYPERRSI on BTC, a resting GRID on ETH
    hyper = await StrategyBot.get(symbol="BTC/USDT:USDT")
    assert not await Order.filter(bot_id=hyper.id, status__in=["pending", "open", "unknown"]).exists()
    broker = make_broker(None)
    emitter = PeriodicEmitter(register(broker), interval_s=5.0, reconcile_interval_s=None)
    ids = await emitter.emit(start, 1_000.0)
    assert ids == [supervise_job_id("paper:swap", "ETH/USDT:USDT", "5m", 200)]
    await StrategyBot.filter(id=hyper.id).update(status=BotStatus.STOPPING)  # a stop to finish: supervised
    assert len(await emitter.emit(start, 1_005.0)) == 2
    await StrategyBot.filter(id=hyper.id).update(status=BotStatus.RUNNING)
    await Order.create(bot_id=hyper.id, account_id=hyper.account_id, symbol=hyper.symbol, side="buy",
                       type="market", amount=1, role=OrderRole.ENTRY, client_order_id="in-flight",
                       status=OrderStatus.UNKNOWN)  # an entry whose outcome is not known yet: supervised
    assert len(await emitter.emit(start, 1_010.0)) == 2


async def test_a_market_entry_is_supervised_until_its_fill_is_booked(db, shared_data):
    """A close job's HYPERRSI sends its market entry after the job took the market's fills in. On paper the entry
    rests until the next minute is fed: an order not final, so the scheduler supervises the market. A real venue
    fills it at once: nothing is left open for the scheduler to see, so the job that finds the bot still waiting
    for that fill queues the market's next supervision itself. Once the fill is booked the take-profits and the
    stop rest, and the market stays supervised for them."""
    from db.models import Fill, StrategyBot
    from engine.candles import timeframe_ms
    from engine.jobs.markets import markets_in_flight
    from engine.jobs.worker import build_markets
    from engine.runtime.schedule import CLOSE_DELAY_S
    from tests.runtime_kit import day_start
    from tests.test_jobs import _start_bots

    step = timeframe_ms("5m")
    start = day_start(shared_data)
    start -= start % step
    await (await _start_bots(shared_data, start)).shutdown()
    hyper = await StrategyBot.get(symbol="BTC/USDT:USDT")
    hyper.settings = {**hyper.settings, "rsi_oversold": 98, "rsi_overbought": 99}  # enters long on the next close
    await hyper.save()
    btc = ("paper:swap", "BTC/USDT:USDT", "5m")
    now = start + 2 * step + CLOSE_DELAY_S * 1000
    assert btc not in await markets_in_flight()
    broker = make_broker(None)
    markets = build_markets(replay_dir=shared_data)
    tasks = attach(broker, markets)
    await broker.startup()
    try:
        await tasks.kick_market_close(*btc, start + step)
        await broker.wait_all()
        entry = Order.filter(bot_id=hyper.id, role=OrderRole.ENTRY)
        assert await entry.filter(status=OrderStatus.OPEN).count() == 1 and markets.supervised == 0
        assert btc in await markets_in_flight()  # paper: the scheduler's supervision takes it from here
        await entry.update(status=OrderStatus.CLOSED)  # as a real venue answers a market order: filled at once
        assert btc not in await markets_in_flight()
        await tasks.kick_market_supervise(*btc, 1, now)
        await broker.wait_all()
        await broker.wait_all()  # the follow-up it queued
        assert markets.supervised >= 2  # one more when the wait crossed into the next 5 s interval
    finally:
        await broker.shutdown()
    done = await markets.supervise(*btc, now + 60_000)  # the paper venue fills it on the next minute
    assert done["fills"] == 1 and done["again"] == 0
    assert await Fill.filter(order__bot_id=hyper.id).count() == 1
    resting = await Order.filter(bot_id=hyper.id, status=OrderStatus.OPEN).values_list("role", flat=True)
    assert OrderRole.STOP_LOSS in resting and OrderRole.TAKE_PROFIT in resting
    assert btc in await markets_in_flight()  # its exits rest now

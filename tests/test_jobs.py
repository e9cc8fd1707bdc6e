"""The job layer (engine/jobs): one market's candle close as a taskiq job with an idempotent id, in this process and
on the real NATS JetStream (a fresh stream per test); the same results as the one-process cycle."""

from __future__ import annotations

import asyncio
import contextlib

from engine.jobs.broker import MSG_ID, make_broker, market_job_id
from engine.jobs.worker import attach, build_markets, serve

NATS_URL = "nats://127.0.0.1:4222"


async def until(cond, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_in_memory_job_kicked_twice_runs_once(db):
    broker = make_broker(None)
    markets = build_markets()
    tasks = attach(broker, markets)
    await broker.startup()
    ids = [await tasks.kick_market_close("paper:swap", "BTC/USDT:USDT", "5m", 1_700_000_000_000) for _ in range(2)]
    await broker.wait_all()
    assert ids == ["md:paper:swap:BTC/USDT:USDT:5m:1700000000000"] * 2
    assert markets.jobs == 1 and broker.duplicates == 1
    await tasks.kick_market_close("paper:swap", "BTC/USDT:USDT", "5m", 1_700_000_300_000)  # the next candle runs
    await broker.wait_all()
    assert markets.jobs == 2
    await broker.shutdown()


async def test_jetstream_drops_the_second_kick_of_a_job(db, stream_options):
    """The job id travels as the Nats-Msg-Id header (taskiq-nats sends labels as headers) and the stream drops the
    second publish; the one message left runs once on a worker and is acknowledged."""
    kicker = make_broker(NATS_URL, stream_options)
    tasks = attach(kicker, build_markets())
    await kicker.startup()
    for _ in range(2):
        await tasks.kick_market_close("paper:swap", "ETH/USDT:USDT", "1m", 1_700_000_040_000)
    assert kicker.duplicates == 1
    js = kicker.client.jetstream()
    info = await js.stream_info(stream_options.stream)
    assert info.state.messages == 1
    msg = await js.get_msg(stream_options.stream, seq=info.state.first_seq)
    assert msg.headers[MSG_ID] == market_job_id("paper:swap", "ETH/USDT:USDT", "1m", 1_700_000_040_000)

    worker = make_broker(NATS_URL, stream_options)
    markets = build_markets()
    attach(worker, markets)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(worker, concurrency=2, stop=stop))
    await until(lambda: markets.jobs == 1)
    await tasks.kick_market_close("paper:swap", "ETH/USDT:USDT", "1m", 1_700_000_040_000)  # a late third kick
    assert kicker.duplicates == 2
    await asyncio.sleep(0.5)
    assert markets.jobs == 1
    consumer = await js.consumer_info(stream_options.stream, stream_options.durable)
    assert consumer.num_ack_pending == 0 and consumer.num_pending == 0
    assert (await js.stream_info(stream_options.stream)).state.messages == 0  # acknowledged: gone (work queue)
    stop.set()
    await serving
    await kicker.shutdown()


# ---- the job's results equal the one-process cycle's on the same candles ----

CLOSES = 144  # 12 h of 5m closes


async def _start_bots(data_dir, start: int):
    """A HYPERRSI (BTC) and a GRID (ETH) paper bot, each on its own paper account, started at `start` + 2 s.
    Returns the Engine that started them (its clock stands at that time)."""
    from db.enums import BotKind, BotStatus, MarketType
    from db.models import ExchangeAccount, StrategyBot, User
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine
    from tests.runtime_kit import HYPERRSI_SETTINGS, grid_settings, price_range

    user = await User.create(telegram_id=7)
    bots = []
    lo, hi = price_range(data_dir, "ETH_USDT", start, CLOSES * 5)
    for kind, symbol, settings in ((BotKind.HYPERRSI, "BTC/USDT:USDT", HYPERRSI_SETTINGS),
                                   (BotKind.GRID, "ETH/USDT:USDT", grid_settings(lo, hi, adx_gate=False))):
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label=symbol,
                                           is_paper=True, paper_balances={"USDT": "100000"})
        bots.append(await StrategyBot.create(user=user, account=acc, kind=kind, symbol=symbol, settings=settings,
                                             status=BotStatus.DRAFT))
    engine = Engine(clock=ManualClock(start + 2_000), replay_dir=data_dir)
    await engine.start(schedule=False)
    for b in bots:
        await engine.control.start_bot(user.id, b.id)
    return engine


async def _outcome() -> dict:
    from db.models import Fill, Order, Position, StrategyBot

    return {
        "orders": await Order.all().order_by("bot_id", "id").values_list(
            "bot_id", "client_order_id", "role", "side", "type", "price", "trigger_price", "amount", "filled",
            "status", "level"),
        "fills": await Fill.all().order_by("account_id", "id").values_list("order__client_order_id", "account_id", "trade_id", "price", "amount",
                                                             "fee", "ts"),
        "positions": await Position.all().order_by("bot_id").values_list("bot_id", "side", "size", "average_entry",
                                                                         "realized_pnl", "fees"),
        "states": await StrategyBot.all().order_by("id").values_list("id", "status", "state"),
    }


@contextlib.asynccontextmanager
async def _second_database(db, db_templates, tmp_path):
    """Another fresh, migrated database, connected instead of the test's one for the block."""
    import shutil

    from db.database import connect, disconnect
    from tests.conftest import _PG_BASE, _pg_admin

    await disconnect()
    name = None
    if db.dialect == "sqlite":
        path = tmp_path / "second.sqlite3"
        shutil.copyfile(db_templates["sqlite"], path)
        url = f"sqlite://{path}"
    else:
        name = f"{db.pg_name}_b"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{db_templates["postgres"]}"')
        url = f"{_PG_BASE}/{name}"
    await connect(url, apply_migrations=False)
    try:
        yield
    finally:
        await disconnect()
        if name:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_market_jobs_equal_the_one_process_cycle(db, db_templates, tmp_path, shared_data):
    """12 h of replayed 5m closes for a GRID and a HYPERRSI paper bot: through today's CandleCycle (engine.tick at
    every close) and through one market_close job per market and close (in-memory broker, bots loaded afresh from
    the database by each job): the same orders, fills, positions and bot states, row for row."""
    from engine.candles import timeframe_ms
    from tests.runtime_kit import day_start

    step = timeframe_ms("5m")
    start = day_start(shared_data)
    start -= start % step
    engine = await _start_bots(shared_data, start)
    for k in range(1, CLOSES + 1):
        engine.clock.set(start + k * step + 2_000)
        await engine.tick()
    await engine.shutdown()
    one_process = await _outcome()
    assert len(one_process["fills"]) >= 10 and {o[0] for o in one_process["orders"]} == {1, 2}

    async with _second_database(db, db_templates, tmp_path):
        engine = await _start_bots(shared_data, start)
        await engine.shutdown()
        broker = make_broker(None)
        markets = build_markets(replay_dir=shared_data)
        tasks = attach(broker, markets)
        await broker.startup()
        for k in range(1, CLOSES + 1):
            for symbol in ("BTC/USDT:USDT", "ETH/USDT:USDT"):
                await tasks.kick_market_close("paper:swap", symbol, "5m", start + (k - 1) * step)
            await broker.wait_all()
        await broker.shutdown()
        assert markets.jobs == 2 * CLOSES
        jobs = await _outcome()
    for key in one_process:
        assert jobs[key] == one_process[key], key


async def test_a_job_does_not_ask_the_venue_for_the_leverage_again(db, shared_data, monkeypatch):
    """A running bot's venue holds its leverage since the bot's start: a job that attaches the bot afresh does not
    set it again (on a real venue that was one request per bot per job)."""
    from engine.candles import timeframe_ms
    from engine.exchange.paper import PaperExchange
    from tests.runtime_kit import day_start

    step = timeframe_ms("5m")
    start = day_start(shared_data)
    start -= start % step
    engine = await _start_bots(shared_data, start)
    await engine.shutdown()
    asked = []
    set_leverage = PaperExchange.set_leverage

    async def counted(self, symbol, leverage):
        asked.append((symbol, leverage))
        return await set_leverage(self, symbol, leverage)

    monkeypatch.setattr(PaperExchange, "set_leverage", counted)
    markets = build_markets(replay_dir=shared_data)
    for symbol in ("BTC/USDT:USDT", "ETH/USDT:USDT"):
        assert (await markets.close("paper:swap", symbol, "5m", start))["bots"] == 1
    assert asked == []


async def test_supervision_jobs_feed_paper_venues_so_a_1h_grid_fills_within_the_hour(db, shared_data):
    """A paper GRID on 1h candles, worked by jobs: the supervision jobs of the hour feed its venue the 1m candles
    closed by then (as the one-process engine feeds paper every minute), so its levels fill, are taken in and get
    their take-profits within the hour, not at the hour's close."""
    from db.enums import BotKind, BotStatus, MarketType, OrderRole
    from db.models import ExchangeAccount, Fill, Order, StrategyBot, User
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine
    from tests.runtime_kit import day_start, grid_settings, price_range

    hour = 3_600_000
    start = day_start(shared_data)
    start -= start % hour
    lo, hi = price_range(shared_data, "ETH_USDT", start, 60)
    user = await User.create(telegram_id=8)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="ETH/USDT:USDT",
                                   settings=grid_settings(lo, hi, adx_gate=False, timeframe="1h"),
                                   status=BotStatus.DRAFT)
    engine = Engine(clock=ManualClock(start + 2_000), replay_dir=shared_data)
    await engine.start(schedule=False)
    await engine.control.start_bot(user.id, bot.id)
    await engine.shutdown()
    markets = build_markets(replay_dir=shared_data)
    for minute in range(1, 60):
        await markets.supervise("paper:swap", "ETH/USDT:USDT", "1h", start + minute * 60_000 + 2_000)
    assert await Fill.filter(account_id=acc.id).count() >= 1
    assert await Order.filter(bot_id=bot.id, role=OrderRole.GRID_EXIT).count() >= 1

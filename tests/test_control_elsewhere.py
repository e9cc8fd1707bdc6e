"""A process that does not run the bots it acts on (a web replica, any set-up where workers run the candle closes):
the chat's reads and its start, stop and settings actions take each bot and paper venue as stored, under the bot's
lock, never a copy kept from an earlier action (seen: a replica that had started a bot stopped it "with its position
closed" and sent nothing, and showed the paper account as it was at the start, while a worker had entered)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from db.enums import BotKind, BotStatus, MarketType, OrderRole
from db.models import AuditLog, ExchangeAccount, Order, Position, StrategyBot, User
from engine.exchange.factory import make_exchange
from tests.runtime_kit import HYPERRSI_SETTINGS, day_start

TF = 300_000  # the bot's 5m
BTC = "BTC/USDT:USDT"
ENTER = {**HYPERRSI_SETTINGS, "rsi_oversold": 98, "rsi_overbought": 99, "entry_option": "rsi_only"}  # enter long


async def _entered_by_a_worker(shared_data, telegram_id: int):
    """A HYPERRSI bot started from a web process (its engine never started, as bot/app.py builds it beside
    workers), then entered long by a worker's market jobs: (web engine, its clock, user, account, bot, close)."""
    from engine.jobs.worker import build_markets
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine

    start = day_start(shared_data)
    clock = ManualClock(start + 2_000)
    web = Engine(clock=clock, replay_dir=shared_data, runs_bots=False)
    user = await User.create(telegram_id=telegram_id)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol=BTC, settings=ENTER,
                                   status=BotStatus.DRAFT)
    await web.control.start_bot(user.id, bot.id)
    markets = build_markets(replay_dir=shared_data)
    close = start - start % TF + 2 * TF
    await markets.close("paper:swap", BTC, "5m", close)  # the entry
    await markets.close("paper:swap", BTC, "5m", close + TF)  # its fill taken in
    assert (await Position.get(bot_id=bot.id)).size > 0
    return web, clock, markets, user, acc, bot, close


async def test_a_web_process_reads_the_paper_account_a_worker_traded_as_stored(db, shared_data):
    web, _, _, _, acc, _, _ = await _entered_by_a_worker(shared_data, 8600)
    stored = await make_exchange(acc, None).fetch_positions()
    assert stored and stored[0].amount > 0
    shown = await (await web.exchange_for(acc)).fetch_positions()  # what /balance and the cards read
    assert [(p.symbol, p.amount) for p in shown] == [(p.symbol, p.amount) for p in stored]
    await web.shutdown()


async def test_a_web_process_stops_a_bot_a_worker_entered_and_its_position_is_closed(db, shared_data):
    web, clock, markets, user, acc, bot, close = await _entered_by_a_worker(shared_data, 8610)
    held = (await Position.get(bot_id=bot.id)).size
    clock.set(close + 2 * TF + 2_000)
    status = await web.control.stop_bot(user.id, bot.id, close_position=True)
    closes = await Order.filter(bot_id=bot.id, role=OrderRole.CLOSE).all()
    assert [o.amount for o in closes] == [held], closes  # the position as stored, not as the start left it
    assert status in (BotStatus.STOPPING, BotStatus.STOPPED)
    # a worker's supervision a minute on: the close fills on the venue's next candle, and the fill is taken in
    await markets.supervise("paper:swap", BTC, "5m", close + 2 * TF + 62_000)
    assert (await StrategyBot.get(id=bot.id)).status == BotStatus.STOPPED
    assert await make_exchange(acc, None).fetch_positions() == []
    assert bot.id not in web.handles  # nothing kept: the next action reads the bot again
    await web.shutdown()


async def test_a_web_process_edits_a_running_bot_without_writing_back_the_state_it_started_with(db, shared_data):
    web, _, _, user, _, bot, close = await _entered_by_a_worker(shared_data, 8620)
    before = (await StrategyBot.get(id=bot.id)).state
    await web.control.update_settings(user.id, bot.id, {"rsi_overbought": 98.5})
    after = await StrategyBot.get(id=bot.id)
    assert after.settings["rsi_overbought"] == 98.5
    assert after.state["strategy"]["side"] == before["strategy"]["side"] == "long"  # the worker's entry kept
    assert after.state["strategy"]["size"] == before["strategy"]["size"] > 0
    assert after.state["candle"] == before["candle"] == close + TF
    assert bot.id not in web.handles
    assert (await Position.get(bot_id=bot.id)).size > Decimal(0)
    await web.shutdown()


async def _fed_ten_minutes_ago(shared_data, telegram_id: int):
    """A paper account whose venue a worker last fed ETH ten minutes ago (no job on its market since), and a web
    process's engine at now: (user, account, ETH candles, index of the row fed, now, web engine)."""
    from engine.candles import load_csv
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine

    start = day_start(shared_data, "ETH_USDT")
    user = await User.create(telegram_id=telegram_id)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    eth = load_csv(shared_data / "ETH_USDT-1m.csv")
    first = int(eth.ts.searchsorted(start))
    await make_exchange(acc, None).feed("ETH/USDT:USDT", eth.rows()[first])  # a worker's last feed
    now = start + 10 * 60_000 + 2_000
    return user, acc, eth, first, now, Engine(clock=ManualClock(now), replay_dir=shared_data, runs_bots=False)


async def test_a_web_process_brings_a_paper_venue_up_to_now_before_a_bots_orders(db, shared_data):
    """The venue a worker last fed ten minutes ago (no job on its market since) is fed the minutes closed since
    before a GRID started from the chat places its ladder: the orders are placed at now's price and time, and no
    minute that closed before them can fill them."""
    from tests.runtime_kit import grid_settings, price_range

    user, acc, _, _, now, web = await _fed_ten_minutes_ago(shared_data, 8630)
    start = day_start(shared_data, "ETH_USDT")
    lo, hi = price_range(shared_data, "ETH_USDT", start, 1440)
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="ETH/USDT:USDT",
                                   settings=grid_settings(lo, hi), status=BotStatus.DRAFT)
    await web.control.start_bot(user.id, bot.id)
    last_closed = now - now % 60_000 - 60_000
    venue = make_exchange(acc, None)
    assert (await venue.fetch_ticker("ETH/USDT:USDT")).ts == last_closed
    placed = await venue.fetch_open_orders("ETH/USDT:USDT")
    assert placed and {o.ts for o in placed} == {last_closed}  # at the venue's time now, not ten minutes ago
    await web.shutdown()


async def test_a_web_process_records_no_pause_that_found_the_bot_stopped_under_its_lock(db, shared_data):
    """A pause that waited for the bot's lock while another replica stopped the bot changes nothing, and the audit
    log does not say it paused (seen: "bot.pause" recorded for a bot left STOPPED)."""
    web, _, _, user, acc, bot, _ = await _entered_by_a_worker(shared_data, 8640)
    async with web.locks.hold(acc.id, BTC):  # the other replica's stop, under way
        pausing = asyncio.create_task(web.control.pause_bot(user.id, bot.id))
        await asyncio.sleep(0.2)
        await StrategyBot.filter(id=bot.id).update(status=BotStatus.STOPPED)
    await pausing
    assert (await StrategyBot.get(id=bot.id)).status == BotStatus.STOPPED
    assert not await AuditLog.filter(action="bot.pause", object_id=str(bot.id)).exists()
    await web.shutdown()


async def test_a_web_process_shows_the_price_of_a_symbol_its_paper_venue_holds_nothing_on_as_of_now(db, shared_data):
    """The price the chat shows for a symbol a paper account holds nothing on (a GRID's suggested range, a bot's
    risk card) is the market's now, not the venue's last stored one: a venue stores such a price only with its next
    change, and beside workers only the jobs of that market feed it (seen: the price of ten minutes before)."""
    from bot.markets import last_price

    _, acc, eth, first, now, web = await _fed_ten_minutes_ago(shared_data, 8650)
    shown = await last_price(await web.exchange_for(acc), "ETH/USDT:USDT")
    last_closed = int(eth.ts.searchsorted(now - now % 60_000 - 60_000))
    assert shown == float(eth.close[last_closed]) != float(eth.close[first])
    await web.shutdown()

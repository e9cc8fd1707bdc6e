"""What an engine keeps of an account once its bots' actions are done: a live account's gateway, which holds the
decrypted key, is closed and dropped when no bot of the account is attached any more (seen: a web replica kept the
gateway of every live account whose bot it had started, stopped or edited, and one process kept a stopped bot's
until the account was deleted); the paper venues the chat's process beside workers reads are kept within a memory
budget, the least recently used dropped first (seen: one per paper account ever shown, for as long as it ran)."""

from __future__ import annotations

import pytest

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from engine.exchange.protocol import MarketType as ExMarketType
from engine.market.clock import ManualClock
from tests.fakes.gateways import gateway, venue
from tests.runtime_kit import HYPERRSI_SETTINGS, grid_on_venue


def _resting(fake) -> int:
    return sum(o.status == "open" for o in fake.orders.values())


@pytest.mark.parametrize("runs_bots", [False, True], ids=["web-beside-workers", "one-process"])
async def test_a_live_accounts_gateway_is_let_go_when_no_bot_of_it_is_attached(db, shared_data, gateway_closes,
                                                                              runs_bots):
    from engine.runtime.engine import Engine

    closes = gateway_closes
    async with venue("okx", shared_data, balances={"USDT": "100000"}) as fake:
        user, bot, start, _ = await grid_on_venue(fake, shared_data, "okx", 8700 + runs_bots, 90)
        engine = Engine(clock=ManualClock(start + 2_000), runs_bots=runs_bots,
                        exchange_factory=lambda a: gateway(fake, ExMarketType.SPOT))
        await engine.control.start_bot(user.id, bot.id)
        assert _resting(fake) > 0  # the ladder rests at the venue
        if runs_bots:
            assert list(engine.exchanges) == [bot.account_id] and closes == []  # its bot runs here
        else:
            assert engine.exchanges == {} and closes == [True]  # workers run it: nothing kept after the start
        status = await engine.control.stop_bot(user.id, bot.id, close_position=False)
        assert status == BotStatus.STOPPED and _resting(fake) == 0
        assert engine.exchanges == {} and len(closes) == (1 if runs_bots else 2)
        await engine.shutdown()


async def _paper(user: User, label: str) -> ExchangeAccount:
    return await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label=label,
                                        is_paper=True, paper_balances={"USDT": "100000"})


async def test_a_web_process_keeps_the_paper_venues_it_reads_within_its_budget(db, shared_data):
    from engine.runtime.engine import Engine
    from engine.runtime.registry import VENUE_BYTES

    user = await User.create(telegram_id=8710)
    a, b, c = [await _paper(user, f"paper {i}") for i in range(3)]
    web = Engine(clock=ManualClock(1_800_000_000_000), replay_dir=shared_data, runs_bots=False)
    web.registry.keep_bytes = 2 * VENUE_BYTES  # two flat venues
    for acc in (a, b, c):
        await (await web.exchange_for(acc)).fetch_balance()  # /balance of each
    assert list(web.exchanges) == [b.id, c.id]  # the least recently read went
    await web.exchange_for(b)
    await (await web.exchange_for(a)).fetch_balance()
    assert list(web.exchanges) == [b.id, a.id]
    await web.shutdown()


async def test_a_web_process_drops_no_paper_venue_an_action_holds(db, shared_data):
    from engine.runtime.engine import Engine
    from engine.runtime.registry import VENUE_BYTES

    user = await User.create(telegram_id=8720)
    a, b, c = [await _paper(user, f"paper {i}") for i in range(3)]
    row = await StrategyBot.create(user=user, account=a, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=HYPERRSI_SETTINGS, status=BotStatus.RUNNING)
    web = Engine(clock=ManualClock(1_800_000_000_000), replay_dir=shared_data, runs_bots=False)
    web.registry.keep_bytes = VENUE_BYTES  # one flat venue
    h = await web.registry.current(row)  # a stop or an edit of the bot, under way
    for acc in (b, c):
        await (await web.exchange_for(acc)).fetch_balance()
    assert web.exchanges[a.id] is h.exchange and c.id in web.exchanges and b.id not in web.exchanges
    await web.registry.release(h)
    assert list(web.exchanges) == [c.id]  # over the budget once the action let it go: the least recent went
    await web.shutdown()


async def test_the_candles_of_a_venue_come_through_another_account_once_the_first_is_let_go(db, shared_data,
                                                                                            gateway_closes):
    """One process, two live accounts on one venue: the candles of that venue come through the gateway of the
    account attached first. When its bot stops, its gateway is closed, and the other account's bot still gets its
    candles (through its own gateway); once no account is left, the venue's candles come through none."""
    from engine.runtime.engine import Engine

    closes = gateway_closes
    async with venue("okx", shared_data, balances={"USDT": "100000"}) as fake:
        first, second = [await grid_on_venue(fake, shared_data, "okx", 8730 + i, 90) for i in range(2)]
        start = first[2]
        engine = Engine(clock=ManualClock(start + 2_000), exchange_factory=lambda a: gateway(fake, ExMarketType.SPOT))
        for user, bot, _, _ in (first, second):
            await engine.control.start_bot(user.id, bot.id)
        key = engine.handles[first[1].id].source
        assert engine.market_data.sources[key] is engine.exchanges[first[1].account_id]
        await engine.control.stop_bot(first[0].id, first[1].id, close_position=False)
        assert engine.market_data.sources[key] is engine.exchanges[second[1].account_id] and closes == [True]
        engine.clock.set(start + 3_600_000)
        got = await engine.market_data.closed_candles(key, "BTC/USDT", "5m", 3)
        assert len(got) == 3 and int(got.ts[-1]) == start + 3_600_000 - 300_000  # the last closed at the clock's time
        await engine.control.stop_bot(second[0].id, second[1].id, close_position=False)
        assert key not in engine.market_data.sources and engine.exchanges == {} and len(closes) == 2
        await engine.shutdown()

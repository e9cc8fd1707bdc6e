"""Every number the chat shows in a scripted session, in English and Korean, keeps to its market's decimals.

Two users (one per language) each run GRID on a paper BTC swap (contract size 0.01 BTC: tick 0.1, lot 0.0001 BTC),
GRID on paper ETH spot (tick 0.01, lot 0.0001 ETH) and HYPERRSI on the BTC swap, on replayed candles with the real
engine and notifier; then /status, /positions, /balance, /pnl and every bot card, and a stop that closes a position.
Every text the bot sent or edited is scanned: no number may show more decimals than the markets' most
(max of price and amount decimals), an amount more than its coin's lot, money (followed by USDT) more than 2.
"""

from __future__ import annotations

import re

from bot.callbacks import BotCb, StopCb
from bot.notifier import Notifier
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Fill, StrategyBot, User
from tests.number_scan import Rules, too_precise
from tests.runtime_kit import HYPERRSI_SETTINGS, grid_settings, price_range, replay_engine

USERS = {"en": 1401, "ko": 1402}
RULES = [Rules("BTC", "USDT", 1, 4), Rules("ETH", "USDT", 2, 4)]
MAX_MINUTES = 1440
FILLS_PER_BOT = 2


async def _bots(user: User, data, start: int) -> list[StrategyBot]:
    swap = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper-swap",
                                        is_paper=True, paper_balances={"USDT": "100000"})
    spot = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SPOT, label="paper-spot",
                                        is_paper=True, paper_balances={"USDT": "100000"})
    blo, bhi = price_range(data, "BTC_USDT", start, 720)
    elo, ehi = price_range(data, "ETH_USDT", start, 720)
    return [
        await StrategyBot.create(user=user, account=swap, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                 settings=grid_settings(blo, bhi, investment=1000, leverage=3, levels=10, adx_gate=False),
                                 status=BotStatus.DRAFT),
        await StrategyBot.create(user=user, account=spot, kind=BotKind.GRID, symbol="ETH/USDT",
                                 settings=grid_settings(elo, ehi, investment=1000, leverage=1, levels=10, adx_gate=False),
                                 status=BotStatus.DRAFT),
        await StrategyBot.create(user=user, account=swap, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                 settings=HYPERRSI_SETTINGS, status=BotStatus.DRAFT),
    ]


async def _start_in_chat(api, uid: int, b: StrategyBot) -> None:
    """/bots → the bot's card → its risk card → start, pressing the buttons the chat shows."""
    await api.send_command(uid, "/bots")
    listing = await api.next_call("sendMessage", chat_id=uid)
    await api.click(uid, listing, BotCb(action="card", bot_id=b.id).pack())
    card = await api.next_call("editMessageText", chat_id=uid)
    await api.click(uid, card, BotCb(action="preview", bot_id=b.id).pack())
    card = await api.next_call("editMessageText", chat_id=uid, timeout=30)
    assert BotCb(action="start", bot_id=b.id).pack() in [d for _, d in card.buttons()], card.text
    await api.click(uid, card, BotCb(action="start", bot_id=b.id).pack())
    await api.next_call("editMessageText", chat_id=uid)


async def _fills(b: StrategyBot) -> int:
    return await Fill.filter(order__bot_id=b.id).count()


async def test_every_number_the_chat_shows_keeps_to_the_markets_decimals(telegram_factory, shared_data):
    engine, clock, start = await replay_engine(shared_data)
    h = await telegram_factory(engine=engine)
    api = h.api
    bots: dict[int, list[StrategyBot]] = {}
    for lang, uid in USERS.items():
        await h.accept_user(uid, lang)
        bots[uid] = await _bots(await User.get(telegram_id=uid), shared_data, start)
        for b in bots[uid]:
            await _start_in_chat(api, uid, b)
    every = [b for bs in bots.values() for b in bs]
    assert all(b.id in engine.handles for b in every)

    notifier = Notifier(h.bot, i18n=h.dp["i18n"], rate=1000, per_chat=1000)
    for k in range(1, MAX_MINUTES + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()
        if k % 60 == 0:
            await notifier.drain_once()
            if all([await _fills(b) >= FILLS_PER_BOT for b in every]):
                break
    await notifier.drain_once()
    counts = {b.id: await _fills(b) for b in every}
    assert all(n >= 1 for n in counts.values()), counts  # every bot filled at least once

    for uid, (grid_swap, _grid_spot, _hyperrsi) in bots.items():
        for command in ("/status", "/positions", "/balance", "/pnl"):
            await api.send_command(uid, command)
            await api.next_call("sendMessage", chat_id=uid)
        for b in bots[uid]:
            await api.send_command(uid, "/bots")
            listing = await api.next_call("sendMessage", chat_id=uid)
            await api.click(uid, listing, BotCb(action="card", bot_id=b.id).pack())
            await api.next_call("editMessageText", chat_id=uid)
        await api.click(uid, listing, StopCb(bot_id=grid_swap.id, close=True).pack())
        await api.next_call("editMessageText", chat_id=uid)
    for _k in range(2):
        clock.advance(60_000)
        await engine.tick()
    await notifier.drain_once()
    for uid in USERS.values():
        await api.send_command(uid, "/status")
        await api.next_call("sendMessage", chat_id=uid)
    await engine.shutdown()

    texts = {uid: [c.text for c in api.calls(chat_id=uid) if c.text] for uid in USERS.values()}
    for shown in texts.values():
        pnl = next(t for t in reversed(shown) if t.startswith("📅"))
        told = re.search(r"(\d+) fill\(s\)|체결 (\d+)건", pnl)
        assert told and int(told.group(1) or told.group(2)) > 0, pnl  # replayed fills counted on their own days
        said = re.compile(r"BTC/USDT (perpetual|무기한)"), re.compile(r"ETH/USDT (spot|현물)")  # as people say them
        assert any(said[0].search(t) and " BTC @ " in t for t in shown), "a swap fill in BTC, not contracts"
        assert any(said[1].search(t) and " ETH @ " in t for t in shown), "a spot fill"
    bad = [(uid, n, t) for uid, shown in texts.items() for t in shown if (n := too_precise(t, RULES))]
    assert not bad, "\n\n".join(f"user {uid}: {n}\n{t}" for uid, n, t in bad)

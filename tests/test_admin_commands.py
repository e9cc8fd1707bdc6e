"""Admin commands through real polling: unknown to non-admins, working for admins (/stats, /user, /block, /unblock)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from db.enums import BotKind, BotStatus, MarketType, OrderRole, OrderSide, OrderType
from db.models import AuditLog, ExchangeAccount, Fill, Order, StrategyBot, User

ADMIN = 999
ADMIN_COMMANDS = ["/stats", "/user 111", "/block 111", "/unblock 111", "/broadcast"]


async def test_admin_commands_behave_as_unknown_commands_for_everyone_else(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN])
    api = h.api
    await h.accept_user(111)
    await h.accept_user(ADMIN)
    unknown = await h.reply(111, "/nosuchcommand")
    for command in ADMIN_COMMANDS:
        assert await h.reply(111, command) == unknown, command
    # after "/broadcast" a non-admin's text is an ordinary message, not a broadcast being composed
    await api.send_message(111, "hello everyone")
    plain = await api.next_call("sendMessage", chat_id=111)
    await api.send_message(111, "hello again")
    assert plain.text == (await api.next_call("sendMessage", chat_id=111)).text
    assert "📣" not in plain.text
    # a forged confirm button does nothing but the stale-button answer
    await api.click(111, plain, "bcast:send")
    await api.next_call("answerCallbackQuery")
    await api.no_call("sendMessage", wait=0.3)
    assert not (await User.get(telegram_id=111)).blocked
    assert await AuditLog.filter(action__startswith="admin_").count() == 0
    # a user who has not accepted the risk notice gets exactly what they get for any unknown command
    first = await h.reply(333, "/nosuchcommand")
    assert await h.reply(333, "/stats") == first


async def _seed() -> tuple[User, StrategyBot]:
    u = await User.get(telegram_id=111)
    await ExchangeAccount.create(user=u, exchange="okx", market_type=MarketType.SWAP, label="main",
                                 api_key_enc="vault-token", key_hint="abcd…wxyz")
    paper = await ExchangeAccount.create(user=u, exchange="binance", market_type=MarketType.SPOT, label="practice",
                                         is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=u, account=paper, kind=BotKind.GRID, symbol="BTC/USDT", settings={},
                                   status=BotStatus.RUNNING)
    await StrategyBot.create(user=u, account=paper, kind=BotKind.HYPERRSI, symbol="ETH/USDT", settings={},
                             status=BotStatus.PAUSED)
    now_ms = int(time.time() * 1000)
    for i, (price, amount) in enumerate([("65000", "0.01"), ("64000", "0.02")]):
        o = await Order.create(bot=bot, account=paper, client_order_id=f"c{i}", symbol="BTC/USDT",
                               role=OrderRole.GRID_ENTRY, side=OrderSide.BUY, type=OrderType.LIMIT,
                               price=Decimal(price), amount=Decimal(amount))
        await Fill.create(order=o, account=paper, trade_id=f"t{i}", price=Decimal(price), amount=Decimal(amount),
                          ts=now_ms)
    old = await Order.create(bot=bot, account=paper, client_order_id="old", symbol="BTC/USDT",
                             role=OrderRole.GRID_ENTRY, side=OrderSide.BUY, type=OrderType.LIMIT,
                             price=Decimal(1), amount=Decimal(1))
    await Order.filter(id=old.id).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    await Fill.create(order=old, account=paper, trade_id="old", price=Decimal(1), amount=Decimal(1),
                      ts=1_577_836_800_000)
    return u, bot


async def test_stats_and_user_card_for_an_admin(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN])
    await h.accept_user(111)
    await h.accept_user(ADMIN)
    await _seed()
    stats = await h.reply(ADMIN, "/stats")
    assert "Users: 2 (reachable 2" in stats
    assert "1 running, 1 paused, 2 in all" in stats
    assert "Orders today: 2" in stats and "Fills today: 2" in stats
    assert "1,930.00 USDT" in stats  # 65000×0.01 + 64000×0.02; the 2020 fill is not today's
    card = await h.reply(ADMIN, "/user 111")
    assert "👤 User 111" in card
    assert "main: okx swap · key abcd…wxyz" in card and "vault-token" not in card
    assert "practice: paper trading (spot)" in card
    assert "GRID BTC/USDT spot: running" in card and "HYPERRSI ETH/USDT spot: paused" in card
    assert "No user with Telegram id 4242" in await h.reply(ADMIN, "/user 4242")
    assert "Usage: /user" in await h.reply(ADMIN, "/user abc")


async def test_stats_in_korean_for_a_korean_admin(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN])
    await h.accept_user(ADMIN, "ko")
    text = await h.reply(ADMIN, "/stats")
    assert text.startswith("📊 통계") and "거래대금: 없음" in text


async def test_block_and_unblock_with_audit_rows(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN])
    await h.accept_user(111)
    await h.accept_user(ADMIN)
    assert "is blocked" in await h.reply(ADMIN, "/block 111")
    target = await User.get(telegram_id=111)
    assert target.blocked
    row = await AuditLog.get(action="admin_block")
    assert row.actor_telegram_id == ADMIN and row.object_id == str(target.id) and row.user_id == target.id
    blocked_reply = await h.reply(111, "/status")
    assert blocked_reply != await h.reply(ADMIN, "/nosuchcommand")
    assert "already blocked" in await h.reply(ADMIN, "/block 111")
    assert "cannot be blocked" in await h.reply(ADMIN, f"/block {ADMIN}")
    assert "is unblocked" in await h.reply(ADMIN, "/unblock 111")
    assert not (await User.get(telegram_id=111)).blocked
    assert await AuditLog.filter(action="admin_unblock", actor_telegram_id=ADMIN).count() == 1
    assert "was not blocked" in await h.reply(ADMIN, "/unblock 111")
    assert await AuditLog.filter(action__startswith="admin_").count() == 2

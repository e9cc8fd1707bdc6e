"""The journey with the real runtime Engine on replayed candles and the real notifier: /start → paper account →
GRID bot edited in the chat → preview → start → a fill reaches the chat → /status → stop (closing the position)."""

from __future__ import annotations

from bot.notifier import Notifier
from db.enums import BotStatus
from db.models import Fill, Notification, StrategyBot
from tests.runtime_kit import price_range, replay_engine

U = 1101


async def _edit(api, editor, label: str, value: str):
    await api.click(U, editor, editor.button_data(label))
    await api.next_call("editMessageText", chat_id=U)
    await api.send_message(U, value)
    saved = await api.next_call("sendMessage", chat_id=U)
    assert f"{label} saved" in saved.text, saved.text
    return saved


async def test_journey_with_the_engine_until_a_fill_reaches_the_chat(telegram_factory, shared_data):
    engine, clock, start = await replay_engine(shared_data)
    h = await telegram_factory(engine=engine)
    api = h.api
    await h.accept_user(U)

    await api.send_command(U, "/accounts")
    accounts = await api.next_call("sendMessage", chat_id=U)
    balance = await h.paper_balance_prompt(U, accounts, "Perpetual swap")
    await api.click(U, balance, balance.button_data("100,000"))
    added = await api.next_call("sendMessage", chat_id=U)
    assert "100000 USDT" in added.text

    await api.click(U, added, "menu:grid")
    grids = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, grids, grids.button_data("New bot"))
    pick = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, pick, pick.button_data("paper-swap"))
    await api.next_call("editMessageText", chat_id=U)
    await api.send_message(U, "ETH")
    quick = await api.next_call("sendMessage", chat_id=U)
    assert "Bot created" in quick.text and "last 7 days" in quick.text, quick.text  # the range from replayed candles
    await api.click(U, quick, quick.button_data("Advanced"))
    editor = await api.next_call("editMessageText", chat_id=U)

    lo, hi = price_range(shared_data, "ETH_USDT", start, 1440)
    editor = await _edit(api, editor, "Lower price", f"{lo * 0.995:.2f}")
    editor = await _edit(api, editor, "Upper price", f"{hi:.2f}")
    editor = await _edit(api, editor, "Levels", "12")
    editor = await _edit(api, editor, "Investment", "3000")
    editor = await _edit(api, editor, "Leverage", "3")
    editor = await _edit(api, editor, "Min take-profit", "0.3")
    await api.click(U, editor, editor.button_data("Timeframe"))  # the replayed ETH history is in 1m/5m files
    choices = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, choices, choices.button_data("5m"))
    editor = await api.next_call("editMessageText", chat_id=U)
    assert "Timeframe: 5m" in editor.text
    await api.click(U, editor, editor.button_data("Done"))
    card = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, card, card.button_data("Preview"))
    preview = await api.next_call("editMessageText", chat_id=U)
    assert "Levels: 12" in preview.text and "Worst-case capital" in preview.text, preview.text
    await api.click(U, preview, preview.button_data("Start"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "State: running" in card.text
    bot = await StrategyBot.get(user__telegram_id=U)
    assert bot.status == BotStatus.RUNNING and bot.id in engine.handles

    # replay minutes until the grid fills, then let the notifier deliver the outbox
    for k in range(1, 1441):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()
        if await Fill.filter(order__bot_id=bot.id).exists():
            break
    assert await Fill.filter(order__bot_id=bot.id).exists(), "no fill in a day of replay"
    api.drain()
    notifier = Notifier(h.bot, i18n=h.dp["i18n"], rate=1000, per_chat=1000)
    assert await notifier.drain_once() >= 1
    told = await api.next_call("sendMessage", chat_id=U)
    assert "ETH/USDT perpetual" in told.text, told.text
    assert await Notification.filter(status="sent").count() >= 1

    await api.send_command(U, "/status")
    status = await api.next_call("sendMessage", chat_id=U, text_contains="Your bots")
    assert f"#{bot.id} GRID ETH/USDT perpetual · running" in status.text

    await api.click(U, card, card.button_data("Stop"))
    ask = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, ask, ask.button_data("close the position"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "State: stopping" in card.text, card.text  # the close is out, not filled yet
    await api.next_call("answerCallbackQuery", text_contains="Stopping: the position is being closed")
    assert not await Notification.filter(kind="bot_stopped").exists(), "stopped is told once the close filled"
    for _k in range(2):
        clock.advance(60_000)
        await engine.tick()
    await bot.refresh_from_db()
    assert bot.status == BotStatus.STOPPED
    assert not await engine.exchanges[bot.account_id].fetch_positions()

    # an honest stop, in order: the closing fill, then "stopped" with the run's summary, then the card refreshed
    mark = max(c.index for c in api.calls())
    await notifier.drain_once()
    sent = [c for c in api.calls(chat_id=U) if c.index > mark and c.method in ("sendMessage", "editMessageText")]
    texts = [c.text for c in sent]
    close_fill = next(i for i, t in enumerate(texts) if t.startswith("✅ Order filled") and "Order: close" in t)
    stopped = next(i for i, t in enumerate(texts) if t.startswith("⏹ Bot stopped"))
    refreshed = next(i for i, c in enumerate(sent) if c.method == "editMessageText")
    assert close_fill < stopped < refreshed, texts
    summary = texts[stopped]
    for line in ("Amount closed:", "Closed at:", "Ran for:", "This run:", "realised PnL", "fees"):
        assert line in summary, summary
    assert "USDT" in summary.split("This run:")[1], summary
    assert sent[refreshed].params["message_id"] == card.params["message_id"]
    assert "State: stopped" in sent[refreshed].text, sent[refreshed].text
    await engine.shutdown()

"""The whole chat journey through real polling: /start → paper account → GRID bot → advanced settings → preview →
start → status → stop, with the engine's control surface recording what the chat asked for."""

from __future__ import annotations

from db.enums import BotKind, BotStatus
from db.models import AuditLog, ExchangeAccount, StrategyBot
from tests.fakes.telegram_fixtures import FakeEngine

U = 501


async def test_journey_paper_grid_start_status_stop(telegram_factory):
    engine = FakeEngine(prices={"BTC/USDT:USDT": 50_000.0})
    h = await telegram_factory(engine=engine)
    api = h.api
    await h.accept_user(U)

    # paper account with a virtual balance
    await api.send_command(U, "/start")
    menu = await api.next_call("sendMessage", chat_id=U)
    await api.click(U, menu, menu.button_data("Accounts"))
    accounts = await api.next_call("editMessageText", chat_id=U)
    assert "No accounts yet" in accounts.text
    balance = await h.paper_balance_prompt(U, accounts, "Perpetual swap")
    await api.send_message(U, "25,000")
    added = await api.next_call("sendMessage", chat_id=U)
    assert "paper-swap" in added.text and "25000 USDT" in added.text
    acc = await ExchangeAccount.get(label="paper-swap")
    assert acc.is_paper and acc.paper_balances == {"USDT": "25000"}
    assert balance.buttons()  # the balance prompt offered amounts too

    # a GRID bot on that account
    await api.click(U, added, added.button_data("Main menu"))
    menu = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, menu, menu.button_data("GRID"))
    grids = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, grids, grids.button_data("New bot"))
    pick_acc = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, pick_acc, pick_acc.button_data("paper-swap"))
    pick_sym = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, pick_sym, pick_sym.button_data("BTC/USDT perpetual"))
    quick = await api.next_call("sendMessage", chat_id=U)
    assert "Quick setup" in quick.text and "Range: 45,000 – 55,000 USDT" in quick.text, quick.text
    await api.click(U, quick, quick.button_data("Advanced"))  # the full editor, on request
    editor = await api.next_call("editMessageText", chat_id=U)
    assert "Lower price: 45,000" in editor.text and "Upper price: 55,000" in editor.text
    bot = await StrategyBot.get(user__telegram_id=U)
    assert bot.kind == BotKind.GRID and bot.status == BotStatus.DRAFT and bot.symbol == "BTC/USDT:USDT"
    labels = [t for t, _ in editor.buttons()]
    assert "Levels" in labels and "Spacing" in labels and "Presets" in " ".join(labels)

    # edit: levels = 10 (typed), spacing = geometric (choice), trail up (toggle)
    await api.click(U, editor, editor.button_data("Levels"))
    prompt = await api.next_call("editMessageText", chat_id=U)
    assert "from 2 to 200" in prompt.text
    await api.send_message(U, "10")
    editor = await api.next_call("sendMessage", chat_id=U)
    assert "Levels saved" in editor.text and "Levels: 10" in editor.text
    await api.click(U, editor, editor.button_data("Spacing"))
    choices = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, choices, choices.button_data("geometric"))
    editor = await api.next_call("editMessageText", chat_id=U)
    assert "Spacing: geometric" in editor.text
    await bot.refresh_from_db()
    assert bot.settings["levels"] == 10 and bot.settings["spacing"] == "geometric"

    # card → preview → start
    await api.click(U, editor, editor.button_data("Done"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "draft" in card.text
    await api.click(U, card, card.button_data("Preview"))
    preview = await api.next_call("editMessageText", chat_id=U)
    assert "Levels: 10" in preview.text, preview.text
    assert "Profit per grid after fees" in preview.text and "Worst-case capital" in preview.text
    await api.click(U, preview, preview.button_data("Start"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "running" in card.text
    assert engine.control.calls == [("start_bot", bot.user_id, bot.id)]

    # status
    await api.send_command(U, "/status")
    status = await api.next_call("sendMessage", chat_id=U)
    assert f"#{bot.id} GRID BTC/USDT perpetual · running" in status.text
    await api.click(U, status, status.button_data("Refresh"))
    await api.next_call("editMessageText", chat_id=U, ok=None, text_contains="Your bots")  # before the stop card's edits
    await api.next_call("answerCallbackQuery")

    # stop, keeping the position
    await api.click(U, card, card.button_data("Stop"))
    ask = await api.next_call("editMessageText", chat_id=U)
    assert "Close its position" in ask.text
    await api.click(U, ask, ask.button_data("keep the position"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "stopped" in card.text
    assert engine.control.calls[-1] == ("stop_bot", bot.user_id, bot.id, False)
    assert await AuditLog.filter(action="bot.setting", object_id=str(bot.id)).count() == 2

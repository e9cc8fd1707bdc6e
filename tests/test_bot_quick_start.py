"""Simple first, advanced on request (issue 15), through real polling: from /start to a RUNNING GRID bot on a new
paper account in at most 10 taps and messages (English and Korean, on the real engine with replayed candles); the
HYPERRSI account picker offers perpetual accounts only and makes one inline; the quick setup's buttons, typed values
and risk presets; the advanced editor lists only the settings that apply; symbols as people say them."""

from __future__ import annotations

import math

import pytest

from bot.callbacks import BotCb
from bot.symbols import heard, say
from db.enums import BotKind, BotStatus, MarketType
from db.models import AuditLog, ExchangeAccount, StrategyBot
from engine.candles import load_csv
from engine.strategies.grid_settings import GridSettings
from engine.strategies.hyperrsi_settings import PRESETS, HyperRsiSettings
from tests.fakes.telegram_fixtures import FakeEngine
from tests.runtime_kit import replay_engine

STEPS_ALLOWED = 10
HOUR = 3_600_000


class Counted:
    """The user's side of the chat, counting every tap and every message sent."""

    def __init__(self, api, user: int):
        self.api, self.user, self.steps = api, user, 0

    async def command(self, text: str):
        self.steps += 1
        await self.api.send_command(self.user, text)
        return await self.api.next_call("sendMessage", chat_id=self.user)

    async def tap(self, message, text: str | None = None, *, data: str | None = None, reply: str = "editMessageText"):
        self.steps += 1
        await self.api.click(self.user, message, data or message.button_data(text or ""))
        return await self.api.next_call(reply, chat_id=self.user)

    async def type(self, text: str):
        self.steps += 1
        await self.api.send_message(self.user, text)
        return await self.api.next_call("sendMessage", chat_id=self.user)


WORDS = {
    "en": {"language": "English", "accept": "I understand", "new": "New bot", "paper": "New paper account (perpetual)",
           "btc": "BTC/USDT perpetual", "quick": "Quick setup", "week": "last 7 days", "preview": "Preview & start",
           "running": "running"},
    "ko": {"language": "한국어", "accept": "이해했으며", "new": "새 봇", "paper": "새 모의 계정 (무기한)",
           "btc": "BTC/USDT 무기한", "quick": "빠른 설정", "week": "최근 7일", "preview": "미리보기 및 시작",
           "running": "실행 중"},
}


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_from_start_to_a_running_grid_bot_in_ten_steps(telegram_factory, shared_data, lang):
    engine, _clock, start = await replay_engine(shared_data)
    h = await telegram_factory(engine=engine)
    user = 2101 if lang == "en" else 2102
    w = WORDS[lang]
    me = Counted(h.api, user)

    choose = await me.command("/start")
    risk = await me.tap(choose, w["language"])
    menu = await me.tap(risk, data=risk.buttons()[0][1])  # accept the risk notice
    assert w["accept"] in risk.buttons()[0][0], risk.buttons()
    grids = await me.tap(menu, "GRID")
    pick = await me.tap(grids, w["new"])
    spot = w["paper"].replace("(perpetual)", "(spot)").replace("(무기한)", "(현물)")
    assert [t for t, _ in pick.buttons()][:2] == [f"➕ {w['paper']}", f"➕ {spot}"], pick.buttons()
    symbols = await me.tap(pick, w["paper"])
    assert "10,000 USDT" in symbols.text, symbols.text
    quick = await me.tap(symbols, w["btc"], reply="sendMessage")
    assert w["quick"] in quick.text and w["btc"] in quick.text and ":USDT" not in quick.text, quick.text

    # the range is the last 7 days' low and high of 1h candles (the replay's history up to now), and says so
    bot = await StrategyBot.get(user__telegram_id=user)
    c = load_csv(shared_data / "BTC_USDT-1h.csv")
    week = (c.ts >= start - 168 * HOUR) & (c.ts < start)
    lo, hi = float(c.low[week].min()), float(c.high[week].max())
    assert math.isclose(bot.settings["lower_price"], lo, rel_tol=1e-4), (bot.settings, lo)
    assert math.isclose(bot.settings["upper_price"], hi, rel_tol=1e-4), (bot.settings, hi)
    assert ("7 days" if lang == "en" else "7일") in quick.text, quick.text

    preview = await me.tap(quick, w["preview"])
    card = await me.tap(preview, data=BotCb(action="start", bot_id=bot.id).pack())
    assert w["running"] in card.text, card.text
    await bot.refresh_from_db()
    assert bot.status == BotStatus.RUNNING and bot.id in engine.handles
    acc = await ExchangeAccount.get(user__telegram_id=user)
    assert acc.is_paper and acc.market_type == MarketType.SWAP and acc.paper_balances == {"USDT": "10000"}
    print(f"\n[{lang}] /start → running GRID bot on a new paper account: {me.steps} taps/messages")
    assert me.steps <= STEPS_ALLOWED
    await engine.shutdown()


async def _user_with_spot_account(telegram, user: int) -> tuple[Counted, ExchangeAccount]:
    await telegram.accept_user(user)
    me = Counted(telegram.api, user)
    menu = await me.command("/start")
    accounts = await me.tap(menu, "Accounts")
    balance = await telegram.paper_balance_prompt(user, accounts, "Spot")
    await telegram.api.click(user, balance, balance.button_data("10,000"))
    await telegram.api.next_call("sendMessage", chat_id=user)
    return me, await ExchangeAccount.get(user__telegram_id=user)


async def test_hyperrsi_offers_a_perpetual_account_inline_then_the_quick_setup(telegram_factory):
    u = 2103
    h = await telegram_factory(engine=FakeEngine(prices={"ETH/USDT:USDT": 3000.0}))
    me, spot = await _user_with_spot_account(h, u)
    listing = await me.command("/start")
    listing = await me.tap(listing, "HYPERRSI")
    pick = await me.tap(listing, "New bot")
    labels = [t for t, _ in pick.buttons()]
    assert not any(spot.label in t for t in labels), labels  # a spot account does not fit HYPERRSI
    assert "perpetual" in pick.text and "10,000 USDT" in pick.text, pick.text
    assert "➕ New paper account (perpetual)" in labels and not any("(spot)" in t for t in labels), labels
    symbols = await me.tap(pick, "New paper account (perpetual)")
    swap = await ExchangeAccount.get(user__telegram_id=u, market_type=MarketType.SWAP)
    assert swap.is_paper and swap.paper_balances == {"USDT": "10000"}
    assert f"Paper account {swap.label} made with 10,000 USDT" in symbols.text, symbols.text
    assert [t for t, _ in symbols.buttons()][:2] == ["BTC/USDT perpetual", "ETH/USDT perpetual"]
    quick = await me.tap(symbols, "ETH/USDT perpetual", reply="sendMessage")

    # investment, leverage, direction and the risk presets; a new HYPERRSI bot starts conservative
    text = quick.text
    assert "#" in text and "HYPERRSI ETH/USDT perpetual" in text, text
    for line in ("Investment: 100 USDT for the first entry", "Leverage: 3×", "Direction: long and short",
                 "Risk: Conservative"):
        assert line in text, text
    labels = [t for t, _ in quick.buttons()]
    assert labels == ["💵 Investment", "⚖️ Leverage", "🧭 Direction", "• Conservative (3x, stop-loss 3 %)",
                      "Balanced (defaults)", "Aggressive (20x, 5 adds)", "Trend following (trailing stop)",
                      "👁 Preview & start", "⚙️ Advanced"], labels
    quick = await me.tap(quick, "Aggressive")
    bot = await StrategyBot.get(user__telegram_id=u)
    assert bot.kind == BotKind.HYPERRSI and bot.account_id == swap.id  # type: ignore[attr-defined]
    assert {k: bot.settings[k] for k in PRESETS["aggressive"]} == PRESETS["aggressive"]
    assert bot.settings["use_sl"] is False  # the conservative stop went with its preset
    assert "Leverage: 20×" in quick.text and any(t.startswith("• Aggressive") for t, _ in quick.buttons())
    choices = await me.tap(quick, "Direction")
    quick = await me.tap(choices, "long only")
    assert "Direction: long only" in quick.text, quick.text
    prompt = await me.tap(quick, "Leverage")
    assert [t for t, _ in prompt.buttons()][:5] == ["1×", "3×", "5×", "10×", "• 20×"], prompt.buttons()
    assert "send a number" in prompt.text
    for bad in ("lots", "500"):
        reply = await me.type(bad)
        assert "❌" in reply.text, reply.text
    quick = await me.type("4")
    assert "Leverage saved" in quick.text and "Leverage: 4×" in quick.text and "Risk: your own" in quick.text
    s = HyperRsiSettings(**(await StrategyBot.get(id=bot.id)).settings)
    assert (s.leverage, s.direction, s.pyramiding_limit) == (4, "long", 5)

    # Advanced: only what applies (no short RSI level on a long-only bot, no stop details with the stop off...)
    editor = await me.tap(quick, "Advanced")
    labels = [t for t, _ in editor.buttons()]
    shown = HyperRsiSettings.applicable(s.model_dump())
    assert len(labels) == len(shown) + 2 and len(shown) < len(HyperRsiSettings.model_fields)
    assert "Max additions" in labels and "RSI overbought" not in labels and "Stop-loss distance" not in labels
    assert "RSI overbought" not in editor.text
    editor = await me.tap(editor, "Pyramiding")  # a toggle: off hides its steps
    labels = [t for t, _ in editor.buttons()]
    assert "Max additions" not in labels and "Max additions" not in editor.text, labels
    assert "Pyramiding" in labels  # the switch itself stays, to turn it back on
    assert await AuditLog.filter(object_id=str(bot.id), action="bot.setting").count() == 3


async def test_grid_quick_setup_range_and_the_advanced_editor_by_mode(telegram_factory):
    u = 2104
    h = await telegram_factory(engine=FakeEngine(prices={"BTC/USDT": 50_000.0}))
    me, spot = await _user_with_spot_account(h, u)
    menu = await me.command("/start")
    grids = await me.tap(menu, "GRID")
    pick = await me.tap(grids, "New bot")
    assert f"{spot.label} · Spot" in [t for t, _ in pick.buttons()]  # GRID trades spot too
    symbols = await me.tap(pick, spot.label)
    assert [t for t, _ in symbols.buttons()][:2] == ["BTC/USDT spot", "ETH/USDT spot"]
    quick = await me.type("btc/usdt spot")  # typed as the buttons say it
    # no candles on this paper exchange: ±10 % around the price, and it says so; no leverage on spot
    assert "Range: 45,000 – 55,000 USDT" in quick.text and "±10 %" in quick.text, quick.text
    assert "Levels: 20, about 1.05% apart" in quick.text, quick.text  # 10,000 / 19 = 526.3 of 50,000
    assert [t for t, _ in quick.buttons()] == ["📏 Range", "🪜 Levels", "💵 Investment", "👁 Preview & start",
                                               "⚙️ Advanced"], quick.buttons()

    ranges = await me.tap(quick, "Range")
    assert [t for t, _ in ranges.buttons()][:3] == ["±5 %: 47,500 – 52,500", "±10 %: 45,000 – 55,000",
                                                    "±20 %: 40,000 – 60,000"], ranges.buttons()
    quick = await me.tap(ranges, "±5 %")
    assert "Range: 47,500 – 52,500 USDT" in quick.text, quick.text
    ranges = await me.tap(quick, "Range")
    reply = await me.type("48000")
    assert "two different prices" in reply.text, reply.text
    quick = await me.type("51,000 – 49,000")  # either order, with thousands separators
    assert "Range saved" in quick.text and "Range: 49,000 – 51,000 USDT" in quick.text, quick.text
    levels = await me.tap(quick, "Levels")
    quick = await me.tap(levels, "10")
    bot = await StrategyBot.get(user__telegram_id=u)
    assert (bot.settings["lower_price"], bot.settings["upper_price"], bot.settings["levels"]) == (49000, 51000, 10)

    editor = await me.tap(quick, "Advanced")
    labels = [t for t, _ in editor.buttons()]
    assert "Lower price" in labels and "Spacing" in labels and "Centre length" not in labels, labels
    assert "Centre length" not in editor.text and "[Adaptive mode]" not in editor.text, editor.text
    assert "ADX trend gate" in labels and "Timeframe" in labels  # a fixed grid has the gate and acts on candles
    assert len(labels) == len(GridSettings.applicable(bot.settings)) + 2
    choices = await me.tap(editor, "Mode")
    editor = await me.tap(choices, "adaptive")
    labels = [t for t, _ in editor.buttons()]
    assert "Lower price" not in labels and "Spacing" not in labels and "Trail up" not in labels, labels
    assert "Centre length" in labels and "Re-centre" in " ".join(labels), labels

    # the quick setup stays a tap away once the user has left it for the card
    card = await me.tap(editor, "Done")
    assert "⚡ Quick setup" in [t for t, _ in card.buttons()], card.buttons()
    quick = await me.tap(card, "Quick setup")
    assert "Quick setup" in quick.text and "Range:" in quick.text, quick.text


async def test_a_forged_inline_paper_button_is_refused(telegram):
    u = 2105
    await telegram.accept_user(u)
    api = telegram.api
    for value in ("hyperrsi.spot", "grid.bogus", "nope.swap", ""):
        await api.click(u, api.bot_message(u), f"acc:bot_paper:0:{value}")
        await api.next_call("answerCallbackQuery", text_contains="")
    assert not await ExchangeAccount.filter(user__telegram_id=u).exists()


def test_symbols_as_people_say_them():
    en = {"symbol.perpetual": "perpetual", "symbol.spot": "spot"}.get
    ko = {"symbol.perpetual": "무기한", "symbol.spot": "현물"}.get
    assert say("BTC/USDT:USDT", gettext=en) == "BTC/USDT perpetual"
    assert say("ETH/USDT", gettext=en) == "ETH/USDT spot"
    assert say("BTC/USDT:USDT", gettext=ko) == "BTC/USDT 무기한"
    assert say("ETH/USDT", MarketType.SPOT, gettext=ko) == "ETH/USDT 현물"
    assert say("BTC/USD:BTC", gettext=en) == "BTC/USD perpetual (BTC)"
    assert say("BTC/USDT:USDT-250328", gettext=en) == "BTC/USDT:USDT-250328"  # a dated future, as it is
    assert heard("btc/usdt perpetual") == "btc/usdt" and heard("ETH 현물") == "ETH"


def test_only_the_settings_that_apply():
    fixed = GridSettings.applicable({"mode": "fixed"})
    adaptive = GridSettings.applicable({"mode": "adaptive"})
    assert {"lower_price", "upper_price", "spacing", "trailing_up", "timeframe", "adx_gate"} <= set(fixed)
    assert not {"fama_length", "atr_length", "recenter_candles"} & set(fixed)
    assert "trailing_up_limit" not in fixed and "trailing_up_limit" in GridSettings.applicable({"trailing_up": True})
    assert {"fama_length", "adx_threshold", "timeframe"} <= set(adaptive)
    assert not {"lower_price", "upper_price", "spacing", "trailing_up"} & set(adaptive)
    assert "adx_threshold" not in GridSettings.applicable({"adx_gate": False})
    # what makes the settings invalid stays in sight: an adaptive grid with trailing left on can turn it off
    assert "trailing_up" in GridSettings.applicable({"mode": "adaptive", "trailing_up": True})

    h = HyperRsiSettings.applicable
    assert "pyramiding_limit" in h({}) and "pyramiding_limit" not in h({"pyramiding_enabled": False})
    assert "sl_value" not in h({}) and "sl_value" in h({"use_sl": True})
    assert "trailing_stop_offset_value" not in h({}) and "trailing_stop_offset_value" in h(
        {"trailing_stop_active": True})
    assert "trailing_stop_offset_value" not in h(
        {"trailing_stop_active": True, "use_trailing_stop_value_with_tp2_tp3_difference": True})
    assert "tp2_value" not in h({"use_tp2": False}) and "use_break_even_tp2" not in h({"use_tp2": False})
    assert "rsi_overbought" not in h({"direction": "long"}) and "rsi_oversold" not in h({"direction": "short"})

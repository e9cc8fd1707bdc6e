"""/why through the Bot API stand-in, on decisions the live runtime recorded: a HYPERRSI entry blocked by the trend
filter names that rule, a GRID names its last decision, in English and Korean; the card's "Why?" button; trend-block
notices at most once per 2 h of candles per bot, across a restart; every note reason and rule code has words."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, LOCALES_DIR, read_catalogue
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Notification, StrategyBot, User
from engine.runtime.state import DECISIONS
from engine.strategies import grid_why, hyperrsi_why
from engine.strategies.grid import GridCandle
from engine.strategies.hyperrsi import CandleInputs
from tests.runtime_kit import grid_settings, price_range, replay_engine

ROOT = Path(__file__).resolve().parent.parent
U = 1501
TF = 300_000  # 5m
HYPERRSI = {"timeframe": "5m", "entry_option": "rsi_trend", "rsi_entry_option": "threshold", "rsi_oversold": 30,
            "investment": 100, "leverage": 3}
WORDS = {
    "en": {"blocked": "Long signal blocked by the trend filter: strong downtrend", "trend": "trend: strong downtrend",
           "no_signal": "No RSI signal", "why": "Why?", "gate": "ADX gate (strong downtrend)",
           "started": "Started: 12 levels", "none": "No decision yet"},
    "ko": {"blocked": "롱 신호를 추세 필터가 막음: 강한 하락 추세", "trend": "추세: 강한 하락 추세",
           "no_signal": "RSI 신호 없음", "why": "왜?", "gate": "ADX 게이트 (강한 하락 추세)",
           "started": "시작:", "none": "아직 판단이 없습니다"},
}


async def _user_and_account(telegram_id: int, language: str) -> tuple[User, ExchangeAccount]:
    from datetime import UTC, datetime

    user = await User.create(telegram_id=telegram_id, language=language, risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper-swap",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    return user, acc


def candle(i: int, close: float, rsi: float, trend: int) -> CandleInputs:
    return CandleInputs(i, close, close, close, close, rsi, rsi + 5, math.nan, trend)


async def _blocked_hyperrsi(engine, start: int, user: User, acc: ExchangeAccount, n: int = 2) -> StrategyBot:
    """A running HYPERRSI bot whose last `n` candles (the runtime's own on_candle) were a quiet one, then RSI 22
    under a strong downtrend: the trend filter blocks the long."""
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=HYPERRSI, status=BotStatus.DRAFT)
    await engine.control.start_bot(user.id, bot.id)
    h = engine.handles[bot.id]
    first = start - start % TF
    await h.runner.on_candle(h, candle(0, 61_633.61, 45.0, 0), 61_633.61, first, first + TF)
    for k in range(1, n):
        await h.runner.on_candle(h, candle(k, 61_500.0, 22.0, -2), 61_500.0, first + k * TF, first + (k + 1) * TF)
    return bot


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_why_names_the_trend_filter_that_blocked_a_hyperrsi_entry(telegram_factory, shared_data, lang):
    engine, _clock, start = await replay_engine(shared_data)
    h = await telegram_factory(engine=engine)
    user, acc = await _user_and_account(U, lang)
    bot = await _blocked_hyperrsi(engine, start, user, acc)
    w = WORDS[lang]

    text = await h.reply(U, "/why")  # the only bot: shown at once
    assert f"#{bot.id} HYPERRSI BTC" in text.splitlines()[0]
    newest, older = text.split("\n\n")[2], text.split("\n\n")[3]
    assert w["blocked"] in newest and w["trend"] in newest, text
    assert "RSI 22.0 (" in newest and "61,500.0 USDT" in newest, text  # RSI to 1 decimal, the price to its tick
    assert w["no_signal"] in older and "RSI 45.0" in older, text
    assert re.search(r"\d\d-\d\d \d\d:\d\d", newest)

    await h.api.send_command(U, f"/why #{bot.id}")  # by its number, "#" or not
    assert w["blocked"] in (await h.api.next_call("sendMessage", chat_id=U)).text
    await engine.shutdown()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_why_names_a_grid_bots_last_decision_and_the_card_button_opens_it(telegram_factory, shared_data, lang):
    engine, _clock, start = await replay_engine(shared_data)
    h = await telegram_factory(engine=engine)
    api, w = h.api, WORDS[lang]
    user, acc = await _user_and_account(U, lang)
    lo, hi = price_range(shared_data, "ETH_USDT", start, 1440)
    grid = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="ETH/USDT:USDT",
                                    settings=grid_settings(lo, hi), status=BotStatus.DRAFT)
    other = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                     settings=HYPERRSI, status=BotStatus.DRAFT)
    await engine.control.start_bot(user.id, grid.id)
    g = engine.handles[grid.id]
    first = start - start % TF + TF
    price = float(g.strat.centre) if g.strat.centre else (lo + hi) / 2
    await g.runner.on_candle(g, GridCandle(0, price, price, price, adx_state=-2), price, first, first + TF)
    await g.resync()

    await api.send_command(U, "/why")  # two bots: pick one
    pick = await api.next_call("sendMessage", chat_id=U)
    assert len(pick.buttons()) == 2
    await api.click(U, pick, pick.button_data(f"#{grid.id} "))
    shown = await api.next_call("editMessageText", chat_id=U)
    blocks = shown.text.split("\n\n")
    assert w["gate"] in blocks[2] and w["started"] in blocks[3], shown.text
    assert re.search(r"(cancelled|취소): ", blocks[2]), shown.text  # the orders that followed
    assert "ETH" in blocks[0] and "USDT" in blocks[2]

    await api.send_command(U, "/bots")
    listing = await api.next_call("sendMessage", chat_id=U)
    await api.click(U, listing, listing.button_data(f"#{other.id} "))
    card = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, card, card.button_data(w["why"]))
    shown = await api.next_call("editMessageText", chat_id=U)
    assert w["none"] in shown.text and "5m" in shown.text, shown.text
    await engine.shutdown()


async def test_why_is_only_for_the_callers_own_bots(telegram_factory, shared_data):
    engine, _clock, start = await replay_engine(shared_data)
    h = await telegram_factory(engine=engine)
    user, acc = await _user_and_account(U, "en")
    theirs = await _blocked_hyperrsi(engine, start, user, acc)
    await _user_and_account(U + 1, "en")
    assert "no bot" in (await h.reply(U + 1, f"/why {theirs.id}"))
    assert "no bots yet" in (await h.reply(U + 1, "/why"))
    assert "no bot x1" in (await h.reply(U + 1, "/why x1"))
    assert "no bot" in (await h.reply(U + 1, "/why 99999999999999"))
    forged = h.api.bot_message(U + 1, "…")
    await h.api.click(U + 1, forged, f"bot:why:{theirs.id}")  # someone else's bot by a crafted button
    await h.api.next_call("answerCallbackQuery")  # the one not-found answer
    await h.api.no_call("editMessageText", chat_id=U + 1)
    await h.api.no_call("sendMessage", chat_id=U + 1)
    await engine.shutdown()


async def test_trend_block_notices_at_most_once_per_2h_of_candles_across_a_restart(db, shared_data):
    engine, _clock, start = await replay_engine(shared_data)
    user, acc = await _user_and_account(U, "en")
    bot = await _blocked_hyperrsi(engine, start, user, acc, n=1)
    h = engine.handles[bot.id]
    first = start - start % TF

    async def blocked(k: int) -> None:
        await h.runner.on_candle(h, candle(k, 61_500.0, 22.0, -2), 61_500.0, first + k * TF, first + (k + 1) * TF)

    async def told() -> int:
        payloads = await Notification.filter(kind="note").values_list("payload", flat=True)
        return sum(p.get("reason") == "blocked_strong_downtrend" for p in payloads)

    for k in range(1, 13):  # 55 minutes of blocked candles: one notice
        await blocked(k)
    assert await told() == 1
    await h.reload()  # a restart: the runtime state comes back from the database
    assert h.rt.trend_notice_ms == first + TF
    for k in range(13, 24):  # up to 1 h 55 min after the first notice
        await blocked(k)
    assert await told() == 1
    await blocked(25)  # 2 h after it: told again
    assert await told() == 2
    row = await StrategyBot.get(id=bot.id)
    assert len(row.decisions) == DECISIONS  # the ring keeps the last candles only
    assert {r["rules"][0][0] for r in row.decisions} == {"blocked_strong_downtrend"}
    await engine.shutdown()


NOTE_PATTERNS = (r'\bNote\(\s*"([a-z_]+)"', r'notes\.append\(\(\s*"([a-z_]+)"', r'events\.note\(\s*\w+,\s*"([a-z_]+)"')


def note_reasons() -> set[str]:
    """Every reason a strategy note can carry to the chat: the Note(...) / notes.append(...) / events.note(...)
    literals of the strategies and the runtime, the trend filter's two, and the refusals a grid step turns into
    notes (grid_ladder's PlanRefused reasons)."""
    reasons = set(hyperrsi_why.BLOCKED)
    for py in [*(ROOT / "engine" / "strategies").glob("*.py"), *(ROOT / "engine" / "runtime").glob("*.py")]:
        text = py.read_text()
        for pattern in NOTE_PATTERNS:
            reasons |= set(re.findall(pattern, text))
    ladder = (ROOT / "engine" / "strategies" / "grid_ladder.py").read_text()
    return reasons | set(re.findall(r'PlanRefused\(\s*"([a-z_]+)"', ladder))


def test_every_note_reason_and_why_rule_has_words_in_both_languages():
    reasons = note_reasons()
    assert {"blocked_strong_downtrend", "blocked_strong_uptrend", "below_minimum", "trailing_blocked_by_position",
            "late_entry_fill", "unexpected_fill", "remainder_refused", "no_centre_yet"} <= reasons  # the scan works
    rules = set(hyperrsi_why.CODES) | set(grid_why.CODES)
    for lang in LANGUAGES:
        cat = read_catalogue(LOCALES_DIR / lang, lang)
        missing = sorted(r for r in reasons if not cat.get(f"notify.reason_code.{r}") or
                         not cat[f"notify.reason_code.{r}"].string)
        assert not missing, f"{lang}: notes without words: {missing}"
        missing = sorted(c for c in rules if f"why.rule.{c}" not in cat or not cat[f"why.rule.{c}"].string)
        assert not missing, f"{lang}: /why rules without words: {missing}"
        for key in [f"why.trend.{t}" for t in ("strong_down", "down", "none", "up", "strong_up")] + \
                [f"why.wants.{s}.{m}" for s in ("long", "short") for m in ("threshold", "cross", "cross_back", "turn")]:
            assert cat.get(key) is not None and cat[key].string, (lang, key)


def test_an_order_in_why_shows_the_amount_the_exchange_is_sent():
    # seen in a transcript: /why said "buy 0.0048 BTC at market" for an order that bought 0.0047 BTC: the intent's
    # 0.00479 was rounded half up for the eye, while an order's amount is cut down to the lot
    from bot.i18n import make_i18n
    from bot.numbers import MarketNumbers
    from bot.why_render import order_text

    nums = MarketNumbers.from_info({"base": "BTC", "quote": "USDT", "price_step": "0.1", "amount_step": "0.0001"})
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert order_text(["open", "entry", "buy", 0.004791, None], nums) == "→ buy 0.0047 BTC at market (entry)"
        assert "0.0047 BTC" in order_text(["open", "entry", "buy", "0.0047", None], nums)

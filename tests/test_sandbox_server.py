"""The sandbox's server side: `python -m bot` without a token answers /start over HTTP; the embedded Bot API speaks
Telegram's refusals to a real aiogram Bot and stays bounded; the key dialog in the sandbox offers paper only."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from cryptography.fernet import Fernet

from bot.app import make_bot
from bot.callbacks import AccCb
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit
from bot.sandbox.run import TOKEN
from bot.sandbox.users import USERS
from db.config import DEFAULT_DATABASE_URL, AppConfig
from db.models import ExchangeAccount

KEY = Fernet.generate_key().decode()
MINA, ALEX = USERS[0], USERS[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _sandbox(tmp_path: Path, port: int, **env: str) -> asyncio.subprocess.Process:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "MASTER_", "SANDBOX_", "MARKET_", "ADMIN_"))}
    base.update({"BOT_TOKEN": "", "MASTER_KEY": KEY, "DATABASE_URL": f"sqlite://{tmp_path}/sandbox.sqlite3",
                 "REDIS_URL": "", "ENV": "development", "HEALTH_PORT": "0", "SANDBOX_PORT": str(port), **env})
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=base,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _texts(http: aiohttp.ClientSession, base: str, user: int) -> list[str]:
    """The chat's messages as plain text, read the way a page reads them."""
    async with http.get(f"{base}/api/updates", params={"user": str(user), "since": "0"}) as r:
        assert r.status == 200
        return [_flat(m["text"]) for m in (await r.json())["messages"]]


def _flat(nodes) -> str:
    if isinstance(nodes, str):
        return nodes
    if isinstance(nodes, dict):
        return _flat(nodes.get("children", []))
    return "".join(_flat(n) for n in nodes or [])


async def test_python_m_bot_without_a_token_opens_the_sandbox_and_answers_start(tmp_path):
    port = _free_port()
    t0 = time.monotonic()
    proc = await _sandbox(tmp_path, port, TELEGRAM_API_URL="http://telegram.invalid")
    out = b""
    try:
        while b"BOT_TOKEN" not in out:  # the block's second sentence
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, (await proc.stderr.read()).decode()
            out += line
        ready = time.monotonic() - t0
        assert f"http://127.0.0.1:{port}".encode() in out and b"@BotFather" in out
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{port}"
            async with http.post(f"{base}/api/send", json={"user": ALEX.id, "text": "/start"}) as r:
                assert r.status == 200, await r.text()
            deadline = time.monotonic() + 30
            while not any("Welcome to TradingBoost" in t for t in await _texts(http, base, ALEX.id)):
                assert time.monotonic() < deadline, await _texts(http, base, ALEX.id)
                await asyncio.sleep(0.2)
            answered = time.monotonic() - t0
            assert (await _texts(http, base, MINA.id)) == []  # each user has their own chat
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = await asyncio.wait_for(proc.communicate(), 60)
    text = (out + rest + err).decode()
    assert proc.returncode == 0, text
    assert "TELEGRAM_API_URL is ignored in the sandbox" in text
    assert "Traceback" not in text and KEY not in text
    print(f"sandbox: banner after {ready:.1f} s, /start answered {answered:.1f} s after launch")


async def test_a_busy_sandbox_port_is_one_sentence(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = await _sandbox(tmp_path, taken.getsockname()[1])
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = (out + err).decode()
    assert proc.returncode == 1, text
    assert "The sandbox cannot listen on 127.0.0.1:" in text and "set SANDBOX_PORT to a free port" in text
    assert "Traceback" not in text


async def test_production_without_a_token_is_refused_not_sandboxed(tmp_path):
    proc = await _sandbox(tmp_path, _free_port(), ENV="production")
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert err.decode().startswith("ENV=production requires BOT_TOKEN") and err.decode().count("\n") == 1


# ---- the embedded Bot API, in process, to a real aiogram Bot ----

@pytest.fixture
async def api_bot():
    api = await BotAPIStandIn(token=TOKEN, keep_calls=0, keep_messages=5).start()
    bot = make_bot(AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url))
    yield api, bot
    await bot.session.close()
    await api.stop()


async def test_telegrams_refusals_reach_aiogram_as_telegram_words_them(api_bot):
    api, bot = api_bot
    api.rate_limit = RateLimit(overall=30, per_chat=2, retry_after=7)
    sent = await bot.send_message(ALEX.id, "hello")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("hello", chat_id=ALEX.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALEX.id, message_id=999)
    mine = await api.send_text(ALEX, "typed by Alex")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=ALEX.id, message_id=mine["message_id"])
    await bot.send_message(ALEX.id, "second")
    with pytest.raises(TelegramRetryAfter) as flood:  # two per second to one chat, then 429
        await bot.send_message(ALEX.id, "third")
    assert flood.value.retry_after == 7
    api.block(MINA.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(MINA.id, "hi")
    with pytest.raises(ValueError, match="no such button"):
        await api.press(ALEX, ALEX.id, sent.message_id, "forged")
    assert api.calls() == []  # the sandbox keeps no call log


async def test_a_page_sees_messages_edits_deletions_photos_popups_and_the_menu(api_bot):
    api, bot = api_bot
    events = []
    unsubscribe = api.subscribe(events.append)
    await api.send_text(MINA, "/start")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    from aiogram.types import BotCommand, BufferedInputFile, InlineKeyboardMarkup

    msg = await bot.send_message(MINA.id, "<b>menu</b>", parse_mode="HTML",
                                 reply_markup=InlineKeyboardMarkup.model_validate(markup))
    qid = await api.press(MINA, MINA.id, msg.message_id, "go")
    await bot.answer_callback_query(qid, text="Pressed", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):  # one answer per press, as Telegram
        await bot.answer_callback_query(qid, text="again")
    await bot.edit_message_text("edited", chat_id=MINA.id, message_id=msg.message_id)
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    photo = await bot.send_photo(MINA.id, BufferedInputFile(png, "chart.png"), caption="chart")
    await bot.set_my_commands([BotCommand(command="status", description="내 봇")], language_code="ko")
    views = api.chat_messages(MINA.id)
    assert [(v["from_bot"], v["text"] or v["caption"]) for v in views] == [
        (False, "/start"), (True, "edited"), (True, "chart")]
    assert views[1]["reply_markup"] is None and views[1]["edit_date"] and views[1]["parse_mode"] is None
    assert api.photo(views[2]["photo"]) == png
    assert api.popups(MINA.id) == [{"text": "Pressed", "show_alert": True, "ts": api.popups(MINA.id)[0]["ts"]}]
    assert api.menu("ko") == [{"command": "status", "description": "내 봇"}]
    await bot.delete_message(MINA.id, photo.message_id)
    assert [v["message_id"] for v in api.chat_messages(MINA.id)] == [1, msg.message_id]
    unsubscribe()
    await bot.send_message(MINA.id, "unseen by the page")
    assert [e.kind for e in events] == ["message", "message", "popup", "edit", "message", "delete"]
    assert events[1].message["parse_mode"] == "HTML" and events[3].message["text"] == "edited"


async def test_memory_stays_bounded(api_bot):
    api, _bot = api_bot
    for i in range(12):
        await api.send_text(ALEX, f"m{i}")
    assert [v["text"] for v in api.chat_messages(ALEX.id)] == [f"m{i}" for i in range(7, 12)]  # keep_messages=5
    api.chats.keep_photos = 3
    ids = [api.chats.put_photo(bytes([i]) * 10) for i in range(5)]
    assert [api.chats.has_photo(i) for i in ids] == [False, False, True, True, True]
    assert api.calls() == [] and api.pending_updates == 12  # nothing polls here: updates wait, bounded too


async def test_the_call_log_keeps_only_the_newest_when_capped():
    api = await BotAPIStandIn(keep_calls=3).start()
    bot = make_bot(AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url))
    try:
        first = await bot.send_message(5, "0")
        await api.next_call("sendMessage", timeout=1)
        for i in range(1, 6):
            await bot.send_message(5, str(i))
        assert [c.text for c in api.calls()] == ["3", "4", "5"]
        assert (await api.next_call("sendMessage", timeout=1)).text == "3"
        assert first.message_id == 1
    finally:
        await bot.session.close()
        await api.stop()


# ---- paper only ----

@pytest.mark.parametrize(("language", "words"), [("en", "Real exchange keys need the Telegram mode"),
                                                 ("ko", "실제 거래소 키는 텔레그램 모드")])
async def test_the_key_dialog_in_the_sandbox_offers_paper_only(telegram_factory, language, words):
    h = await telegram_factory(sandbox=True)
    api, u = h.api, 7001
    await h.accept_user(u, language)
    await api.click(u, api.bot_message(u), AccCb(action="add").pack())
    told = await api.next_call("editMessageText", chat_id=u)
    assert words in told.text and "BOT_TOKEN" in told.text
    assert told.button_data("모의" if language == "ko" else "Paper") == AccCb(action="paper").pack()
    for forged in (AccCb(action="exchange", value="okx"), AccCb(action="mode", value="okx.live"),
                   AccCb(action="market", value="binance.swap")):  # every step of the dialog says the same
        await api.click(u, api.bot_message(u), forged.pack())
        assert words in (await api.next_call("editMessageText", chat_id=u)).text
    await api.send_message(u, "ABCDEFGH12345678")  # no key step is open: the text is not read as a key
    await asyncio.sleep(0.3)
    assert not await ExchangeAccount.filter(exchange="binance").exists()
    await api.click(u, told.message(), told.button_data("모의" if language == "ko" else "Paper"))
    await api.next_call("editMessageText", chat_id=u)  # the paper account's markets: the way on


async def test_outside_the_sandbox_the_key_dialog_is_unchanged(telegram):
    api, u = telegram.api, 7002
    await telegram.accept_user(u)
    await api.click(u, api.bot_message(u), AccCb(action="add").pack())
    assert "Which exchange?" in (await api.next_call("editMessageText", chat_id=u)).text


def test_on_the_shipped_sample_the_replay_starts_where_a_default_grid_trades(tmp_path):
    # from the replay's default start (3 August 2024, before the crash of the 5th) a quick-setup BTC grid waited
    # days for its first fill; from the 10th both markets fill within the first market hour
    from bot.sandbox.run import Sandbox, replay_start_ms
    from engine.market.sample import SAMPLE_DIR, SANDBOX_START_MS

    sandboxed = Sandbox().prepare(AppConfig(_env_file=None, MASTER_KEY=KEY))
    assert sandboxed.MARKET_REPLAY_DIR == SAMPLE_DIR and replay_start_ms(sandboxed) == SANDBOX_START_MS
    assert replay_start_ms(Sandbox().prepare(AppConfig(_env_file=None, MARKET_REPLAY_DIR=tmp_path))) is None


def test_the_sandbox_keeps_its_own_database_unless_told(tmp_path):
    from bot.sandbox.run import SANDBOX_DATABASE_URL, Sandbox

    assert Sandbox().prepare(AppConfig(_env_file=None)).DATABASE_URL == SANDBOX_DATABASE_URL != DEFAULT_DATABASE_URL
    told = f"sqlite://{tmp_path}/x.sqlite3"
    prepared = Sandbox().prepare(AppConfig(_env_file=None, DATABASE_URL=told))
    assert told == prepared.DATABASE_URL


async def test_a_paper_only_engine_never_builds_an_exchange_for_an_account_with_a_key(db):
    # the sandbox's engine, pointed (by DATABASE_URL) at a database holding real accounts, must not trade them
    from db.enums import MarketType
    from db.models import ExchangeAccount, User
    from engine.runtime.engine import Engine
    from engine.runtime.registry import PaperOnly

    user = await User.create(telegram_id=5)
    live = await ExchangeAccount.create(user=user, exchange="binance", market_type=MarketType.SWAP, label="real",
                                        is_paper=False, api_key_enc="x", secret_enc="y")
    paper = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                         is_paper=True, paper_balances={"USDT": "100"})
    engine = Engine(paper_only=True, vault=object())
    with pytest.raises(PaperOnly):
        await engine.registry.exchange_for(live)
    assert await engine.registry.exchange_for(paper) is not None
    await engine.shutdown()

"""The web chat's JSON API (bot/sandbox/web.py) against our real Dispatcher polling the embedded Bot API: /start and
its buttons, a press edits the message in place, a deleted message leaves the page, an answered press pops up,
bot text is never markup, a broadcast reaches the other users' chats, the command menu, photos, the clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiogram.types import BufferedInputFile
from aiohttp import web

from bot.sandbox.chat_view import render
from bot.sandbox.users import ADMIN_IDS
from bot.sandbox.web import add_routes

ALEX, JUN = 1002, 1003
MINA = ADMIN_IDS[0]


def plain(nodes) -> str:
    return "".join(n if isinstance(n, str) else plain(n["children"]) for n in nodes)


@dataclass
class Chat:
    """One user's chat as the page keeps it: messages by id, applied from /api/updates like chat.js does."""

    user: int
    since: int = 0
    messages: dict[int, dict] = field(default_factory=dict)
    popups: list[dict] = field(default_factory=list)
    chats: dict[str, int] = field(default_factory=dict)

    def apply(self, d: dict) -> None:
        self.messages = {i: self.messages[i] for i in d["ids"] if i in self.messages}
        for m in d["messages"]:
            self.messages[m["id"]] = m
        self.popups += d["popups"]
        self.chats = d["chats"]
        self.since = d["v"]

    def last(self) -> dict:
        return self.messages[max(self.messages)]

    def texts(self) -> list[str]:
        return [plain(m["text"] or m["caption"]) for _, m in sorted(self.messages.items())]


class Page:
    def __init__(self, http: aiohttp.ClientSession, base: str):
        self.http, self.base = http, base

    async def get(self, path: str, **params) -> dict:
        async with self.http.get(self.base + path, params=params) as r:
            assert r.status == 200, (r.status, await r.text())
            return await r.json()

    async def post(self, path: str, body: dict, status: int = 200) -> dict:
        async with self.http.post(self.base + path, json=body) as r:
            assert r.status == status, (r.status, await r.text())
            return await r.json()

    async def send(self, user: int, text: str) -> None:
        await self.post("/api/send", {"user": user, "text": text})

    async def press(self, chat: Chat, message: dict, label: str, status: int = 200) -> None:
        data = next(b["data"] for row in message["keyboard"] for b in row if label in b["text"])
        await self.post("/api/press", {"user": chat.user, "message_id": message["id"], "data": data}, status)

    async def until(self, chat: Chat, ok: Callable[[Chat], bool], timeout: float = 10.0) -> Chat:
        deadline = time.monotonic() + timeout
        if not chat.since:
            chat.apply(await self.get("/api/updates", user=chat.user, since=0))
        while not ok(chat):
            left = deadline - time.monotonic()
            assert left > 0, f"the page never showed it; it shows {chat.texts()[-4:]} popups {chat.popups}"
            chat.apply(await self.get("/api/updates", user=chat.user, since=chat.since, wait=min(left, 5)))
        return chat


@pytest.fixture
async def page(telegram_factory):
    h = await telegram_factory(admin_ids=list(ADMIN_IDS))
    app = web.Application()
    add_routes(app, h.api)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        yield h, Page(http, f"http://127.0.0.1:{port}")
    await runner.cleanup()


def keyboard(m: dict) -> list[str]:
    return [b["text"] for row in m["keyboard"] for b in row]


async def test_start_buttons_press_edits_in_place(page):
    _h, p = page
    session = await p.get("/api/session")
    assert [(u["id"], u["name"], u["admin"]) for u in session["users"]] == [
        (1001, "Mina", True), (1002, "Alex", False), (1003, "Jun", False)]
    assert set(session["labels"]["en"]) == set(session["labels"]["ko"]) and session["labels"]["ko"]["send"] == "보내기"
    assert session["clock"] is False

    alex = Chat(ALEX)
    await p.send(ALEX, "/start")
    await p.until(alex, lambda c: len(c.messages) == 2)
    mine, choose = (alex.messages[i] for i in sorted(alex.messages))
    assert mine["out"] and mine["text"] == [{"tag": "cmd", "children": ["/start"]}]
    assert not choose["out"] and keyboard(choose) == ["English", "한국어"]

    await p.press(alex, choose, "English")
    await p.until(alex, lambda c: "risk" in plain(c.messages[choose["id"]]["text"]).lower())
    risk = alex.messages[choose["id"]]
    assert risk["edited"] and len(alex.messages) == 2  # edited in place: no new message
    await p.press(alex, risk, keyboard(risk)[0])
    await p.until(alex, lambda c: "Main menu" in plain(c.messages[choose["id"]]["text"]))
    assert any("Accounts" in t for t in keyboard(alex.messages[choose["id"]]))

    # a button of a message the bot replaced is refused by the page; the chat of another user is untouched
    await p.press(alex, risk, keyboard(risk)[0], status=409)
    assert (await p.get("/api/updates", user=JUN, since=0))["ids"] == []
    await p.post("/api/send", {"user": 4242, "text": "/start"}, status=404)  # only the simulated users speak


async def test_deleted_messages_leave_and_popups_show(page):
    h, p = page
    alex = Chat(ALEX)
    await h.accept_user(ALEX)
    await p.until(alex, lambda c: len(c.messages) >= 2)

    sent = await h.bot.send_message(ALEX, "short-lived")
    await p.until(alex, lambda c: "short-lived" in c.texts())
    await h.bot.delete_message(ALEX, sent.message_id)
    await p.until(alex, lambda c: sent.message_id not in c.messages)
    assert "short-lived" not in alex.texts()

    # a button the bot no longer knows: the real fallback router answers with an alert, the page pops it up
    old = h.api.bot_message(ALEX, "an old card", {"inline_keyboard": [[{"text": "Old", "callback_data": "gone:1"}]]})
    await p.until(alex, lambda c: old["message_id"] in c.messages)
    await p.press(alex, alex.messages[old["message_id"]], "Old")
    await p.until(alex, lambda c: bool(c.popups))
    assert alex.popups[0]["show_alert"] is True and "no longer valid" in alex.popups[0]["text"]
    fresh = await p.get("/api/updates", user=ALEX, since=0)
    assert fresh["popups"] == []  # a page opened later does not replay old popups


async def test_bot_text_is_never_markup(page):
    h, p = page
    alex = Chat(ALEX)
    await h.bot.send_message(ALEX, "<b>bold</b> &lt;script&gt;x&lt;/script&gt; <a href=\"javascript:alert(1)\">js</a>"
                             " <a href=\"https://example.com\">ok</a> <tg-spoiler>hidden</tg-spoiler>",
                             parse_mode="HTML")
    await h.bot.send_message(ALEX, "<script>alert(1)</script><img src=x onerror=alert(1)>", parse_mode=None)
    await p.until(alex, lambda c: len(c.messages) == 2)
    html, raw = (alex.messages[i]["text"] for i in sorted(alex.messages))
    assert html == [{"tag": "b", "children": ["bold"]}, " <script>x</script> ", {"tag": "a", "children": ["js"]},
                    " ", {"tag": "a", "href": "https://example.com", "children": ["ok"]}, " ",
                    {"tag": "spoiler", "children": ["hidden"]}]
    assert raw == ["<script>alert(1)</script><img src=x onerror=alert(1)>"]

    # what a user types comes back as text too, in their own bubble
    await p.send(ALEX, "<script>alert(2)</script>")
    await p.until(alex, lambda c: "<script>alert(2)</script>" in c.texts())

    # tags Telegram does not allow stay text, whatever the parse mode; entities nest by UTF-16 offsets
    assert render("<script>a</script><i>b</i>", "HTML") == ["<script>a</script>", {"tag": "i", "children": ["b"]}]
    assert render("😀 go /help", None, [{"type": "bold", "offset": 0, "length": 5}]) == [
        {"tag": "b", "children": ["😀 go"]}, " ", {"tag": "cmd", "children": ["/help"]}]


async def test_broadcast_reaches_the_other_chats(page):
    h, p = page
    for u in (MINA, ALEX, JUN):
        await h.accept_user(u)
    mina, alex = Chat(MINA), Chat(ALEX)
    await p.until(alex, lambda c: bool(c.messages))
    seen = dict(alex.chats)
    await p.send(MINA, "/broadcast")
    await p.until(mina, lambda c: "/broadcast" in c.texts() and not c.last()["out"])
    await p.send(MINA, "Markets close early today")
    await p.until(mina, lambda c: bool(c.last()["keyboard"]))
    await p.press(mina, mina.last(), "Send")
    await p.until(alex, lambda c: "Markets close early today" in c.texts())
    await p.until(alex, lambda c: c.chats[str(JUN)] > seen[str(JUN)])  # Jun's too: the page marks it unread
    jun = await p.until(Chat(JUN), lambda c: "Markets close early today" in c.texts())
    assert not jun.last()["out"]


async def test_command_menu_photo_and_long_poll(page):
    h, p = page
    en = (await p.get("/api/menu", lang="en"))["commands"]
    ko = (await p.get("/api/menu", lang="ko"))["commands"]
    assert {"start", "status"} <= {c["command"] for c in en} and ko[1]["description"] == "내 봇과 손익"

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    await h.bot.send_photo(ALEX, BufferedInputFile(png, "chart.png"), caption="Backtest #1")
    alex = await p.until(Chat(ALEX), lambda c: bool(c.messages))
    m = alex.last()
    assert plain(m["caption"]) == "Backtest #1" and m["photo"].startswith("/api/photos/")
    async with p.http.get(p.base + m["photo"]) as r:
        assert r.status == 200 and r.content_type == "image/png" and await r.read() == png

    # a long-poll returns as soon as the bot sends, not at its timeout
    waiting = asyncio.create_task(p.get("/api/updates", user=ALEX, since=alex.since, wait=20))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    t0 = time.monotonic()
    await h.bot.send_message(ALEX, "fill")
    d = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - t0 < 1.0 and [plain(x["text"]) for x in d["messages"]] == ["fill"]


async def test_requests_must_come_from_this_machine_and_page(page):
    h, p = page
    async with p.http.get(p.base + "/api/session", headers={"Host": "evil.example:8080"}) as r:
        assert r.status == 403  # a rebound DNS name
    async with p.http.post(p.base + "/api/send", data="user=1002&text=/start",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
        assert r.status == 403  # a cross-site form
    async with p.http.post(p.base + "/api/send", json={"user": ALEX, "text": "/start"},
                           headers={"Origin": "http://evil.example"}) as r:
        assert r.status == 403
    async with p.http.get(p.base + "/") as r:
        assert r.status == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert "/static/chat.js" in await r.text()
    async with p.http.get(p.base + "/static/chat.js") as r:
        js = await r.text()
        assert r.status == 200 and "innerHTML" not in js and "insertAdjacentHTML" not in js
    assert h.api.chat_messages(ALEX) == []  # nothing got through


class Clock:
    def __init__(self):
        self.speed, self.t = 60, 1_700_000_000_000

    def set_speed(self, speed):
        self.speed = speed

    def now_ms(self):
        return self.t


async def test_clock_controls(telegram_factory):
    h = await telegram_factory()
    app = web.Application()
    clock = Clock()
    add_routes(app, h.api, clock_control=clock)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as http:
            p = Page(http, base)
            assert (await p.get("/api/session"))["clock"] is True
            assert await p.get("/api/clock") == {"speed": 60, "now_ms": clock.t}
            assert (await p.post("/api/clock", {"speed": 0}))["speed"] == 0 and clock.speed == 0
            await p.post("/api/clock", {"speed": 7}, status=400)
            await p.post("/api/clock", {"speed": True}, status=400)
            assert clock.speed == 0
    finally:
        await runner.cleanup()

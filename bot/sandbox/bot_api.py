"""The embedded Bot API: aiohttp on 127.0.0.1, polled by a real aiogram Bot over HTTP; the sandbox's Telegram and
the tests' stand-in.

Usage (inside an async test; `tests/fakes/telegram_fixtures.py` wraps all of this in fixtures)::

    api = BotAPIStandIn()                 # optionally rate_limit=RateLimit(overall=30, per_chat=1)
    await api.start()                     # api.base_url == "http://127.0.0.1:<port>"
    bot = Bot("42:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    await api.next_call("getMe", timeout=10)           # the bot is up

    await api.send_command(user_id=111, text="/start")  # a message with a bot_command entity
    reply = await api.next_call("sendMessage", chat_id=111, timeout=5)
    reply.text, reply.buttons()                        # text and [(button text, callback data), ...]
    await api.click(user_id=111, message=reply, data=reply.button_data("English"))
    edit = await api.next_call("editMessageText", chat_id=111)

    api.block(111)     # from now on every send to chat 111 answers 403 "Forbidden: bot was blocked by the user"
    api.calls("sendMessage")                           # every recorded call, oldest first
    await dp.stop_polling(); await api.stop()

`next_call` returns the oldest matching call not yet returned by an earlier `next_call` (calls are consumed in
order, so a test reads the bot's replies one by one); `drain()` consumes everything recorded so far. By default it
matches only successful calls; pass `ok=False` to wait for a refused one (429/403/400).

For a page (the sandbox): `chat_messages(chat_id)`, `photo(file_id)`, `popups(chat_id)`, `menu(language)`,
`send_text(user, text)`, `press(user, chat_id, message_id, data)`, and `subscribe(fn)` for every new message, edit,
deletion and popup (bot/sandbox/chats.py). Routes may be added to `app` before `start()`, so the page shares the
port. A sandbox keeps no call log (`keep_calls=0`) and a bounded chat store, so it can run for days.

Pitfalls handled (harness.md §4): aiogram POSTs multipart form data whose scalars are strings and whose nested
objects are JSON strings, falsy fields are omitted, `getUpdates` must answer within its `timeout`, and confirmed
updates (`offset`) are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox.calls import (
    BLOCKED,
    NOT_MODIFIED,
    ApiError,
    Call,
    CallLog,
    RateLimit,
    as_int,
    buttons,
    check_limits,
    read_params,
)
from bot.sandbox.chats import ChatEvent, ChatStore
from bot.sandbox.methods import BOT_USER, KEEP_QUERIES, BotMethods
from bot.sandbox.users import SandboxUser

__all__ = ["BOT_USER", "NOT_MODIFIED", "BotAPIStandIn", "Call", "ChatEvent", "RateLimit"]

RATE_LIMITED = {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}
SENDS = RATE_LIMITED | {"editMessageText", "editMessageReplyMarkup", "editMessageCaption", "sendChatAction"}
KEEP_UPDATES = 10_000  # updates waiting for a bot that does not poll: the oldest are dropped past this


class BotAPIStandIn(BotMethods):
    """The server. Everything runs on the caller's event loop; no threads."""

    def __init__(self, *, rate_limit: RateLimit | None = None, token: str = "42:TEST", host: str = "127.0.0.1",
                 port: int = 0, keep_calls: int | None = None, keep_messages: int = 500):
        self.token, self.rate_limit, self.host = token, rate_limit, host
        self.port: int | None = port or None
        self._bind_port = port
        self.blocked: set[int] = set()
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope type, language_code) -> commands
        self.chats = ChatStore(keep_messages=keep_messages)
        self.log = CallLog(keep_calls)
        self.listeners: list[Callable[[Call], Any]] = []  # run on every call (benchmarks time replies with them)
        self._updates: list[dict] = []
        self._updates_changed = asyncio.Condition()
        self._update_ids = itertools.count(1)
        self._queries: OrderedDict[str, int] = OrderedDict()
        self._callback_ids = itertools.count(1)
        self._sent_all: deque[float] = deque()
        self._sent_chat: dict[int, deque[float]] = defaultdict(deque)
        self._closing = False
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner: web.AppRunner | None = None
        self.confirmed_update_id = 0

    # ---- lifecycle ----

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> BotAPIStandIn:
        """Serve `app` on host:port (port 0: a free one, read back into `port`); OSError when the port is taken."""
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._bind_port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._closing = True
        async with self._updates_changed:
            self._updates_changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test controls ----

    def block(self, chat_id: int) -> None:
        self.blocked.add(int(chat_id))

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(int(chat_id))

    def calls(self, method: str | None = None, *, chat_id: int | None = None, ok: bool | None = None) -> list[Call]:
        return self.log.calls(method, chat_id=chat_id, ok=ok)

    def drain(self) -> None:
        """Consume every call recorded so far, so the next `next_call` sees only newer ones."""
        self.log.drain()

    async def next_call(self, method: str | None = None, *, chat_id: int | None = None, ok: bool | None = True,
                        text_contains: str | None = None, timeout: float = 5.0) -> Call:
        """The oldest matching call not returned before; waits up to `timeout` seconds for it."""
        return await self.log.next_call(method, chat_id=chat_id, ok=ok, text_contains=text_contains,
                                        timeout=timeout)

    async def no_call(self, method: str | None = None, *, chat_id: int | None = None, wait: float = 0.3) -> None:
        """Assert that no unconsumed matching call arrives within `wait` seconds."""
        try:
            c = await self.next_call(method, chat_id=chat_id, ok=None, timeout=wait)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {c.method} to {c.chat_id}: {c.text[:200]!r}")

    # ---- what users do ----

    def _user(self, user_id: int, *, first_name: str | None = None, username: str | None = None,
              language_code: str | None = None) -> dict:
        u = {"id": int(user_id), "is_bot": False, "first_name": first_name or f"User{user_id}"}
        if username:
            u["username"] = username
        if language_code:
            u["language_code"] = language_code
        return u

    async def send_message(
        self, user_id: int, text: str, *, chat_id: int | None = None, entities: list[dict] | None = None, **user_kw
    ) -> dict:
        """Inject a private-chat text message from `user_id`; returns the message dict."""
        chat = int(chat_id if chat_id is not None else user_id)
        sender = self._user(user_id, **user_kw)
        msg = {
            "message_id": self.chats.next_id(chat),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": sender["first_name"]},
            "from": sender,
            "text": text,
        }
        if entities:
            msg["entities"] = entities
        self.chats.add(msg)
        await self.inject({"message": msg})
        return msg

    async def send_command(self, user_id: int, text: str, **kw) -> dict:
        """Inject `/command args` with a bot_command entity, as a real client sends it."""
        cmd = text.split(maxsplit=1)[0]
        return await self.send_message(user_id, text, entities=[{"type": "bot_command", "offset": 0,
                                                                  "length": len(cmd)}], **kw)

    async def click(self, user_id: int, message: Call | dict, data: str, **user_kw) -> str:
        """Inject a callback query from `user_id` pressing a button of `message`; returns the query id."""
        msg = message.message() if isinstance(message, Call) else message
        chat = msg["chat"]["id"]
        entry = self.chats.get(chat, msg["message_id"])
        qid = str(next(self._callback_ids))
        self._queries[qid] = chat
        while len(self._queries) > KEEP_QUERIES:
            self._queries.popitem(last=False)
        await self.inject({"callback_query": {
            "id": qid, "from": self._user(user_id, **user_kw), "chat_instance": f"ci{chat}",
            "message": entry.msg if entry else msg, "data": data,
        }})
        return qid

    async def send_text(self, user: SandboxUser | int, text: str) -> dict:
        """What a user types in their own chat: a command (`/start args`) or plain text."""
        uid, kw = _who(user)
        if text.startswith("/") and len(text) > 1:
            return await self.send_command(uid, text, **kw)
        return await self.send_message(uid, text, **kw)

    async def press(self, user: SandboxUser | int, chat_id: int, message_id: int, data: str) -> str:
        """A user presses one of the buttons a message shows now (ValueError for a gone message or button)."""
        uid, kw = _who(user)
        entry = self.chats.get(int(chat_id), int(message_id))
        if entry is None:
            raise ValueError("the message is gone")
        if data not in {d for _text, d in buttons(entry.msg.get("reply_markup")) if d}:
            raise ValueError("the message shows no such button")
        return await self.click(uid, entry.msg, data, **kw)

    def bot_message(self, chat_id: int, text: str = "…", reply_markup: dict | None = None) -> dict:
        """Register a message as if the bot had sent it earlier (something for a test's callback to press on)."""
        params: dict[str, Any] = {"chat_id": chat_id}
        if reply_markup:
            params["reply_markup"] = reply_markup
        return self._new_message(params, text=text)

    async def inject(self, update_body: dict) -> int:
        """Queue any update body (without update_id); returns the id given."""
        uid = next(self._update_ids)
        async with self._updates_changed:
            self._updates.append({"update_id": uid, **update_body})
            del self._updates[:-KEEP_UPDATES]
            self._updates_changed.notify_all()
        return uid

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ---- what a page reads ----

    def chat_messages(self, chat_id: int) -> list[dict]:
        """The chat's current messages, oldest first (bot/sandbox/chats.py `ChatStore.view`)."""
        return self.chats.messages(int(chat_id))

    def photo(self, file_id: str) -> bytes:
        return self.chats.photo(file_id)

    def popups(self, chat_id: int) -> list[dict]:
        """The texts of answered presses, oldest first: {"text", "show_alert", "ts"}."""
        return self.chats.popups(int(chat_id))

    def menu(self, language: str | None = None) -> list[dict]:
        """The command menu a client in `language` shows (the default menu when none was set for it)."""
        return self.commands.get(("default", language or ""), self.commands.get(("default", ""), []))

    def subscribe(self, fn: Callable[[ChatEvent], Any]) -> Callable[[], None]:
        return self.chats.subscribe(fn)

    def message_text(self, chat_id: int, message_id: int) -> str | None:
        """The current text of a message (after edits), or None once deleted."""
        entry = self.chats.get(int(chat_id), int(message_id))
        return None if entry is None else entry.msg.get("text", entry.msg.get("caption"))

    def exists(self, chat_id: int, message_id: int) -> bool:
        return self.chats.get(int(chat_id), int(message_id)) is not None

    # ---- HTTP ----

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await read_params(request)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        call = self.log.new(method, params, files)
        handler = getattr(self, f"_m_{method}", None)
        refusal: ApiError | None = None
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            self._check_send(method, params)
            check_limits(method, params)
            call.result = handler(params, files)
        except ApiError as e:
            refusal = e
            call.ok, call.error_code, call.description = False, e.code, e.description
        for listener in self.listeners:
            listener(call)
        await self.log.record(call)
        if refusal is not None:
            return web.json_response(refusal.body(), status=refusal.code)
        return web.json_response({"ok": True, "result": call.result})

    async def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self.confirmed_update_id = max(self.confirmed_update_id, offset - 1)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        async with self._updates_changed:
            while not self._updates and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_changed.wait(), left)
        return self._updates[:limit]

    def _check_send(self, method: str, params: dict) -> None:
        chat = as_int(params.get("chat_id"))
        if method in SENDS and chat in self.blocked:
            raise ApiError(403, BLOCKED)
        rl = self.rate_limit
        if rl is None or method not in RATE_LIMITED:
            return
        now = time.monotonic()
        for q in (self._sent_all, self._sent_chat[chat]):
            while q and q[0] <= now - rl.window:
                q.popleft()
        if not self._sent_chat[chat]:
            del self._sent_chat[chat]  # an idle chat holds nothing
        if len(self._sent_all) >= rl.overall * rl.window or len(self._sent_chat[chat]) >= rl.per_chat * rl.window:
            raise ApiError(429, f"Too Many Requests: retry after {rl.retry_after}", retry_after=rl.retry_after)
        self._sent_all.append(now)
        self._sent_chat[chat].append(now)


def _who(user: SandboxUser | int) -> tuple[int, dict[str, Any]]:
    if isinstance(user, SandboxUser):
        return user.id, {"first_name": user.first_name, "language_code": user.language_code}
    return int(user), {}

"""The Bot API as the sandbox and the tests serve it: aiohttp on 127.0.0.1, polled by a real aiogram Bot over HTTP.

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

Pitfalls handled (harness.md §4): aiogram POSTs multipart form data whose scalars are strings and whose nested
objects are JSON strings, falsy fields are omitted, `getUpdates` must answer within its `timeout`, and confirmed
updates (`offset`) are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

BOT_USER = {"id": 42, "is_bot": True, "first_name": "TradingBoost", "username": "tradingboost_test_bot"}
JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope", "link_preview_options",
    "reply_parameters", "media",
}
RATE_LIMITED = {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}
SENDS = RATE_LIMITED | {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


@dataclass(frozen=True)
class RateLimit:
    """Answer 429 when more than `overall` messages/s in total or `per_chat` messages/s to one chat are sent."""

    overall: float = 30
    per_chat: float = 1
    retry_after: int = 1
    window: float = 1.0  # seconds; a chat may receive `per_chat * window` messages per window


@dataclass
class Call:
    """One request the bot made: method, parsed parameters, uploaded files and the answer it got."""

    index: int
    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    ts: float
    ok: bool = True
    error_code: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        v = self.params.get("chat_id")
        return _as_int(v) if v is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict):
            return self.result.get("message_id")
        v = self.params.get("message_id")
        return _as_int(v) if v is not None else None

    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard as (text, callback_data) pairs, row by row."""
        markup = self.params.get("reply_markup") or {}
        out = []
        for row in markup.get("inline_keyboard", []):
            for b in row:
                out.append((b.get("text", ""), b.get("callback_data", "")))
        return out

    def button_data(self, text_contains: str) -> str:
        """The callback data of the first button whose text contains `text_contains` (AssertionError if none)."""
        for text, data in self.buttons():
            if text_contains.lower() in text.lower():
                return data
        raise AssertionError(f"no button containing {text_contains!r} in {self.buttons()!r}")

    def message(self) -> dict:
        """The message object as the bot sees it (for a callback query's `message`)."""
        if isinstance(self.result, dict):
            return self.result
        raise AssertionError(f"{self.method} call has no message result")


# Telegram's own limits, counted in UTF-16 code units, as the real Bot API refuses them.
TEXT_LIMIT, CAPTION_LIMIT, CALLBACK_ANSWER_LIMIT = 4096, 1024, 200


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _check_limits(method: str, params: dict) -> None:
    if method in ("sendMessage", "editMessageText"):
        text = params.get("text") or ""
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16(text) > TEXT_LIMIT:
            raise _ApiError(400, "Bad Request: message is too long")
    if method in ("sendPhoto", "editMessageCaption") and _utf16(params.get("caption") or "") > CAPTION_LIMIT:
        raise _ApiError(400, "Bad Request: message caption is too long")
    if method == "answerCallbackQuery" and _utf16(params.get("text") or "") > CALLBACK_ANSWER_LIMIT:
        raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")


def _as_int(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


class BotAPIStandIn:
    """The fake server. Everything runs on the test's event loop; no threads."""

    def __init__(self, *, rate_limit: RateLimit | None = None, token: str = "42:TEST"):
        self.token = token
        self.rate_limit = rate_limit
        self.blocked: set[int] = set()
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope type, language_code) -> commands
        self._calls: list[Call] = []
        self._consumed: set[int] = set()
        self._calls_changed = asyncio.Condition()
        self._updates: list[dict] = []
        self._updates_changed = asyncio.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._messages: dict[tuple[int, int], dict] = {}  # (chat, message id) -> message, user's and bot's
        self._callback_ids = itertools.count(1)
        self._sent_all: deque[float] = deque()
        self._sent_chat: dict[int, deque[float]] = defaultdict(deque)
        self._closing = False
        self.listeners: list = []  # callables run on every recorded call (benchmarks time replies with them)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.confirmed_update_id = 0

    # ---- lifecycle ----

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> BotAPIStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
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
        return [c for c in self._calls if _matches(c, method, chat_id, ok, None)]

    def drain(self) -> None:
        """Consume every call recorded so far, so the next `next_call` sees only newer ones."""
        self._consumed.update(c.index for c in self._calls)

    async def next_call(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        ok: bool | None = True,
        text_contains: str | None = None,
        timeout: float = 5.0,
    ) -> Call:
        """The oldest matching call not returned before; waits up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        async with self._calls_changed:
            while True:
                for c in self._calls:
                    if c.index not in self._consumed and _matches(c, method, chat_id, ok, text_contains):
                        self._consumed.add(c.index)
                        return c
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(c.method, c.chat_id, c.text[:60]) for c in self._calls[-8:]]
                    raise AssertionError(
                        f"no {method or 'call'} (chat_id={chat_id}, text~{text_contains!r}) within {timeout}s; "
                        f"last calls: {recent}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._calls_changed.wait(), left)

    async def no_call(self, method: str | None = None, *, chat_id: int | None = None, wait: float = 0.3) -> None:
        """Assert that no unconsumed matching call arrives within `wait` seconds."""
        try:
            c = await self.next_call(method, chat_id=chat_id, ok=None, timeout=wait)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {c.method} to {c.chat_id}: {c.text[:200]!r}")

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
        msg = {
            "message_id": next(self._message_ids[chat]),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": f"User{user_id}"},
            "from": self._user(user_id, **user_kw),
            "text": text,
        }
        if entities:
            msg["entities"] = entities
        self._messages[(chat, msg["message_id"])] = msg
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
        current = self._messages.get((chat, msg["message_id"]), msg)
        qid = str(next(self._callback_ids))
        await self.inject({"callback_query": {
            "id": qid, "from": self._user(user_id, **user_kw), "chat_instance": f"ci{chat}",
            "message": current, "data": data,
        }})
        return qid

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
            self._updates_changed.notify_all()
        return uid

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ---- HTTP ----

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await _read_params(request)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        call = Call(len(self._calls), method, params, files, time.monotonic())
        handler = getattr(self, f"_m_{method}", None)
        try:
            if handler is None:
                raise _ApiError(404, "Not Found")
            self._check_send(method, params)
            _check_limits(method, params)
            call.result = handler(params, files)
        except _ApiError as e:
            call.ok, call.error_code, call.description = False, e.code, e.description
        await self._record(call)
        if not call.ok:
            body: dict[str, Any] = {"ok": False, "error_code": call.error_code, "description": call.description}
            if call.error_code == 429 and self.rate_limit:
                body["parameters"] = {"retry_after": self.rate_limit.retry_after}
            return web.json_response(body, status=call.error_code or 400)
        return web.json_response({"ok": True, "result": call.result})

    async def _record(self, call: Call) -> None:
        for listener in self.listeners:
            listener(call)
        async with self._calls_changed:
            self._calls.append(call)
            self._calls_changed.notify_all()

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
        chat = _as_int(params.get("chat_id"))
        if method in SENDS and chat in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        rl = self.rate_limit
        if rl is None or method not in RATE_LIMITED:
            return
        now = time.monotonic()
        for q in (self._sent_all, self._sent_chat[chat]):
            while q and q[0] <= now - rl.window:
                q.popleft()
        if len(self._sent_all) >= rl.overall * rl.window or len(self._sent_chat[chat]) >= rl.per_chat * rl.window:
            raise _ApiError(429, f"Too Many Requests: retry after {rl.retry_after}")
        self._sent_all.append(now)
        self._sent_chat[chat].append(now)

    def _new_message(self, params: dict, **content) -> dict:
        chat = _as_int(params["chat_id"])
        msg = {
            "message_id": next(self._message_ids[chat]),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if isinstance(chat, int) and chat > 0 else "group"},
            "from": BOT_USER,
            **content,
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        self._messages[(chat, msg["message_id"])] = msg
        return msg

    def _find(self, params: dict, what: str) -> dict:
        key = (_as_int(params.get("chat_id")), _as_int(params.get("message_id")))
        if key not in self._messages:
            raise _ApiError(400, f"Bad Request: message to {what} not found")
        return self._messages[key]

    # ---- Bot API methods (only what our bot uses) ----

    def _m_getMe(self, params, files):
        return BOT_USER | {"can_join_groups": True, "can_read_all_group_messages": False,
                           "supports_inline_queries": False}

    def _m_deleteWebhook(self, params, files):
        return True

    def _m_close(self, params, files):
        return True

    def _m_sendMessage(self, params, files):
        if not str(params.get("text") or "").strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(str(params["text"])) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._new_message(params, text=params["text"])

    def _m_sendPhoto(self, params, files):
        photo = files.get("photo")
        if photo is None and not params.get("photo"):
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        content = {"photo": [{"file_id": f"photo{len(self._messages)}", "file_unique_id": f"u{len(self._messages)}",
                              "width": 800, "height": 600, "file_size": len(photo or b"")}]}
        if params.get("caption"):
            if len(str(params["caption"])) > 1024:
                raise _ApiError(400, "Bad Request: message caption is too long")
            content["caption"] = params["caption"]
        return self._new_message(params, **content)

    def _m_editMessageText(self, params, files):
        msg = self._find(params, "edit")
        new_markup = params.get("reply_markup")
        if msg.get("text") == params.get("text") and msg.get("reply_markup") == new_markup:
            raise _ApiError(400, NOT_MODIFIED)
        msg["text"] = params.get("text")
        msg["edit_date"] = int(time.time())
        if new_markup:
            msg["reply_markup"] = new_markup
        else:
            msg.pop("reply_markup", None)
        return msg

    def _m_editMessageReplyMarkup(self, params, files):
        msg = self._find(params, "edit")
        new_markup = params.get("reply_markup")
        if msg.get("reply_markup") == new_markup:
            raise _ApiError(400, NOT_MODIFIED)
        if new_markup:
            msg["reply_markup"] = new_markup
        else:
            msg.pop("reply_markup", None)
        return msg

    def _m_editMessageCaption(self, params, files):
        msg = self._find(params, "edit")
        if msg.get("caption") == params.get("caption"):
            raise _ApiError(400, NOT_MODIFIED)
        msg["caption"] = params.get("caption")
        return msg

    def _m_deleteMessage(self, params, files):
        msg = self._find(params, "delete")
        del self._messages[(msg["chat"]["id"], msg["message_id"])]
        return True

    def _m_answerCallbackQuery(self, params, files):
        return True

    def _m_sendChatAction(self, params, files):
        return True

    def _m_setMyCommands(self, params, files):
        scope = (params.get("scope") or {}).get("type", "default")
        self.commands[(scope, params.get("language_code") or "")] = list(params.get("commands") or [])
        return True

    def _m_getMyCommands(self, params, files):
        scope = (params.get("scope") or {}).get("type", "default")
        return self.commands.get((scope, params.get("language_code") or ""), [])

    def _m_deleteMyCommands(self, params, files):
        scope = (params.get("scope") or {}).get("type", "default")
        self.commands.pop((scope, params.get("language_code") or ""), None)
        return True

    def message_text(self, chat_id: int, message_id: int) -> str | None:
        """The current text of a message (after edits), or None once deleted."""
        msg = self._messages.get((int(chat_id), int(message_id)))
        return None if msg is None else msg.get("text", msg.get("caption"))

    def exists(self, chat_id: int, message_id: int) -> bool:
        return (int(chat_id), int(message_id)) in self._messages


class _ApiError(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def _matches(c: Call, method, chat_id, ok, text_contains) -> bool:
    return (
        (method is None or c.method == method)
        and (chat_id is None or c.chat_id == int(chat_id))
        and (ok is None or c.ok == ok)
        and (text_contains is None or text_contains.lower() in c.text.lower())
    )


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params = await request.json()
    elif request.can_read_body:
        form = await request.post()
        for k, v in form.items():
            if isinstance(v, web.FileField):
                files[k] = v.file.read()
            else:
                params[k] = v
    for k, v in list(params.items()):
        if k in JSON_FIELDS and isinstance(v, str):
            with contextlib.suppress(ValueError):
                params[k] = json.loads(v)
    # aiogram attaches uploads as attach://<name>; expose them under the field name that referenced them.
    for k, v in list(params.items()):
        if isinstance(v, str) and v.startswith("attach://") and v[len("attach://"):] in files:
            files[k] = files[v[len("attach://"):]]
    return params, files

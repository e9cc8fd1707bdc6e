"""What the embedded Bot API records, refuses and parses: calls, Telegram's limits and error shapes, form bodies."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope", "link_preview_options",
    "reply_parameters", "media",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
BLOCKED = "Forbidden: bot was blocked by the user"
CANT_EDIT = "Bad Request: message can't be edited"

# Telegram's own limits, counted in UTF-16 code units, as the real Bot API refuses them.
TEXT_LIMIT, CAPTION_LIMIT, CALLBACK_ANSWER_LIMIT = 4096, 1024, 200


class ApiError(Exception):
    """A refusal in Telegram's shape: `{"ok": false, "error_code", "description"[, "parameters"]}`."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


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
        return as_int(v) if v is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict):
            return self.result.get("message_id")
        v = self.params.get("message_id")
        return as_int(v) if v is not None else None

    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard as (text, callback_data) pairs, row by row."""
        return buttons(self.params.get("reply_markup"))

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


def buttons(markup: dict | None) -> list[tuple[str, str]]:
    return [(b.get("text", ""), b.get("callback_data", ""))
            for row in (markup or {}).get("inline_keyboard", []) for b in row]


class CallLog:
    """The calls a test reads back (`calls`, `next_call`), the newest `keep` of them (None: all; 0: none, as a
    long-running sandbox wants: its chats are kept by the chat store instead)."""

    def __init__(self, keep: int | None = None):
        self.keep = keep
        self._calls: deque[Call] = deque(maxlen=keep)
        self._consumed: set[int] = set()
        self._changed = asyncio.Condition()
        self._index = itertools.count()

    def new(self, method: str, params: dict, files: dict[str, bytes]) -> Call:
        return Call(next(self._index), method, params, files, time.monotonic())

    async def record(self, call: Call) -> None:
        if self.keep == 0:
            return
        async with self._changed:
            self._calls.append(call)
            if self.keep is not None and self._consumed:  # indices of calls pushed out are forgotten with them
                oldest = self._calls[0].index
                self._consumed = {i for i in self._consumed if i >= oldest}
            self._changed.notify_all()

    def calls(self, method: str | None = None, *, chat_id: int | None = None, ok: bool | None = None) -> list[Call]:
        return [c for c in self._calls if matches(c, method, chat_id, ok, None)]

    def drain(self) -> None:
        self._consumed.update(c.index for c in self._calls)

    async def next_call(self, method: str | None, *, chat_id: int | None, ok: bool | None,
                        text_contains: str | None, timeout: float) -> Call:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for c in self._calls:
                    if c.index not in self._consumed and matches(c, method, chat_id, ok, text_contains):
                        self._consumed.add(c.index)
                        return c
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(c.method, c.chat_id, c.text[:60]) for c in list(self._calls)[-8:]]
                    raise AssertionError(
                        f"no {method or 'call'} (chat_id={chat_id}, text~{text_contains!r}) within {timeout}s; "
                        f"last calls: {recent}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_limits(method: str, params: dict) -> None:
    if method in ("sendMessage", "editMessageText"):
        text = params.get("text") or ""
        if not str(text).strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16(str(text)) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
    if method in ("sendPhoto", "editMessageCaption") and utf16(str(params.get("caption") or "")) > CAPTION_LIMIT:
        raise ApiError(400, "Bad Request: message caption is too long")
    if method == "answerCallbackQuery" and utf16(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")


def as_int(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


def as_bool(v: Any) -> bool:
    """A form field's boolean: aiogram sends "true"/"false" as strings, JSON bodies real booleans."""
    return v is True or str(v).lower() in ("true", "1")


def matches(c: Call, method, chat_id, ok, text_contains) -> bool:
    return (
        (method is None or c.method == method)
        and (chat_id is None or c.chat_id == int(chat_id))
        and (ok is None or c.ok == ok)
        and (text_contains is None or text_contains.lower() in c.text.lower())
    )


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """aiogram POSTs multipart form data whose scalars are strings and whose nested objects are JSON strings."""
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

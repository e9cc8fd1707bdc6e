"""Each chat as a Telegram client shows it: its newest messages, their photos, the popups of answered presses, and
the subscribers told of every change (a web page builds on these)."""

from __future__ import annotations

import itertools
import logging
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

EventKind = Literal["message", "edit", "delete", "popup"]


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """A change a client would show: a new message (the user's or the bot's), an edit, a deletion, a popup."""

    kind: EventKind
    chat_id: int
    message_id: int | None = None
    message: dict | None = None  # `ChatStore.view` of the message, for "message" and "edit"
    popup: dict | None = None  # {"text", "show_alert", "ts"}, for "popup"


@dataclass(slots=True)
class Entry:
    msg: dict  # the Message object as the Bot API returns it (the same dict is edited in place)
    parse_mode: str | None = None
    caption_parse_mode: str | None = None


@dataclass
class ChatStore:
    """Bounded: `keep_messages` per chat, `keep_photos` photos (and at most `photo_bytes` of them), `keep_popups`
    per chat; the oldest go first, so a sandbox running for days holds what a client scrolls back to."""

    keep_messages: int = 500
    keep_photos: int = 200
    photo_bytes: int = 64 * 1024 * 1024
    keep_popups: int = 50
    _chats: dict[int, OrderedDict[int, Entry]] = field(default_factory=lambda: defaultdict(OrderedDict))
    _ids: dict[int, itertools.count] = field(default_factory=lambda: defaultdict(lambda: itertools.count(1)))
    _photos: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    _photo_total: int = 0
    _photo_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _popups: dict[int, deque[dict]] = field(default_factory=dict)
    _subscribers: list[Callable[[ChatEvent], Any]] = field(default_factory=list)

    # ---- subscribers ----

    def subscribe(self, fn: Callable[[ChatEvent], Any]) -> Callable[[], None]:
        """`fn(event)` on every change, on the server's event loop (keep it quick: queue, do not await); returns
        the function that unsubscribes it."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def _tell(self, event: ChatEvent) -> None:
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:  # a broken page must not fail the bot's request
                log.exception("a sandbox chat subscriber failed on %s", event.kind)

    # ---- messages ----

    def next_id(self, chat: int) -> int:
        return next(self._ids[chat])

    def add(self, msg: dict, *, parse_mode: str | None = None, caption_parse_mode: str | None = None) -> None:
        chat = msg["chat"]["id"]
        messages = self._chats[chat]
        messages[msg["message_id"]] = Entry(msg, parse_mode, caption_parse_mode)
        while len(messages) > self.keep_messages:
            messages.popitem(last=False)
        self._tell(ChatEvent("message", chat, msg["message_id"], self.view(messages[msg["message_id"]])))

    def get(self, chat: int, message_id: int) -> Entry | None:
        messages = self._chats.get(chat)
        return None if messages is None else messages.get(message_id)

    def edited(self, entry: Entry) -> None:
        chat = entry.msg["chat"]["id"]
        self._tell(ChatEvent("edit", chat, entry.msg["message_id"], self.view(entry)))

    def delete(self, chat: int, message_id: int) -> bool:
        messages = self._chats.get(chat)
        if messages is None or messages.pop(message_id, None) is None:
            return False
        self._tell(ChatEvent("delete", chat, message_id))
        return True

    def messages(self, chat: int) -> list[dict]:
        return [self.view(e) for e in self._chats.get(chat, {}).values()]

    def chat_ids(self) -> list[int]:
        return [c for c, m in self._chats.items() if m]

    @staticmethod
    def view(entry: Entry) -> dict:
        """A message as a page shows it: who sent it, its text or caption with parse mode and entities, its inline
        keyboard and photo (a file id for `photo()`)."""
        m = entry.msg
        sender = m.get("from") or {}
        photo = m.get("photo")
        return {
            "message_id": m["message_id"], "chat_id": m["chat"]["id"], "from_bot": bool(sender.get("is_bot")),
            "from_id": sender.get("id"), "date": m.get("date"), "edit_date": m.get("edit_date"),
            "text": m.get("text"), "entities": m.get("entities"), "parse_mode": entry.parse_mode,
            "caption": m.get("caption"), "caption_entities": m.get("caption_entities"),
            "caption_parse_mode": entry.caption_parse_mode, "reply_markup": m.get("reply_markup"),
            "photo": photo[-1]["file_id"] if photo else None,
        }

    # ---- photos ----

    def put_photo(self, data: bytes) -> str:
        file_id = f"sandbox-photo-{next(self._photo_ids)}"
        self._photos[file_id] = data
        self._photo_total += len(data)
        while self._photos and (len(self._photos) > self.keep_photos or self._photo_total > self.photo_bytes):
            _old, gone = self._photos.popitem(last=False)
            self._photo_total -= len(gone)
        return file_id

    def has_photo(self, file_id: str) -> bool:
        return file_id in self._photos

    def photo(self, file_id: str) -> bytes:
        """The uploaded bytes (KeyError once pushed out by newer photos)."""
        return self._photos[file_id]

    # ---- popups ----

    def popup(self, chat: int, text: str, show_alert: bool) -> None:
        popup = {"text": text, "show_alert": show_alert, "ts": time.time()}
        self._popups.setdefault(chat, deque(maxlen=self.keep_popups)).append(popup)
        self._tell(ChatEvent("popup", chat, popup=popup))

    def popups(self, chat: int) -> list[dict]:
        return list(self._popups.get(chat, ()))

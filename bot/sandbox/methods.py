"""The Bot API methods the bot uses, answered as Telegram answers them (results and refusals), on a ChatStore."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from bot.sandbox.calls import BLOCKED, CANT_EDIT, NOT_MODIFIED, ApiError, as_bool, as_int
from bot.sandbox.chats import ChatStore, Entry

BOT_USER = {"id": 42, "is_bot": True, "first_name": "TradingBoost", "username": "tradingboost_test_bot"}
QUERY_GONE = "Bad Request: query is too old and response timeout expired or query ID is invalid"
KEEP_QUERIES = 1000  # callback queries waiting for their answer (Telegram forgets them after ~15 s anyway)


class BotMethods:
    """Mixed into BotAPIStandIn: `_m_<method>(params, files)` returns the result or raises ApiError."""

    chats: ChatStore
    blocked: set[int]
    commands: dict[tuple[str, str], list[dict]]
    _queries: OrderedDict[str, int]  # callback query id -> chat, until answered

    def _new_message(self, params: dict, **content: Any) -> dict:
        chat = as_int(params["chat_id"])
        if not isinstance(chat, int):
            raise ApiError(400, "Bad Request: chat not found")
        msg = {
            "message_id": self.chats.next_id(chat),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": BOT_USER,
            **{k: v for k, v in content.items() if v},
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        self.chats.add(msg, parse_mode=params.get("parse_mode") if "text" in content else None,
                       caption_parse_mode=params.get("parse_mode") if "caption" in content else None)
        return msg

    def _find(self, params: dict, what: str) -> Entry:
        entry = self.chats.get(as_int(params.get("chat_id")), as_int(params.get("message_id")))
        if entry is None:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        return entry

    def _editable(self, params: dict) -> Entry:
        entry = self._find(params, "edit")
        if not (entry.msg.get("from") or {}).get("is_bot"):  # a bot edits only its own messages
            raise ApiError(400, CANT_EDIT)
        return entry

    def _m_getMe(self, params, files):
        return BOT_USER | {"can_join_groups": True, "can_read_all_group_messages": False,
                           "supports_inline_queries": False}

    def _m_deleteWebhook(self, params, files):
        return True

    def _m_close(self, params, files):
        return True

    def _m_sendMessage(self, params, files):
        return self._new_message(params, text=params["text"], entities=params.get("entities"))

    def _m_sendPhoto(self, params, files):
        data, ref = files.get("photo"), params.get("photo")
        if data is not None:
            file_id = self.chats.put_photo(data)
        elif isinstance(ref, str) and self.chats.has_photo(ref):  # a file id sent again
            file_id, data = ref, self.chats.photo(ref)
        elif ref:  # the sandbox has no internet to fetch a URL from
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        else:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        photo = [{"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 800, "height": 600,
                  "file_size": len(data)}]
        return self._new_message(params, photo=photo, caption=params.get("caption"),
                                 caption_entities=params.get("caption_entities"))

    def _m_editMessageText(self, params, files):
        entry = self._editable(params)
        msg = entry.msg
        if "text" not in msg:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        new_markup = params.get("reply_markup") or None
        if (msg.get("text") == params.get("text") and msg.get("reply_markup") == new_markup
                and msg.get("entities") == params.get("entities")):
            raise ApiError(400, NOT_MODIFIED)
        msg["text"] = params.get("text")
        _put(msg, "entities", params.get("entities"))
        _put(msg, "reply_markup", new_markup)
        msg["edit_date"] = int(time.time())
        entry.parse_mode = params.get("parse_mode")
        self.chats.edited(entry)
        return msg

    def _m_editMessageReplyMarkup(self, params, files):
        entry = self._editable(params)
        new_markup = params.get("reply_markup") or None
        if entry.msg.get("reply_markup") == new_markup:
            raise ApiError(400, NOT_MODIFIED)
        _put(entry.msg, "reply_markup", new_markup)
        entry.msg["edit_date"] = int(time.time())
        self.chats.edited(entry)
        return entry.msg

    def _m_editMessageCaption(self, params, files):
        entry = self._editable(params)
        msg = entry.msg
        if "photo" not in msg:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        new_markup = params.get("reply_markup") or None
        if msg.get("caption") == (params.get("caption") or None) and msg.get("reply_markup") == new_markup:
            raise ApiError(400, NOT_MODIFIED)
        _put(msg, "caption", params.get("caption") or None)
        _put(msg, "caption_entities", params.get("caption_entities"))
        _put(msg, "reply_markup", new_markup)
        msg["edit_date"] = int(time.time())
        entry.caption_parse_mode = params.get("parse_mode")
        self.chats.edited(entry)
        return msg

    def _m_deleteMessage(self, params, files):
        entry = self._find(params, "delete")
        self.chats.delete(entry.msg["chat"]["id"], entry.msg["message_id"])
        return True

    def _m_answerCallbackQuery(self, params, files):
        chat = self._queries.pop(str(params.get("callback_query_id")), None)
        if chat is None:
            raise ApiError(400, QUERY_GONE)
        text = str(params.get("text") or "")
        if text:
            self.chats.popup(chat, text, as_bool(params.get("show_alert")))
        return True

    def _m_sendChatAction(self, params, files):
        if as_int(params.get("chat_id")) in self.blocked:
            raise ApiError(403, BLOCKED)
        return True

    def _m_setMyCommands(self, params, files):
        self.commands[_scope(params)] = list(params.get("commands") or [])
        return True

    def _m_getMyCommands(self, params, files):
        return self.commands.get(_scope(params), [])

    def _m_deleteMyCommands(self, params, files):
        self.commands.pop(_scope(params), None)
        return True


def _scope(params: dict) -> tuple[str, str]:
    return (params.get("scope") or {}).get("type", "default"), params.get("language_code") or ""


def _put(msg: dict, key: str, value: Any) -> None:
    if value:
        msg[key] = value
    else:
        msg.pop(key, None)

"""The sandbox's web chat: the page, its static files and the JSON API it speaks, on the Bot API's aiohttp app.

Routes (all under the app the embedded Bot API serves, so one port)::

    GET  /                              the page (bot/sandbox/static/index.html)
    GET  /static/{file}                 chat.css, chat.js
    GET  /api/session                   the simulated users, the page's labels (en, ko), whether a clock is shown
    GET  /api/updates?user=&since=&wait=  long-poll: waits until any chat changed after `since` (at most `wait` s),
                                        then the user's chat: messages changed since, the ids still shown, new popups,
                                        every chat's version (the page marks the other users' unread chats)
    POST /api/send   {user, text}       the user types a message or a command
    POST /api/press  {user, message_id, data}   the user presses an inline button (409 once it is gone)
    GET  /api/photos/{file_id}          a photo the bot sent (a backtest chart)
    GET  /api/menu?lang=                the command menu set by setMyCommands for a client in that language
    GET  /api/clock, POST /api/clock {speed}    market time and replay speed, when a clock control is given

The page never receives HTML from the bot: bot/sandbox/chat_view.py turns texts into node trees. Requests must name
this machine (`Host` an IP address or localhost, so a web page reached through a rebound DNS name cannot drive it);
a POST must be JSON from the page's own origin (no cross-site form can send one).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.i18n import LANGUAGES, LOCALES_DIR, read_catalogue
from bot.sandbox import chat_view
from bot.sandbox.users import USERS, SandboxUser, user

STATIC = Path(__file__).resolve().parent / "static"
SPEEDS = (0, 1, 60, 600)
WAIT_MAX = 25.0  # seconds a long-poll may hold
KEEP_POPUPS = 20
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGE_KEY = web.AppKey("sandbox_page", object)


class ClockControl(Protocol):
    """The replay clock as the page drives it: speed 0 is paused."""

    speed: float

    def set_speed(self, speed: float) -> None: ...

    def now_ms(self) -> int: ...


class Feed:
    """Versions of the chats, for the long-poll: one counter over every change, the version each message last
    changed at, the popups with theirs, and the requests waiting for a change."""

    def __init__(self, api: Any):
        self.api = api
        self._seq = itertools.count(1)
        self.now = 0  # the newest version given out
        self.chat_v: dict[int, int] = defaultdict(int)
        self.msg_v: dict[int, dict[int, int]] = defaultdict(dict)
        self.popups: dict[int, deque[tuple[int, dict]]] = defaultdict(lambda: deque(maxlen=KEEP_POPUPS))
        self._waiters: set[asyncio.Future] = set()
        api.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        v = self.now = next(self._seq)
        chat = int(event.chat_id)
        self.chat_v[chat] = v
        if event.kind in ("message", "edit") and event.message_id is not None:
            self.msg_v[chat][int(event.message_id)] = v
        elif event.kind == "delete" and event.message_id is not None:
            self.msg_v[chat].pop(int(event.message_id), None)
        elif event.kind == "popup" and event.popup:
            self.popups[chat].append((v, dict(event.popup)))
        for f in self._waiters:
            if not f.done():
                f.set_result(None)
        self._waiters.clear()

    async def wait(self, since: int, timeout: float) -> None:
        """Return once something changed after version `since`, or after `timeout` seconds."""
        if self.now > since or timeout <= 0:
            return
        f = asyncio.get_running_loop().create_future()
        self._waiters.add(f)
        try:
            await asyncio.wait_for(f, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(f)

    def chat(self, chat: int, since: int) -> dict:
        """What the page needs to bring chat `chat` from version `since` to now (since 0: everything)."""
        views = self.api.chat_messages(chat)
        versions = self.msg_v[chat]
        shown = {v["message_id"] for v in views}
        if len(versions) > 2 * len(shown) + 100:  # messages pushed out of the store's bound are forgotten here too
            self.msg_v[chat] = versions = {k: x for k, x in versions.items() if k in shown}
        changed = [chat_view.message(v, versions.get(v["message_id"], 0)) for v in views
                   if since == 0 or versions.get(v["message_id"], 0) > since]
        popups = [{"v": v, **p} for v, p in self.popups.get(chat, ()) if since and v > since]
        return {"v": self.now, "ids": [v["message_id"] for v in views], "messages": changed, "popups": popups,
                "chats": {str(u.id): self.chat_v.get(u.id, 0) for u in USERS}}


def labels() -> dict[str, dict[str, str]]:
    """The page's own words, from locales/<lang>/LC_MESSAGES/webchat.po (keys `webchat.*`, prefix dropped)."""
    out = {}
    for lang in LANGUAGES:
        cat = read_catalogue(LOCALES_DIR / lang, lang)
        out[lang] = {m.id[len("webchat."):]: m.string for m in cat if isinstance(m.id, str)
                     and m.id.startswith("webchat.")}
    return out


def _local_host(request: web.Request) -> bool:
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin in (f"http://{request.host}", f"https://{request.host}")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guard(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not _local_host(request):
            return web.json_response({"error": "host"}, status=403)
        if request.method == "POST" and (request.content_type != "application/json" or not _same_origin(request)):
            return web.json_response({"error": "origin"}, status=403)
        response = await handler(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    return guarded


def _who(raw: Any) -> SandboxUser:
    try:
        return user(int(raw))
    except (KeyError, TypeError, ValueError):
        raise web.HTTPNotFound(text=json.dumps({"error": "user"}), content_type="application/json") from None


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body"}), content_type="application/json")
    return body


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


class Page:
    """The handlers, holding the Bot API, the feed and the clock control."""

    def __init__(self, api: Any, clock: ClockControl | None):
        self.api, self.clock = api, clock
        self.feed = Feed(api)
        self.labels = labels()

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": CSP,
                                                                "Content-Type": "text/html; charset=utf-8"})

    async def session(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({
            "users": [{"id": u.id, "name": u.first_name, "admin": u.admin, "language": u.language_code}
                      for u in USERS],
            "labels": self.labels, "clock": self.clock is not None, "speeds": list(SPEEDS),
        })

    async def updates(self, request: web.Request) -> web.StreamResponse:
        who = _who(request.query.get("user"))
        try:
            since = max(0, int(request.query.get("since", "0")))
            wait = min(WAIT_MAX, max(0.0, float(request.query.get("wait", "0"))))
        except ValueError:
            raise web.HTTPBadRequest(text=json.dumps({"error": "since"}), content_type="application/json") from None
        if since > self.feed.now:  # a version from before this server started: start over
            since = 0
        await self.feed.wait(since, wait)
        return web.json_response(self.feed.chat(who.id, since))

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        who = _who(body.get("user"))
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            return web.json_response({"error": "text"}, status=400)
        msg = await self.api.send_text(who, text)
        return web.json_response({"ok": True, "message_id": msg["message_id"]})

    async def press(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        who = _who(body.get("user"))
        try:
            mid, data = int(body.get("message_id")), str(body.get("data"))
        except (TypeError, ValueError):
            return web.json_response({"error": "button"}, status=400)
        try:
            await self.api.press(who, who.id, mid, data)
        except ValueError:
            return web.json_response({"error": "gone"}, status=409)
        return web.json_response({"ok": True})

    async def photo(self, request: web.Request) -> web.StreamResponse:
        try:
            data = self.api.photo(request.match_info["file_id"])
        except KeyError:
            return web.json_response({"error": "photo"}, status=404)
        return web.Response(body=data, content_type=_image_type(data),
                            headers={"Cache-Control": "private, max-age=86400, immutable"})

    async def menu(self, request: web.Request) -> web.StreamResponse:
        lang = request.query.get("lang") or None
        cmds = [{"command": str(c.get("command", "")), "description": str(c.get("description", ""))}
                for c in self.api.menu(lang)]
        return web.json_response({"commands": cmds})

    async def clock_state(self, request: web.Request) -> web.StreamResponse:
        if self.clock is None:
            return web.json_response({"error": "clock"}, status=404)
        if request.method == "POST":
            body = await _body(request)
            speed = body.get("speed")
            if isinstance(speed, bool) or speed not in SPEEDS:
                return web.json_response({"error": "speed"}, status=400)
            self.clock.set_speed(speed)
        return web.json_response({"speed": self.clock.speed, "now_ms": self.clock.now_ms()})


def add_routes(app: web.Application, api: Any, *, clock_control: ClockControl | None = None) -> None:
    """Serve the web chat of `api` (bot/sandbox/bot_api.py) on `app`; `clock_control` (speed, set_speed, now_ms)
    adds the market time and the speed buttons, None shows none."""
    page = Page(api, clock_control)
    app[PAGE_KEY] = page
    r = app.router
    r.add_get("/", _guard(page.index))
    r.add_get("/api/session", _guard(page.session))
    r.add_get("/api/updates", _guard(page.updates))
    r.add_post("/api/send", _guard(page.send))
    r.add_post("/api/press", _guard(page.press))
    r.add_get("/api/photos/{file_id}", _guard(page.photo))
    r.add_get("/api/menu", _guard(page.menu))
    r.add_get("/api/clock", _guard(page.clock_state))
    r.add_post("/api/clock", _guard(page.clock_state))
    r.add_static("/static", STATIC, follow_symlinks=False, append_version=False)

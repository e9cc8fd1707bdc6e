"""Telegram's push side for webhook tests: the Bot API stand-in that, once the bot called setWebhook, POSTs updates.

    push = await TelegramPush(replicas=["http://127.0.0.1:8001", "http://127.0.0.1:8002"]).start()
    # replicas run aiogram with TELEGRAM_API_URL=push.base_url and call setWebhook(url, secret_token=...) on start
    await push.webhook_set.wait()
    await push.send_command(111, "/start")       # the stand-in's update builders, now delivered over HTTP
    reply = await push.next_call("sendMessage", chat_id=111)
    push.deliveries                              # every attempt: update id, chat, replica, HTTP status or error

As Telegram does: one chat's updates go one at a time, the next only after the replica answered the previous one
(other chats meanwhile, up to `max_connections` requests at once); each request carries the secret in
X-Telegram-Bot-Api-Secret-Token; a request that fails (refused connection, timeout, non-2xx) is sent again, after
`retry_delay`, until `max_attempts`. Like a load balancer in front of the replicas, requests go round-robin to
`replicas` (per request, not per chat), so a retry lands on another replica; the path is the webhook URL's. A reply
that carries a method (aiogram's webhook answer) is executed as Telegram would, through the stand-in's own HTTP API.
The bot's outgoing calls (sendMessage...) are recorded by BotAPIStandIn as in the polling tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.sandbox.bot_api import BotAPIStandIn

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Delivery:
    """One POST of an update to a replica."""

    update_id: int
    chat_id: int
    replica: str
    started: float
    ended: float
    status: int | None  # the HTTP status, None when no answer came
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def chat_of(update: dict) -> int:
    """The chat an update belongs to (what Telegram orders by): a message's chat, a button's message's chat, else
    the sender."""
    if "message" in update:
        return int(update["message"]["chat"]["id"])
    body = next(v for k, v in update.items() if k != "update_id")
    if isinstance(body.get("message"), dict):
        return int(body["message"]["chat"]["id"])
    return int(body["from"]["id"])


class TelegramPush(BotAPIStandIn):
    def __init__(self, *, replicas: list[str] | None = None, max_connections: int = 40, retry_delay: float = 0.05,
                 max_attempts: int = 50, request_timeout: float = 60.0, **kw: Any):
        super().__init__(**kw)
        self.replicas: list[str] = list(replicas or [])
        self.retry_delay, self.max_attempts, self.request_timeout = retry_delay, max_attempts, request_timeout
        self.webhook: dict[str, Any] = {}
        self.webhook_set = asyncio.Event()
        self.deliveries: list[Delivery] = []
        self.undelivered: list[dict] = []  # updates given up after max_attempts
        self._round_robin = itertools.count()
        self._slots = asyncio.Semaphore(max_connections)
        self._queues: dict[int, deque[dict]] = defaultdict(deque)
        self._senders: dict[int, asyncio.Task] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._http: aiohttp.ClientSession | None = None

    async def stop(self) -> None:
        for task in self._senders.values():
            task.cancel()
        for task in list(self._senders.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()
        await super().stop()

    # ---- the webhook methods the bot calls ----

    def _m_setWebhook(self, params, files):
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates"),
                        "drop_pending_updates": params.get("drop_pending_updates")}
        self.webhook_set.set()
        return True

    def _m_deleteWebhook(self, params, files):
        self.webhook = {}
        self.webhook_set.clear()
        return True

    def _m_getWebhookInfo(self, params, files):
        pending = sum(len(q) for q in self._queues.values())
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": pending}

    # ---- pushing ----

    async def inject(self, update_body: dict) -> int:
        """With a webhook set, queue the update for its chat's sender; without one, keep it for getUpdates."""
        if not self.webhook:
            return await super().inject(update_body)
        uid = next(self._update_ids)
        update = {"update_id": uid, **update_body}
        chat = chat_of(update)
        self._queues[chat].append(update)
        self._idle.clear()
        if chat not in self._senders:
            self._senders[chat] = asyncio.create_task(self._send_chat(chat), name=f"push-{chat}")
        return uid

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every queued update was answered by a replica (or given up)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def handled_by(self, update_id: int) -> str | None:
        """The replica whose answer ended the update's delivery."""
        return next((d.replica for d in self.deliveries if d.update_id == update_id and d.ok), None)

    async def _send_chat(self, chat: int) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                update = queue[0]
                for _ in range(self.max_attempts):
                    if await self._deliver(chat, update):
                        break
                    await asyncio.sleep(self.retry_delay)
                else:
                    self.undelivered.append(update)
                queue.popleft()
        finally:
            del self._senders[chat]
            if not self._senders:
                self._idle.set()

    async def _deliver(self, chat: int, update: dict) -> bool:
        if not self.replicas:
            raise AssertionError("TelegramPush has no replica to deliver to")
        replica = self.replicas[next(self._round_robin) % len(self.replicas)]
        url = replica.rstrip("/") + (urlsplit(self.webhook["url"]).path or "/")
        headers = {SECRET_HEADER: self.webhook["secret_token"]} if self.webhook.get("secret_token") else {}
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.request_timeout))
        started = time.monotonic()
        status, error = None, None
        async with self._slots:
            try:
                async with self._http.post(url, json=update, headers=headers) as resp:
                    status = resp.status
                    if resp.ok:
                        await self._run_reply_method(resp)
                    else:
                        error = (await resp.text())[:200]
            except (aiohttp.ClientError, TimeoutError) as e:
                error = f"{type(e).__name__}: {e}"
        d = Delivery(update["update_id"], chat, replica, started, time.monotonic(), status, error)
        self.deliveries.append(d)
        return d.ok

    async def _run_reply_method(self, resp: aiohttp.ClientResponse) -> None:
        """aiogram may answer a webhook request with a method to run (multipart form with a `method` field)."""
        if not resp.content_type.startswith("multipart/"):
            await resp.read()
            return
        form = aiohttp.FormData()
        method = None
        reader = aiohttp.MultipartReader.from_response(resp)
        while (part := await reader.next()) is not None:
            name = part.name  # type: ignore[union-attr]
            value = await part.read()  # type: ignore[union-attr]
            if name == "method":
                method = value.decode()
            elif part.filename:  # type: ignore[union-attr]
                form.add_field(name, value, filename=part.filename)  # type: ignore[union-attr]
            else:
                form.add_field(name, value.decode())
        if method:
            assert self._http is not None
            async with self._http.post(f"{self.base_url}/bot{self.token}/{method}", data=form) as r:
                await r.read()

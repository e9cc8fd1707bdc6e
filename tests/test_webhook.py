"""Webhook mode: Telegram's pushes checked by their secret and answered only once handled; two replicas as separate
processes share a dialog through Redis, keep a chat's order, and one of them dies (kill -9) in the middle of it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from bot.app import make_bot
from bot.dispatcher import build_dispatcher
from bot.startup import StartupError
from bot.webhook import SECRET_HEADER, check_secret, serve_updates, serve_webhook
from db.config import AppConfig
from db.models import ExchangeAccount, StrategyBot, User
from db.vault import Vault
from tests.conftest import migrated_database
from tests.fakes.telegram_fixtures import FakeEngine
from tests.fakes.webhook_push import TelegramPush

ROOT = Path(__file__).resolve().parents[1]
SECRET = "wh-Secret_" + uuid.uuid4().hex
PUBLIC_URL = "https://bot.example.com/telegram/updates"  # what setWebhook registers; the push maps its path
REDIS_URL = "redis://127.0.0.1:6379/14"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _update(uid: int, user: int, text: str) -> dict:
    return {"update_id": uid, "message": {
        "message_id": uid, "date": int(time.time()), "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        "chat": {"id": user, "type": "private", "first_name": "U"},
        "from": {"id": user, "is_bot": False, "first_name": "U"}}}


# ---- one replica in this process ----


async def test_the_secret_is_checked_and_the_answer_waits_for_the_handler(db, caplog):
    caplog.set_level(logging.DEBUG)
    port = _free_port()
    push = await TelegramPush(replicas=[f"http://127.0.0.1:{port}"]).start()
    dp = build_dispatcher(vault=Vault([Fernet.generate_key().decode()]), engine=FakeEngine(), throttle_rate=100.0,
                          throttle_burst=200)
    bot = make_bot(AppConfig(BOT_TOKEN=push.token, TELEGRAM_API_URL=push.base_url))
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_webhook(dp, bot, url=PUBLIC_URL, secret=SECRET, host="127.0.0.1", port=port,
                                                stop=stop, handle_signals=False))
    try:
        registered = await push.next_call("setWebhook", timeout=15)
        assert registered.params["url"] == PUBLIC_URL and registered.params["secret_token"] == SECRET
        assert sorted(registered.params["allowed_updates"]) == sorted(dp.resolve_used_update_types())
        assert registered.params.get("drop_pending_updates") in (None, False, "false")

        u = 9101
        hook = f"http://127.0.0.1:{port}/telegram/updates"
        async with aiohttp.ClientSession() as http:
            for headers in ({SECRET_HEADER: "wrong-" + SECRET}, {}, {SECRET_HEADER: SECRET[:-1]}):
                async with http.post(hook, json=_update(900, u, "/start"), headers=headers) as r:
                    assert r.status == 401
        await push.no_call(chat_id=u, wait=0.5)
        assert await User.get_or_none(telegram_id=u) is None  # no middleware, no handler ran

        await push.send_command(u, "/start")
        await push.wait_idle()
        reply = await push.next_call("sendMessage", chat_id=u)
        assert "language" in reply.text.lower()
        [delivery] = push.deliveries
        assert delivery.status == 200
        assert delivery.started < reply.ts < delivery.ended  # answered after the handler's own reply went out
        assert await User.get_or_none(telegram_id=u) is not None
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
        await push.stop()
    assert push.webhook["url"] == PUBLIC_URL  # a replica stopping leaves the webhook to the others
    assert SECRET not in caplog.text and SECRET[:16] not in caplog.text


async def test_a_stopping_replica_lets_the_update_in_flight_finish_before_closing(db):
    """Told to stop (SIGTERM) while an update is being handled: the update finishes and is answered before the
    dispatcher's shut-down hooks close the Redis FSM storage, the users' locks and the Bot's session (aiohttp runs
    an application's shut-down hooks before it waits for the requests in flight)."""
    port = _free_port()
    push = await TelegramPush(replicas=[f"http://127.0.0.1:{port}"]).start()
    prefix = f"fsm-stop-{uuid.uuid4().hex[:8]}"
    dp = build_dispatcher(vault=Vault([Fernet.generate_key().decode()]), engine=FakeEngine(), redis_url=REDIS_URL,
                          fsm_prefix=prefix)
    entered, gate, seen = asyncio.Event(), asyncio.Event(), []

    async def held(handler, event, data):  # inside the user's lock
        entered.set()
        await gate.wait()
        try:
            return await handler(event, data)
        finally:
            seen.append("handled")

    async def closing() -> None:
        seen.append("shut-down hooks")

    dp.update.outer_middleware(held)
    dp.shutdown.register(closing)
    bot = make_bot(AppConfig(BOT_TOKEN=push.token, TELEGRAM_API_URL=push.base_url))
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_webhook(dp, bot, url=PUBLIC_URL, secret=SECRET, host="127.0.0.1", port=port,
                                                stop=stop, handle_signals=False))
    redis = Redis.from_url(REDIS_URL)
    try:
        await push.next_call("setWebhook", timeout=15)
        u = 9104
        await push.send_command(u, "/help")
        await asyncio.wait_for(entered.wait(), 10)
        stop.set()
        await asyncio.sleep(0.5)
        gate.set()
        await asyncio.wait_for(serving, 30)
        assert seen == ["handled", "shut-down hooks"]
        await push.wait_idle()
        assert [d.status for d in push.deliveries] == [200]
        await push.next_call("sendMessage", chat_id=u, timeout=1)
        assert await redis.keys(f"{prefix}*lock") == []
    finally:
        gate.set()
        stop.set()
        await asyncio.wait_for(serving, 30)  # after a failed assertion too: no replica left serving the next test
        for k in await redis.keys(f"{prefix}*"):
            await redis.delete(k)
        await redis.aclose()
        await push.stop()


async def test_a_second_sigterm_while_a_replica_stops_leaves_the_update_in_flight_to_finish(tmp_path):
    """SIGTERM twice (make forwards the one it got; an operator sends another) while an update is being handled:
    the replica still answers it and exits cleanly. Its handlers used to be removed before the wait for the
    requests in flight, so the second SIGTERM killed it there."""
    port = _free_port()
    push = await TelegramPush(replicas=[f"http://127.0.0.1:{port}"], max_attempts=3).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "WEBHOOK_"))}
    env.update({"BOT_TOKEN": push.token, "TELEGRAM_API_URL": push.base_url, "WEBHOOK_URL": PUBLIC_URL,
                "WEBHOOK_SECRET": SECRET, "WEBHOOK_PORT": str(port), "TB_HANDLER_S": "1.5", "PYTHONPATH": str(ROOT)})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.webhook_slow_child", cwd=tmp_path,
                                                env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"serving\n"
        u = 9105
        await push.send_command(u, "/help")
        assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"handling\n"
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)  # stopping: waiting for the update in flight
        proc.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(proc.stdout.read(), 30)).decode()
        assert await asyncio.wait_for(proc.wait(), 30) == 0, rest
        await push.wait_idle()
        assert [d.status for d in push.deliveries] == [200], rest
        assert (await push.next_call("sendMessage", chat_id=u, timeout=1)).text == "done"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await push.stop()


def test_a_webhook_needs_a_secret_of_telegrams_shape():
    for bad in (None, "", "has space", "x" * 257, "ünicode"):
        with pytest.raises(StartupError) as e:
            check_secret(bad)
        assert e.value.code == 2 and (not bad or bad not in str(e.value))
    assert check_secret(SECRET) == SECRET


async def test_without_webhook_url_the_bot_polls_and_drops_a_left_webhook(db):
    push = await TelegramPush().start()
    push.webhook = {"url": PUBLIC_URL, "secret_token": SECRET}  # left by an earlier webhook run
    dp = build_dispatcher(vault=Vault([Fernet.generate_key().decode()]), engine=FakeEngine())
    config = AppConfig(BOT_TOKEN=push.token, TELEGRAM_API_URL=push.base_url, WEBHOOK_URL="")
    serving = asyncio.create_task(serve_updates(dp, make_bot(config), config, polling_concurrency=4))
    try:
        dropped = await push.next_call("deleteWebhook", timeout=15)
        assert dropped.params.get("drop_pending_updates") in (None, False, "false")
        await push.send_command(9102, "/start")  # no webhook now: kept for getUpdates
        assert "language" in (await push.next_call("sendMessage", chat_id=9102, timeout=15)).text.lower()
        assert push.deliveries == []
    finally:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        await asyncio.wait_for(serving, 30)
        await push.stop()


# ---- two replicas as processes, on PostgreSQL and Redis ----


@pytest.fixture
async def pg_url(db_templates, tmp_path):
    """A migrated PostgreSQL database of its own, connected here too."""
    async with migrated_database("postgres", db_templates, tmp_path, "webhook") as url:
        yield url


class Replicas:
    """Webhook replicas (tests/webhook_child.py) as child processes."""

    def __init__(self, tmp: Path, env: dict[str, str]):
        self.tmp, self.env = tmp, env
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.urls: dict[str, str] = {}

    async def start(self, name: str) -> str:
        port = _free_port()
        out = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.webhook_child", name, cwd=self.tmp, stdout=out, stderr=out,
            env={**self.env, "WEBHOOK_PORT": str(port), "PYTHONPATH": str(ROOT)})
        self.urls[name] = f"http://127.0.0.1:{port}"
        return self.urls[name]

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def kill(self, name: str) -> None:
        os.kill(self.procs[name].pid, signal.SIGKILL)

    async def stop(self) -> None:
        for p in self.procs.values():
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                await asyncio.wait_for(p.wait(), 20)
            except TimeoutError:
                p.kill()
                await p.wait()


async def test_two_replicas_share_a_dialog_and_one_dies_in_the_middle(pg_url, tmp_path):
    prefix = f"fsm-wh-{uuid.uuid4().hex[:10]}"
    push = await TelegramPush().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "WEBHOOK_"))}
    env |= {"BOT_TOKEN": push.token, "TELEGRAM_API_URL": push.base_url, "DATABASE_URL": pg_url,
            "REDIS_URL": REDIS_URL, "WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1",
            "TB_FSM_PREFIX": prefix, "TB_VAULT_KEY": Fernet.generate_key().decode()}
    replicas = Replicas(tmp_path, env)
    redis = Redis.from_url(REDIS_URL)
    try:
        push.replicas = [await replicas.start("a"), await replicas.start("b")]
        name_of = {url: name for name, url in replicas.urls.items()}
        deadline = time.monotonic() + 90
        while len(push.calls("setWebhook")) < 2:  # each replica registers once it listens
            dead = [n for n, p in replicas.procs.items() if p.returncode is not None]
            assert not dead and time.monotonic() < deadline, "\n".join(replicas.log(n) for n in replicas.procs)
            await asyncio.sleep(0.1)
        assert {c.params["secret_token"] for c in push.calls("setWebhook")} == {SECRET}

        u = 9201
        calls_seen = 0

        async def step(action) -> list:
            """One user action; the bot's calls to this chat it caused (the push waits for each answer)."""
            nonlocal calls_seen
            await action
            await push.wait_idle()
            new = push.calls(chat_id=u)[calls_seen:]
            calls_seen += len(new)
            assert new, "no reply"
            return new

        def last(calls: list, method: str):
            return [c for c in calls if c.method == method and c.ok][-1]

        # /start → English → accept, the updates alternating between the replicas
        choose = last(await step(push.send_command(u, "/start")), "sendMessage")
        risk = last(await step(push.click(u, choose, choose.button_data("English"))), "editMessageText")
        await step(push.click(u, risk, risk.buttons()[0][1]))

        # a burst of commands, sent at once: answered in their order, one at a time, across both replicas
        burst = ["/help", "/status", "/help", "/status", "/help", "/status"]
        for text in burst:
            await push.send_command(u, text)
        await push.wait_idle()
        replies = [c.text for c in push.calls("sendMessage", chat_id=u)[-len(burst):]]
        calls_seen = len(push.calls(chat_id=u))
        assert "/notifications" in replies[0] and replies[0] != replies[1]
        assert replies == [replies[i % 2] for i in range(len(burst))], replies

        # the accounts dialog up to the typed balance (a waiting FSM state)
        menu = last(await step(push.send_command(u, "/start")), "sendMessage")
        accounts = last(await step(push.click(u, menu, menu.button_data("Accounts"))), "editMessageText")
        market = last(await step(push.click(u, accounts, accounts.button_data("Paper account"))), "editMessageText")
        await step(push.click(u, market, market.button_data("Perpetual swap")))
        waiting = push.deliveries[-1].update_id
        victim = name_of[push.handled_by(waiting)]
        survivor = "b" if victim == "a" else "a"
        assert await redis.keys(f"{prefix}:42:{u}:{u}:default:state"), "the FSM state is not in Redis"

        # kill -9 the replica that set the state; the survivor takes the dialog where the user was
        replicas.kill(victim)
        await replicas.procs[victim].wait()
        added = last(await step(push.send_message(u, "25,000")), "sendMessage")
        assert "paper-swap" in added.text and "25000 USDT" in added.text, added.text
        menu = last(await step(push.click(u, added, added.button_data("Main menu"))), "editMessageText")
        grids = last(await step(push.click(u, menu, menu.button_data("GRID"))), "editMessageText")
        pick_acc = last(await step(push.click(u, grids, grids.button_data("New bot"))), "editMessageText")
        pick_sym = last(await step(push.click(u, pick_acc, pick_acc.button_data("paper-swap"))), "editMessageText")
        quick = last(await step(push.click(u, pick_sym, pick_sym.button_data("BTC/USDT perpetual"))), "sendMessage")
        editor = last(await step(push.click(u, quick, quick.button_data("Advanced"))), "editMessageText")
        await step(push.click(u, editor, editor.button_data("Levels")))
        saved = last(await step(push.send_message(u, "10")), "sendMessage")
        assert "Levels saved" in saved.text and "Levels: 10" in saved.text, saved.text

        acc = await ExchangeAccount.get(label="paper-swap")
        assert acc.paper_balances == {"USDT": "25000"}
        assert (await StrategyBot.get(user__telegram_id=u)).settings["levels"] == 10

        # who handled what: each update once, in order, never two at a time; both replicas before the kill,
        # the survivor alone after it, and the deliveries the dead one refused went to the survivor
        handled = [json.loads(x) for x in await redis.lrange(f"{prefix}:handled", 0, -1)]
        ids = [h["update_id"] for h in handled]
        delivered = sorted({d.update_id for d in push.deliveries})
        assert ids == delivered, (ids, delivered)
        assert all(h["end"] <= nxt["start"] for h, nxt in itertools.pairwise(handled))
        before = [h["replica"] for h in handled if h["update_id"] <= waiting]
        after = [h["replica"] for h in handled if h["update_id"] > waiting]
        assert set(before) == {"a", "b"} and set(after) == {survivor}, (before, after)
        refused = [d for d in push.deliveries if d.update_id > waiting and not d.ok]
        assert refused and {name_of[d.replica] for d in refused} == {victim}
        assert all(d.error for d in refused) and not push.undelivered
        assert sum(d.ok for d in push.deliveries) == len(ids)  # no update answered twice
        for name in replicas.procs:
            assert SECRET not in replicas.log(name)
    finally:
        await replicas.stop()
        await push.stop()
        for key in await redis.keys(f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()

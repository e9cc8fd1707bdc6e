"""Issue 18's whole picture as separate processes, each `python -m bot --role ...` as production starts them: 2 web
replicas on the webhook (Telegram's push side: tests/fakes/webhook_push.py), 3 workers and 1 scheduler on NATS
JetStream, PostgreSQL and Redis; paper GRID and HYPERRSI bots on replayed candles. A worker is killed with SIGKILL
in the middle of a market job and a web replica in the middle of a dialog: the job completes on a survivor, the
dialog continues on the other replica, no order is sent twice, no fill is lost or booked twice, every fill is told
(the duplicates counted and printed)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from cryptography.fernet import Fernet

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Fill, Notification, Order, StrategyBot, User
from tests.conftest import ROOT, migrated_database
from tests.fakes.webhook_push import TelegramPush
from tests.runtime_kit import HYPERRSI_SETTINGS, day_start, grid_settings, price_range, start_through_control
from tests.test_jobs import NATS_URL
from tests.test_jobs_workers import until

SECRET = "sys-" + uuid.uuid4().hex
PUBLIC_URL = "https://bot.example.com/telegram/updates"
REDIS_URL = "redis://127.0.0.1:6379/13"
OWNER = 8801  # the bots' owner, told of every fill
JOB = re.compile(r"job (md:\S+) (started|done)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """One `python -m bot --role <role>` child; its log in a file."""

    def __init__(self, name: str, role: str, env: dict[str, str], folder: Path):
        self.name, self.role, self.env, self.log_path = name, role, env, folder / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--role", self.role, cwd=ROOT,
                                                         env=self.env, stdout=out, stderr=out)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def jobs(self, what: str) -> list[str]:
        return [m.group(1) for m in JOB.finditer(self.log()) if m.group(2) == what]


async def make_bots(data_dir: Path, start: int) -> list[int]:
    """A GRID and a HYPERRSI paper bot on BTC/USDT 1m and a GRID on ETH/USDT 1m, started as a user would."""
    user = await User.create(telegram_id=OWNER, language="en")
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    ids = []
    for kind, symbol in ((BotKind.GRID, "BTC/USDT:USDT"), (BotKind.HYPERRSI, "BTC/USDT:USDT"),
                         (BotKind.GRID, "ETH/USDT:USDT")):
        if kind == BotKind.GRID:
            lo, hi = price_range(data_dir, symbol.split(":")[0].replace("/", "_"), start, 60)
            settings = grid_settings(lo, hi, timeframe="1m", adx_gate=False, levels=16)
        else:
            settings = {**HYPERRSI_SETTINGS, "timeframe": "1m"}
        ids.append((await StrategyBot.create(user=user, account=acc, kind=kind, symbol=symbol, settings=settings,
                                             status=BotStatus.DRAFT)).id)
    await start_through_control(data_dir, start, user.id, ids)
    return ids


async def test_two_webs_three_workers_one_scheduler_survive_a_kill_9_each(db_templates, tmp_path, shared_data):
    start = day_start(shared_data)
    async with migrated_database("postgres", db_templates, tmp_path, "system") as url:
        bots = await make_bots(shared_data, start)
        push = await TelegramPush().start()
        deployment = f"s{uuid.uuid4().hex[:10]}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(
            ("BOT_", "TELEGRAM_", "DATABASE_", "MASTER_", "MARKET_", "BROKER_", "REDIS_", "WEBHOOK_", "HEALTH_"))}
        base |= {"BOT_TOKEN": push.token, "TELEGRAM_API_URL": push.base_url, "DATABASE_URL": url,
                 "MASTER_KEY": Fernet.generate_key().decode(), "BROKER_URL": f"{NATS_URL}/{deployment}",
                 "REDIS_URL": REDIS_URL, "MARKET_REPLAY_DIR": str(shared_data), "MARKET_REPLAY_SPEED": "120",
                 "HEALTH_PORT": "0", "WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET,
                 "WEBHOOK_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
        webs = {}
        for name in ("web1", "web2"):
            port = free_port()
            webs[f"http://127.0.0.1:{port}"] = Proc(name, "web", base | {"WEBHOOK_PORT": str(port)}, tmp_path)
        workers = [Proc(f"worker{i}", "worker", base, tmp_path) for i in (1, 2, 3)]
        scheduler = Proc("scheduler", "scheduler", base, tmp_path)
        procs = [*webs.values(), *workers, scheduler]
        push.replicas = list(webs)
        try:
            for p in procs:
                await p.start()

            async def webhooks_set() -> bool:
                dead = [p.name for p in procs if p.proc.returncode is not None]
                assert not dead, {p.name: p.log()[-2000:] for p in procs}
                return len(push.calls("setWebhook")) >= 2

            await until(webhooks_set, 120, "the web replicas did not register the webhook")

            # a worker killed in the middle of a market job: the job completes on a survivor
            async def a_job_in_flight() -> bool:
                return any(set(w.jobs("started")) - set(w.jobs("done")) for w in workers)

            await until(a_job_in_flight, 120, "no market job seen running")
            victim = next(w for w in workers if set(w.jobs("started")) - set(w.jobs("done")))
            lost = sorted(set(victim.jobs("started")) - set(victim.jobs("done")))
            victim.proc.send_signal(signal.SIGKILL)
            await victim.proc.wait()
            killed_at = time.monotonic()
            survivors = [w for w in workers if w is not victim]

            # a dialog across the web replicas; the one that took the waiting step dies
            u = 8802 + int(uuid.uuid4().int % 1000)
            calls = 0

            async def step(action, method: str):
                nonlocal calls
                await action
                await push.wait_idle(60)
                new = [c for c in push.calls(chat_id=u)[calls:] if c.method == method and c.ok]
                calls = len(push.calls(chat_id=u))
                assert new, f"no {method} to {u}"
                return new[-1]

            choose = await step(push.send_command(u, "/start"), "sendMessage")
            risk = await step(push.click(u, choose, choose.button_data("English")), "editMessageText")
            menu = await step(push.click(u, risk, risk.buttons()[0][1]), "editMessageText")
            accounts = await step(push.click(u, menu, menu.button_data("Accounts")), "editMessageText")
            market = await step(push.click(u, accounts, accounts.button_data("Paper account")), "editMessageText")
            await step(push.click(u, market, market.button_data("Perpetual swap")), "editMessageText")
            waiting = push.deliveries[-1].update_id
            dying = webs[push.handled_by(waiting)]
            dying.proc.send_signal(signal.SIGKILL)
            await dying.proc.wait()
            added = await step(push.send_message(u, "25,000"), "sendMessage")
            assert "paper-swap" in added.text and "25000 USDT" in added.text, added.text

            async def redelivered() -> bool:
                return all(any(j in w.jobs("done") for w in survivors) for j in lost)

            await until(redelivered, 90, f"the killed worker's jobs {lost} did not complete elsewhere")
            moved = time.monotonic() - killed_at

            async def traded() -> bool:
                return await Fill.filter(order__bot_id__in=bots).count() >= 3

            await until(traded, 180, "fewer than 3 fills")
            scheduler.proc.send_signal(signal.SIGTERM)  # no new closes: the last jobs end, their fills are told
            await asyncio.wait_for(scheduler.proc.wait(), 30)

            async def all_told() -> bool:
                await asyncio.sleep(1)  # a job still running books its fills meanwhile
                keys = [f"fill:{a}:{t}" for a, t in await Fill.all().values_list("account_id", "trade_id")]
                return not await Notification.filter(dedup_key__in=keys).exclude(status="sent").exists()

            await until(all_told, 60, "fill notices left unsent")
        finally:
            for p in procs:
                if p.proc is not None and p.proc.returncode is None:
                    p.proc.send_signal(signal.SIGTERM)
            for p in procs:
                if p.proc is not None:
                    try:
                        await asyncio.wait_for(p.proc.wait(), 60)
                    except TimeoutError:
                        p.proc.kill()
            await push.stop()

        # orders single by client id, fills single by trade id (also the tables' UNIQUE constraints: checked here
        # as the counts a double booking would break)
        cids = await Order.all().values_list("client_order_id", flat=True)
        assert len(cids) == len(set(cids))
        trades = await Fill.all().values_list("account_id", "trade_id")
        assert len(trades) == len(set(trades))
        # each fill told exactly once in the outbox, and sent; duplicates in the chat counted
        keys = [f"fill:{a}:{t}" for a, t in trades]
        rows = Counter(await Notification.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        assert all(rows[k] == 1 for k in keys), rows
        unsent = await Notification.filter(dedup_key__in=keys).exclude(status="sent").count()
        sends = [c for c in push.calls("sendMessage", chat_id=OWNER) if c.ok]
        told = sum(c.text.startswith(("✅", "📈", "📦", "🎯", "🛑")) for c in sends)
        print(f"\n{len(trades)} fills, {len(cids)} orders, {told} fill messages ({unsent} rows not sent by the end); "
              f"killed worker's {len(lost)} job(s) done elsewhere {moved:.1f} s after the kill; "
              f"web {dying.name} killed, the dialog went on")
        assert unsent == 0
        for p in procs:
            assert SECRET not in p.log(), p.name
            assert p in (victim, dying) or ("Traceback" not in p.log() and p.proc.returncode == 0), \
                (p.name, p.proc.returncode, p.log()[-3000:])

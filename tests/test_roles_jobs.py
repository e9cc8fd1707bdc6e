"""`python -m bot --role scheduler` and `--role worker` processes on BROKER_URL (real NATS JetStream and PostgreSQL):
the scheduler emits each replayed candle close as market jobs, the workers run them (a paper GRID bot trades) and
deliver its notifications to Telegram (the Bot API stand-in); every process stops cleanly on SIGTERM. The broker
URL's path names the deployment, so this test's stream is its own."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from cryptography.fernet import Fernet

from bot.sandbox.bot_api import BotAPIStandIn
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Fill, Notification, StrategyBot, User
from engine.jobs.broker import BrokerOptions, options_for
from tests.conftest import ROOT, migrated_database
from tests.runtime_kit import day_start, grid_settings, price_range, start_through_control
from tests.test_jobs import NATS_URL
from tests.test_jobs_workers import until

USER = 77


def test_the_broker_urls_path_names_the_deployment():
    assert options_for("nats://h:4222") == ("nats://h:4222", BrokerOptions())
    server, o = options_for("nats://h:4222/blue")
    assert server == "nats://h:4222" and (o.stream, o.subject, o.durable) == ("blue_jobs", "blue.jobs", "blue_workers")


async def test_scheduler_and_worker_roles_trade_a_paper_bot_through_the_broker(db_templates, tmp_path, shared_data):
    start = day_start(shared_data)
    async with migrated_database("postgres", db_templates, tmp_path, "roles") as url:
        user = await User.create(telegram_id=USER, language="en")
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                           is_paper=True, paper_balances={"USDT": "100000"})
        lo, hi = price_range(shared_data, "BTC_USDT", start, 120)
        bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                       settings=grid_settings(lo, hi, timeframe="1m", adx_gate=False),
                                       status=BotStatus.DRAFT)
        await start_through_control(shared_data, start, user.id, [bot.id])

        api = await BotAPIStandIn().start()
        name = f"t{uuid.uuid4().hex[:10]}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "MASTER_", "MARKET_", "BROKER_", "REDIS_"))}
        env |= {"BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url, "DATABASE_URL": url,
                "MASTER_KEY": Fernet.generate_key().decode(), "BROKER_URL": f"{NATS_URL}/{name}",
                "MARKET_REPLAY_DIR": str(shared_data), "MARKET_REPLAY_SPEED": "300", "HEALTH_PORT": "0"}
        procs = [await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--role", role, cwd=ROOT, env=env,
                                                      stdout=asyncio.subprocess.DEVNULL,
                                                      stderr=asyncio.subprocess.PIPE)
                 for role in ("scheduler", "worker", "worker")]
        try:
            async def traded() -> bool:
                return await Fill.filter(order__bot_id=bot.id).exists()

            await until(traded, 120, "no fill from the jobs in 120 s")
            told = await api.next_call("sendMessage", chat_id=USER, timeout=30)
            assert "BTC/USDT perpetual" in told.text, told.text
            await bot.refresh_from_db()
            decided = len(bot.decisions or [])
            assert bot.status == BotStatus.RUNNING and decided >= 1, bot.state
        finally:
            for p in procs:
                if p.returncode is None:
                    p.send_signal(signal.SIGTERM)
            outs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
            await api.stop()
        logs = [err.decode(errors="replace") for _out, err in outs]
        assert [p.returncode for p in procs] == [0, 0, 0], logs
        assert all("Traceback" not in log for log in logs), logs
        assert any("job md:" in log for log in logs[1:]), logs
        assert await Notification.filter(status="sent").exists()

"""The operations surface on its own port: /health/live, /health/ready (JSON, 200 or 503) and /metrics (Prometheus).

Ready means the process can do its job: the database answers, Redis answers when configured, the scheduler runs.
The notifier's backlog, the last candle close per timeframe, whether each exchange answered its last request and
the bots waiting for their exchange are reported beside them; they inform, they do not make the process unready
(one venue down must not take the chat and the other venues' bots out of service).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from bot.startup import StartupError
from db.enums import BotStatus, NotificationStatus
from db.models import Notification, StrategyBot
from engine.exchange.budget import BUDGETS
from engine.exchange.reachability import REACH
from engine.metrics import BUDGET_WAIT

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds a dependency may take to answer a probe
BACKLOG = Gauge("tb_notification_backlog", "Outbox notifications waiting to be sent")
OLDEST = Gauge("tb_notification_oldest_pending_seconds", "Age of the oldest notification waiting to be sent")
BOTS = Gauge("tb_bots", "Strategy bots by status", ["status"])
REACHABLE = Gauge("tb_exchange_reachable", "1 when the venue answered its last request, 0 when it could not be "
                  "reached (timeouts, refused connections, 5xx after every retry)", ["venue"])


async def _probe(coro) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(coro, CHECK_TIMEOUT)
    except Exception as e:  # any failure of a dependency is "not ok", said by its class (no secret in it)
        return {"ok": False, "error": type(e).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1)}


class OpsServer:
    """Serves the probes and metrics of one process; `engine` is the running Engine, `redis_url` None or a URL."""

    def __init__(self, engine: Any, *, host: str, port: int, redis_url: str | None = None):
        self.engine, self.host, self.port, self.redis_url = engine, host, port, redis_url
        self._runner: web.AppRunner | None = None
        self._redis: Any = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health/live", self.live)
        app.router.add_get("/health/ready", self.ready)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as e:
            await self._runner.cleanup()
            raise StartupError(f"The health and metrics port {self.host}:{self.port} cannot be opened "
                               f"({e.strerror or type(e).__name__}): set HEALTH_PORT to a free port, or 0 to turn "
                               "it off.") from None
        log.info("health and metrics on http://%s:%s (/health/live, /health/ready, /metrics)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._redis is not None:
            await self._redis.aclose()

    async def live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        checks: dict[str, Any] = {"database": await _probe(self._database())}
        if self.redis_url:
            checks["redis"] = await _probe(self._ping_redis())
        running = bool(getattr(self.engine.scheduler, "running", False))
        checks["scheduler"] = {"ok": running}
        ok = all(c["ok"] for c in checks.values())
        if checks["database"]["ok"]:
            checks["notifier"] = await self._backlog()
        checks["candles"] = {tf: datetime.fromtimestamp(ms / 1000, UTC).isoformat()
                             for tf, ms in sorted(self.engine.last_closes().items())}
        checks["exchanges"] = {"accounts": len(self.engine.exchanges), "bots_waiting": len(self.engine.waiting()),
                               "venues": REACH.snapshot()}
        return web.json_response({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(self._gauges(), CHECK_TIMEOUT)
        except Exception as e:  # the counters are still worth serving without the database's figures
            log.warning("metrics: database figures unavailable (%s)", type(e).__name__)
        for name, waited in BUDGETS.waited_by_venue().items():
            BUDGET_WAIT.labels(name).set(waited)
        for venue, seen in REACH.snapshot().items():
            REACHABLE.labels(venue).set(1 if seen["ok"] else 0)
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _database(self) -> None:
        await StrategyBot.filter(id=0).exists()  # one round trip on the models' own connection

    async def _ping_redis(self) -> None:
        if self._redis is None:
            from redis.asyncio import from_url

            self._redis = from_url(self.redis_url, socket_timeout=CHECK_TIMEOUT)
        await self._redis.ping()

    async def _backlog(self) -> dict[str, Any]:
        pending = Notification.filter(status=NotificationStatus.PENDING)
        count = await pending.count()
        oldest = await pending.order_by("created_at").first().values_list("created_at", flat=True)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        return {"backlog": count, "oldest_pending_s": round(age, 1)}

    async def _gauges(self) -> None:
        backlog = await self._backlog()
        BACKLOG.set(backlog["backlog"])
        OLDEST.set(backlog["oldest_pending_s"])
        counts = dict.fromkeys((s.value for s in BotStatus), 0)
        for status in await StrategyBot.all().values_list("status", flat=True):
            counts[str(status.value if hasattr(status, "value") else status)] += 1
        for status, n in counts.items():
            BOTS.labels(status).set(n)

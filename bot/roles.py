"""Process roles (`python -m bot --role web|worker|scheduler|all`): what each one runs, and what its settings lack."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from enum import StrEnum

from db.config import AppConfig


class Role(StrEnum):
    WEB = "web"  # Telegram's updates in (webhook replicas behind a load balancer, or the one polling process)
    WORKER = "worker"  # the engine's jobs and the notifier; as many as the broker feeds
    SCHEDULER = "scheduler"  # the periodic ticks
    ALL = "all"  # everything in one process: `make run`, the default


class Part(StrEnum):
    """What a process may run."""

    UPDATES = "updates"  # bot.webhook.serve_updates: the webhook, or polling without WEBHOOK_URL
    JOBS = "jobs"  # the engine's job consumer: candle closes, fill supervision, reconciliation
    NOTIFIER = "notifier"  # the outbox sender (rows claimed with SKIP LOCKED, so several may run)
    SCHEDULER = "scheduler"  # the ticks that start jobs
    OPS = "ops"  # /healthz and /metrics


PARTS: dict[Role, frozenset[Part]] = {
    Role.WEB: frozenset({Part.UPDATES, Part.OPS}),
    Role.WORKER: frozenset({Part.JOBS, Part.NOTIFIER, Part.OPS}),
    Role.SCHEDULER: frozenset({Part.SCHEDULER, Part.OPS}),
    Role.ALL: frozenset(Part),
}


def runs(role: Role, part: Part) -> bool:
    return part in PARTS[role]


def engine_runs_bots(role: Role, config: AppConfig) -> bool:
    """Whether this process's own engine runs the candle closes (one process, no broker). Elsewhere its engine only
    serves the chat's actions and reads, on each bot and paper venue as stored (engine/runtime/registry.py)."""
    return not config.BROKER_URL and (runs(role, Part.JOBS) or runs(role, Part.SCHEDULER))


def parse_role(argv: Sequence[str]) -> Role:
    """`--role` from the command line (default all); a wrong value or --help ends the process as argparse does
    (usage on stderr, exit 2 / 0)."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="TradingBoost: the Telegram bot and its engine.")
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.ALL.value,
                        help="what this process runs: web (Telegram updates), worker (jobs, notifications), "
                             "scheduler (periodic ticks) or all of them (default)")
    return Role(parser.parse_args(list(argv)).role)


def warnings(role: Role, config: AppConfig) -> list[str]:
    """What this role's settings make doubtful, one sentence each (logged at start, never fatal: one web process
    without Redis, say, is a valid small set-up)."""
    out = []
    if runs(role, Part.UPDATES) and role is not Role.ALL:
        if not config.WEBHOOK_URL:
            out.append("role web without WEBHOOK_URL polls Telegram: run exactly one such process per bot token")
        elif not config.REDIS_URL:
            out.append("webhook without REDIS_URL: dialogs live in this replica's memory, so run only one replica")
    return out


async def until_stopped(stop: asyncio.Event | None = None, *, handle_signals: bool = True) -> None:
    """For a role that serves no updates: wait for SIGTERM/SIGINT (or `stop`), as polling and the webhook do."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)

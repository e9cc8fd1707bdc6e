"""Child process of the kill test: runs the engine minute by minute on replayed candles against a paper exchange
that survives the process (pickled after every change, like a real exchange outliving our crash).

    python -m tests.runtime_kill_child DB_URL DATA_DIR STATE_DIR START_MS MINUTES
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from decimal import Decimal
from pathlib import Path

from db.database import connect, disconnect
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import MarketType
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from tests.runtime_kit import minutes_done, tick_minutes


class PersistentPaper:
    """A PaperExchange whose state is written atomically to a file after every call that changes it."""

    MUTATING = ("create_order", "cancel_order", "feed", "set_leverage")

    def __init__(self, path: Path, source, balances):
        self._path = path
        if path.exists():
            self._ex = pickle.loads(path.read_bytes())
        else:
            self._ex = PaperExchange(MarketType.SWAP, balances)
        self._ex.source = source

    def _save(self) -> None:
        src, self._ex.source = self._ex.source, None
        tmp = self._path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self._ex))
        os.replace(tmp, self._path)
        self._ex.source = src

    def __getattr__(self, name):
        attr = getattr(self._ex, name)
        if name not in self.MUTATING:
            return attr

        async def call(*a, **kw):
            try:
                return await attr(*a, **kw)
            finally:
                self._save()

        return call


async def main(db_url: str, data_dir: str, state_dir: str, start: int, minutes: int) -> None:
    state = Path(state_dir)
    clock = ManualClock(start + minutes_done(state) * 60_000 + 2_000)
    await connect(db_url, apply_migrations=False)
    exchanges: dict[int, PersistentPaper] = {}

    def factory(account):
        ex = exchanges.get(account.id)
        if ex is None:  # candles reach it through engine.feed_paper, so it needs no source of its own
            ex = exchanges[account.id] = PersistentPaper(state / f"paper-{account.id}.pickle", None,
                                                          {"USDT": Decimal(100_000)})
        return ex

    engine = Engine(clock=clock, replay_dir=data_dir, exchange_factory=factory)
    await engine.start(schedule=False)
    await tick_minutes(engine, clock, start, state, minutes)
    await engine.shutdown()
    await disconnect()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], a[2], int(a[3]), int(a[4])))

"""Child process of the distributed lock tests (tests/test_distributed_locks.py).

    python -m tests.lock_child DB_URL count USER_ID ROUNDS   read-modify-write a counter under the lock ROUNDS times,
                                                            printing each section's wall-clock start and end
    python -m tests.lock_child DB_URL count_all USER_ID ROUNDS   the same, each section holding KEY among others at once
    python -m tests.lock_child DB_URL hold                  take the lock, print "held", then sleep until killed
"""

from __future__ import annotations

import asyncio
import sys
import time

from db.database import connect, disconnect
from db.models import User
from engine.runtime.locks import SymbolLocks

KEY = (7, "BTC/USDT")


OTHERS = [(9, "BTC/USDT"), (7, "ETH/USDT"), (3, "BTC/USDT")]  # a market job's keys around KEY, in no order


async def count(user_id: int, rounds: int, every: bool = False) -> None:
    locks = SymbolLocks()
    for _ in range(rounds):
        async with locks.hold_all([*OTHERS, KEY]) if every else locks.hold(*KEY):
            start = time.time()
            user = await User.get(id=user_id)
            await asyncio.sleep(0.005)  # a lost update if anyone else were inside now
            await User.filter(id=user_id).update(telegram_id=user.telegram_id + 1)
            print(f"section {start:.6f} {time.time():.6f}", flush=True)
    await locks.close()


async def hold() -> None:
    async with SymbolLocks().hold(*KEY):
        print("held", flush=True)
        await asyncio.sleep(600)


async def main(url: str, mode: str, *args: str) -> None:
    await connect(url, apply_migrations=False)
    try:
        if mode.startswith("count"):
            await count(int(args[0]), int(args[1]), mode == "count_all")
        else:
            await hold()
    finally:
        await disconnect()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))

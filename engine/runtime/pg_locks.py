"""PostgreSQL advisory locks, each held by a transaction of its own on a pool of connections of its own."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import Order

log = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout ran out


def stable_key(namespace: str, *parts: object) -> int:
    """A signed 64-bit advisory lock key, the same in every process and every run (Python's hash() is salted)."""
    text = "\x1f".join(str(p) for p in (namespace, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def database_client() -> BaseDBAsyncClient | None:
    """The models' connection (the pool behind it when called inside a transaction), or None before connect()."""
    try:
        client = Order._meta.db
    except Exception:  # Tortoise not initialised: no database, the in-process lock alone
        return None
    return getattr(client, "_parent", client)


def is_postgres(client: BaseDBAsyncClient | None) -> bool:
    return client is not None and client.capabilities.dialect == "postgres"


class AdvisoryLocks:
    """`hold(key)` runs its body while this process holds PostgreSQL's advisory lock `key`.

    The lock is `pg_advisory_xact_lock` in an otherwise empty transaction on a connection taken from a pool of this
    object's own (never the models' pool: a section holding a connection while its body waits for another could
    starve that pool). It ends with the transaction, so it cannot leak into a pooled connection, and PostgreSQL ends
    it the moment the connection dies (a holder killed with -9: its socket closes, its backend rolls back). It works
    behind a transaction-mode pooler too. The transaction writes nothing (no transaction id); like any open
    transaction it keeps vacuum's horizon where it was for the section's length, which is fine for sections of
    seconds, not for ones of hours. `lock_timeout` on these connections bounds the wait for another holder.
    """

    def __init__(self, source: BaseDBAsyncClient, *, size: int = 16, wait: float = 30.0,
                 name: str = "tb-advisory-locks"):
        self.source, self.wait = source, wait
        src: Any = source
        settings = dict(src.server_settings)
        settings.setdefault("application_name", name)
        settings["lock_timeout"] = str(int(wait * 1000))  # these connections only wait for advisory locks
        self._client: Any = type(source)(
            connection_name=name, user=src.user, password=src.password, database=src.database, host=src.host,
            port=src.port, schema=src.schema, minsize=0, maxsize=size, server_settings=settings, **src.extra)

    def hold(self, key: int, what: str = ""):
        return self.hold_all([key], what)

    @contextlib.asynccontextmanager
    async def hold_all(self, keys: list[int], what: str = "") -> AsyncIterator[None]:
        """Every lock of `keys` in one transaction, taken in the order given (callers that take several give them
        sorted, so that two of them never wait for each other in a circle). The transaction begins with its locks
        in one round trip (the keys, integers, written into one simple query) and commits in one."""
        array = ",".join(str(int(k)) for k in keys)
        done = False
        try:
            async with self._client.acquire_connection() as con:  # one given back still open is rolled back too
                try:  # a function scan returns the array's elements in order, and they are locked so
                    await con.execute(f"BEGIN; SELECT pg_advisory_xact_lock(k) FROM unnest(ARRAY[{array}]::bigint[])"
                                      " AS k")
                except Exception as e:
                    if getattr(e, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                        raise TimeoutError(f"lock {what or keys} is held elsewhere") from None
                    raise
                try:
                    yield
                except BaseException:
                    with contextlib.suppress(Exception):  # a connection lost meanwhile: the pool cleans it up
                        await con.execute("ROLLBACK")  # here: the pool's reset would log it as an error
                    raise
                done = True
                await con.execute("COMMIT")
        except Exception:
            if not done:
                raise
            # The body ran and returned; only ending the lock's transaction failed, so its connection dropped while
            # the section ran: PostgreSQL freed the lock then and another process may have entered. The writes
            # that matter are idempotent (client order ids, trade ids); say so and carry on.
            log.error("advisory lock %s: connection lost while held, the section was not exclusive to the end",
                      what or keys, exc_info=True)

    async def close(self) -> None:
        await self._client.close()

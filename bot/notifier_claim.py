"""Claiming the outbox when several notifiers share it: whole chats, rows locked with FOR UPDATE SKIP LOCKED, a
heartbeat per notifier, and the rows of a notifier that fell silent made due again.

Per-chat order across notifiers: a chat is served by one notifier at a time. A notifier takes a chat's due rows
only while no other notifier holds a row of that chat (claimed, its lease running), and on PostgreSQL only under
the chat's transaction-level advisory lock, so two notifiers claiming at once cannot split one chat; the rows are
then read again in that transaction (a fresh snapshot: whatever the other claimer committed is seen) and locked
with FOR UPDATE SKIP LOCKED. SQLite (one process) has neither lock nor FOR UPDATE (Tortoise leaves it out there);
its writes are serialised anyway.

Sharing: a notifier takes new chats only while it holds fewer than its share of the chats waiting (those chats
over the live notifiers, rounded up); its own chats' new rows it always takes. Without it the first notifier to
wake held every chat of a burst while the others stood idle.

Liveness: each notifier upserts its NotifierWorker row every `beat` seconds while it runs and deletes it when it
stops. Rows claimed by a token whose row is missing or older than `dead_after` are due again at the next `reap()`
(any notifier's, every `beat`): a notifier killed with -9 hands its chats on within `dead_after` + `beat`. A
notifier that was only slow and finds its rows gone sends none of them (`mark_sending` claims the right to send
under its token): only the rows it was sending at that moment can arrive twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from tortoise.expressions import F, Q, Subquery
from tortoise.transactions import in_transaction

from db.enums import Delivery, NotificationStatus
from db.models import Notification, NotifierWorker
from engine.notices import URGENT
from engine.runtime.pg_locks import database_client, is_postgres, stable_key

log = logging.getLogger(__name__)

PENDING = NotificationStatus.PENDING
RECOVERED = "recovered after a restart while sending (may arrive twice)"
UNHELD = {"delivery": None, "claimed_by": None, "claimed_at": None}  # no notifier holds the row any more
CHAT_LOCK = "tb:notify-chat"


class OutboxClaims:
    """One notifier's side of the shared outbox: its heartbeat, its claims and the reaping of silent notifiers."""

    def __init__(self, token: str, *, lease: float, beat: float, dead_after: float, clock: Callable[[], datetime]):
        self.token, self.lease, self.beat, self.dead_after, self._now = token, lease, beat, dead_after, clock
        self._beating: asyncio.Task | None = None
        self._last_reap = 0.0

    # ---- liveness ----

    async def join(self) -> None:
        """Say this notifier runs (before its first claim) and keep saying it every `beat` seconds."""
        if self._beating is None or self._beating.done():
            await self._touch()
            self._beating = asyncio.create_task(self._beat(), name=f"notifier-beat-{self.token[:8]}")

    async def leave(self) -> None:
        """Stop the heartbeat and remove this notifier's row: the rows it still holds are due again at once."""
        task, self._beating = self._beating, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):  # the database gone too: the row ages out after `dead_after`
            await NotifierWorker.filter(token=self.token).delete()

    async def _touch(self) -> None:
        if not await NotifierWorker.filter(token=self.token).update(seen_at=self._now()):
            await NotifierWorker.create(token=self.token, seen_at=self._now())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.beat)
            try:
                await self._touch()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next beat tries again; past `dead_after` the others take this one's chats
                log.exception("notifier heartbeat failed")

    async def reap_if_due(self) -> int:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_reap < self.beat:
            return 0
        self._last_reap = loop.time()
        return await self.reap()

    async def reap(self) -> int:
        """Make the rows of notifiers that are gone (stopped, or silent for `dead_after`) due again."""
        alive = set(await NotifierWorker.filter(seen_at__gte=self._now() - timedelta(seconds=self.dead_after))
                    .values_list("token", flat=True)) | {self.token}
        held = Notification.filter(status=PENDING, delivery__isnull=False)
        holders = set(await held.distinct().values_list("claimed_by", flat=True))
        gone = [t for t in holders if t not in alive]
        if not gone:
            return 0
        theirs = Q(claimed_by__in=[t for t in gone if t is not None]) | Q(claimed_by__isnull=True)
        sending = await held.filter(theirs, delivery=Delivery.SENDING).update(
            next_attempt_at=None, last_error=RECOVERED, **UNHELD)
        queued = await held.filter(theirs, delivery=Delivery.QUEUED).update(next_attempt_at=None, **UNHELD)
        await NotifierWorker.filter(token__in=[t for t in gone if t is not None]).delete()
        if sending or queued:
            log.warning("notifier recovered %d queued and %d in-flight notifications of %d notifier(s) gone",
                        queued, sending, len(gone))
        return sending + queued

    # ---- claiming ----

    async def claim(self, limit: int, held: set[int]) -> list[Notification]:
        """Due rows of chats no other notifier serves, up to `limit`, now held by this notifier; urgent kinds
        first, by id within each group (a chat's order). `held`: ids this notifier has queued already."""
        now = self._now()
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        # rows another notifier holds, its lease running: their chats are served there
        elsewhere = Notification.filter(status=PENDING, delivery__isnull=False, next_attempt_at__gt=now).exclude(
            claimed_by=self.token)
        async with in_transaction() as conn:
            seen: list[tuple[int, int]] = []
            for kinds in (Q(kind__in=URGENT), ~Q(kind__in=URGENT)):  # fills first: never behind a pile of warnings
                left = limit - len(seen)
                if left > 0:
                    seen += await (Notification.filter(due, kinds, status=PENDING).using_db(conn)
                                   .exclude(user_id__in=Subquery(elsewhere.values("user_id"))).order_by("id")
                                   .limit(left).values_list("id", "user_id"))
            seen = [(i, u) for i, u in seen if i not in held]  # a lease that ran out under a long queue: still ours
            chats = await self._within_share(list(dict.fromkeys(u for _, u in seen)), now)
            if is_postgres(database_client()) and chats:
                keys = {stable_key(CHAT_LOCK, u): u for u in chats}
                won = await conn.execute_query_dict(
                    "SELECT k FROM unnest($1::bigint[]) AS k WHERE pg_try_advisory_xact_lock(k)", [list(keys)])
                chats = [keys[r["k"]] for r in won]
            if not chats:
                return []
            # again under the chat locks: a chat another notifier claimed since the read above is skipped
            busy = set(await elsewhere.filter(user_id__in=chats).using_db(conn).values_list("user_id", flat=True))
            ids = [i for i, u in seen if u in chats and u not in busy]
            if not ids:
                return []
            # The due condition again, in this transaction's fresh snapshot; rows another transaction is writing
            # are skipped, not waited for.
            rows = await (Notification.filter(due, id__in=ids, status=PENDING).using_db(conn)
                          .select_for_update(skip_locked=True).only("id"))
            ids = [r.id for r in rows]
            if not ids:
                return []
            await Notification.filter(id__in=ids).using_db(conn).update(
                delivery=Delivery.QUEUED, claimed_by=self.token, claimed_at=now,
                next_attempt_at=now + timedelta(seconds=self.lease))
        rows = await (Notification.filter(id__in=ids, status=PENDING, delivery=Delivery.QUEUED, claimed_by=self.token)
                      .order_by("id").select_related("user"))
        rows.sort(key=lambda r: r.kind not in URGENT)  # stable: by id within each of the two groups
        return rows

    async def _within_share(self, chats: list[int], now: datetime) -> list[int]:
        """The chats this notifier may take: its own, and new ones only up to its share of the chats waiting, so
        that the first notifier to wake does not hold every chat while the others stand idle."""
        alive = await NotifierWorker.filter(seen_at__gte=now - timedelta(seconds=self.dead_after)).count()
        if alive <= 1:
            return chats
        pending = Notification.filter(status=PENDING)
        waiting = len(await pending.distinct().values_list("user_id", flat=True))
        mine = set(await pending.filter(claimed_by=self.token, delivery__isnull=False).distinct()
                   .values_list("user_id", flat=True))
        room = -(-waiting // alive) - len(mine)
        new = [u for u in chats if u not in mine][:max(room, 0)]
        return [u for u in chats if u in mine or u in new]

    async def mark_sending(self, ids: list[int]) -> bool:
        """Mark rows about to be sent (attempts + 1) if this notifier still holds every one of them; False when
        another notifier took them over (this one was thought gone): then nothing of them may be sent."""
        marked = await Notification.filter(id__in=ids, status=PENDING, claimed_by=self.token).update(
            attempts=F("attempts") + 1, delivery=Delivery.SENDING)
        if marked == len(ids):
            return True
        await self.release(ids)  # those still ours: due again, sent by whoever serves the chat next
        return False

    async def release(self, ids: list[int]) -> None:
        """Hand rows back (due again now) that this notifier holds and will not send."""
        if ids:
            await Notification.filter(id__in=ids, status=PENDING, claimed_by=self.token).update(
                next_attempt_at=None, **UNHELD)

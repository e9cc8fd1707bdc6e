"""Delivers the notification outbox to each user's chat at Telegram's pace, at least once and rarely twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot import notifier_digest as digest
from bot.card_refresh import CardRefresher
from bot.metrics import NOTIFICATIONS
from bot.notifier_claim import RECOVERED, UNHELD, OutboxClaims
from bot.notifier_render import Translate, i18n_translate, render
from bot.notifier_split import split_message
from bot.pacing import GLOBAL_RATE, PER_CHAT_RATE, Pacer, pacer_for
from bot.pacing_errors import Outcome, classify
from bot.user_cache import forget_users
from db.enums import NotificationStatus
from db.models import Notification, User

log = logging.getLogger(__name__)

PENDING = NotificationStatus.PENDING
__all__ = ["RECOVERED", "Notifier"]


class Taken(Exception):
    """Another notifier took this one's rows over (it was thought gone): none of them may be sent from here."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Sends due PENDING rows, one worker per chat (in id order), all through one shared Pacer.

    Life of a row: PENDING → claimed (`delivery` QUEUED, `claimed_by` this notifier) → SENDING (attempts+1) →
    SENT once Telegram accepted it; `parts_sent` counts the parts of a split message already accepted, so a retry
    does not repeat them. A blocked bot → the user becomes inactive and their rows DROPPED; a bad request → FAILED;
    a transient error → PENDING again with exponential backoff, FAILED after `max_attempts`. A crash leaves
    claimed rows PENDING with their `delivery`; once the notifier's heartbeat is `dead_after` old (at once after
    a clean stop) any notifier's `recover()` makes them due again, so nothing is lost, and only a row that was
    actually being sent can arrive twice (its `last_error` says so). A clean stop waits up to `stop_grace` for the
    rows on their way to Telegram, so only a crash (or a send slower than the grace) leaves one of those. Any number
    of notifiers share the outbox, each chat served by one of them at a time, in order (bot/notifier_claim.py).
    A chat that is behind gets one digest for the waiting fills of a bot (bot/notifier_digest.py): the rows it
    stands for are chosen when the chat's turn comes, marked SENDING together and SENT in one update. A row below
    its user's notification level (User.notify_level) is DROPPED when claimed, with the level in `last_error`.
    Users blocked by an admin still get the notifications about their own money; only users who blocked the bot
    (User.active false) get none.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        i18n: I18n | None = None,
        translate: Translate | None = None,
        pacer: Pacer | None = None,
        rate: float = GLOBAL_RATE,
        per_chat: float = PER_CHAT_RATE,
        default_language: str = "en",
        languages: tuple[str, ...] = ("en", "ko"),
        batch: int = 500,
        max_queued: int = 20_000,
        max_attempts: int = 8,
        backoff: float = 5.0,
        backoff_cap: float = 900.0,
        lease: float = 3600.0,
        poll: float = 0.25,  # an idle outbox is read 4 times a second: a fill reaches the chat in well under 1 s
        beat: float = 2.0,
        dead_after: float = 10.0,
        stop_grace: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ):
        if translate is None:
            if i18n is None:
                raise ValueError("the notifier needs the merged catalogues (i18n) or a translate function")
            translate = i18n_translate(i18n)
        # a notice that finishes what a card asked (`_card` in its payload) refreshes that card; needs the catalogues
        self.refresh_card = CardRefresher(bot, i18n) if i18n is not None else None
        pacer = pacer or pacer_for(bot, rate, per_chat)  # shared with the broadcast: one budget per bot token
        self.bot, self.tr, self.pacer = bot, translate, pacer
        self.default_language, self.languages = default_language, languages
        self.batch, self.max_queued, self.max_attempts = batch, max_queued, max_attempts
        self.backoff, self.backoff_cap, self.lease, self.poll = backoff, backoff_cap, lease, poll
        self._now = clock
        self._token = uuid.uuid4().hex  # 32 characters: Notification.claimed_by
        self.claims = OutboxClaims(self._token, lease=lease, beat=beat, dead_after=dead_after, clock=clock)
        self._queues: dict[int, deque[Notification]] = {}  # user id -> claimed rows, oldest first
        self._held: set[int] = set()  # ids in the queues or being sent: never queued twice
        self._orphans: list[Notification] = []  # held rows a failing worker could not hand back yet
        self._workers: dict[int, asyncio.Task] = {}
        self._sending: set[int] = set()  # users whose current row is marked SENDING: a stop lets it finish
        self._stopping = False
        self.stop_grace = stop_grace
        self.sent = self.dropped = self.failed = self.retried = 0

    # ---- entry points ----

    async def recover(self) -> int:
        """Make rows claimed by notifiers that are gone due again (run first; claiming repeats it every `beat`)."""
        return await self.claims.reap()

    async def drain_once(self) -> int:
        """Deliver until nothing is due and every chat's worker is done; returns how many rows were claimed."""
        total = 0
        try:
            while True:
                claimed = await self._claim()
                total += claimed
                if claimed:
                    continue
                if not self._workers:
                    return total
                await asyncio.wait(list(self._workers.values()), return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self.claims.leave()

    async def run_forever(self) -> None:
        """Recover, then keep claiming due rows; chats are served concurrently while new rows keep arriving."""
        await self.recover()
        failures = 0
        try:
            while True:
                try:
                    claimed = await self._claim()
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("notifier: cannot read the outbox (attempt %d)", failures)
                    await asyncio.sleep(min(self.poll * 2**failures, 60.0))
                    continue
                if claimed < self.batch:
                    await asyncio.sleep(self.poll)
        finally:
            await self._stop_workers()
            await self.claims.leave()

    async def _stop_workers(self) -> None:
        """A chat whose row is on its way to Telegram finishes that row (its answer booked, so the next notifier
        does not send it again) within `stop_grace`; the other chats stop at once, their rows unsent."""
        self._stopping = True
        workers = dict(self._workers)
        busy = [t for u, t in workers.items() if u in self._sending]
        try:
            for u, task in workers.items():
                if u not in self._sending:
                    task.cancel()
            if busy and self.stop_grace > 0:
                await asyncio.wait(busy, timeout=self.stop_grace)
        finally:
            for task in busy:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*workers.values(), return_exceptions=True)

    # ---- claiming ----

    async def _claim(self) -> int:
        if self._orphans:
            orphans, self._orphans = self._orphans, []
            try:
                await self._release(orphans)
            except Exception:
                self._orphans.extend(orphans)
                raise
        room = self.max_queued - len(self._held)
        if room <= 0:
            return 0
        await self.claims.join()
        await self.claims.reap_if_due()
        rows = await self._below_level(await self.claims.claim(min(self.batch, room), self._held))
        for row in rows:
            self._queues.setdefault(row.user_id, deque()).append(row)  # type: ignore[attr-defined]
            self._held.add(row.id)
        for user_id in {r.user_id for r in rows}:  # type: ignore[attr-defined]
            if user_id not in self._workers:
                self._workers[user_id] = asyncio.create_task(self._work(user_id), name=f"notify-{user_id}")
        return len(rows)

    async def _below_level(self, rows: list[Notification]) -> list[Notification]:
        """The rows their users want; the others are DROPPED at once, one update per level."""
        keep, unwanted = [], {}
        for row in rows:
            level = row.user.notify_level
            if digest.wanted(level, row.kind, row.payload):
                keep.append(row)
            else:
                unwanted.setdefault(level, []).append(row.id)
        for level, ids in unwanted.items():
            await Notification.filter(id__in=ids, status=PENDING, claimed_by=self._token).update(
                status=NotificationStatus.DROPPED, last_error=f"below the notification level {level}",
                next_attempt_at=None, **UNHELD)
        return keep

    async def _work(self, user_id: int) -> None:
        queue = self._queues[user_id]
        try:
            while queue and not self._stopping:
                row = queue[0]
                try:
                    outcome = await self._deliver(row)
                except (asyncio.CancelledError, Taken):
                    raise
                except Exception:  # a bug must not kill the chat's worker: the row is retried later
                    log.exception("notifier: delivering notification %s failed", row.id)
                    outcome = await self._retry_later(row, row.attempts + 1, "internal error")
                finally:
                    self._sending.discard(user_id)
                NOTIFICATIONS.labels(outcome.value).inc()
                if queue and queue[0] is row:
                    queue.popleft()
                self._held.discard(row.id)
                if outcome in (Outcome.BLOCKED, Outcome.RETRY):
                    await self._release(list(queue))  # keep the chat's order: the rest waits for the next round
                    self._forget(queue)
        except asyncio.CancelledError:
            raise
        except Taken:
            log.warning("notifier: user %s's notifications were taken over by another notifier", user_id)
            self._forget(queue)
        except Exception:  # the database failed under us: hand the rows back at the next claim
            log.exception("notifier: worker for user %s stopped", user_id)
            self._orphans.extend(queue)
            self._forget(queue)
        finally:
            self._workers.pop(user_id, None)
            if not self._queues.get(user_id):
                self._queues.pop(user_id, None)

    def _forget(self, queue: deque[Notification]) -> None:
        for r in queue:
            self._held.discard(r.id)
        queue.clear()

    async def _release(self, rows: list[Notification]) -> None:
        await self.claims.release([r.id for r in rows])

    # ---- one row ----

    async def _deliver(self, row: Notification) -> Outcome:
        user: User = row.user
        if not user.active:
            await self._drop_user(user, "the user blocked the bot")
            return Outcome.BLOCKED
        lang = user.language if user.language in self.languages else self.default_language
        parts = split_message(self._text(row, lang))
        if len(parts) == 1 and digest.mergeable(row):
            return await self._deliver_merged(row, user, lang)
        attempts, marked = row.attempts + 1, False

        async def send(text: str) -> None:
            nonlocal marked
            if not marked:  # in the slot, just before sending: a row taken over while it waited is not sent here
                if not await self.claims.mark_sending([row.id]):
                    raise Taken
                marked = True
                self._sending.add(user.id)
            await self._send(user.telegram_id, text)

        for i in range(row.parts_sent, len(parts)):
            try:
                await self.pacer.send(user.telegram_id, lambda p=parts[i]: send(p))
            except Taken:
                raise
            except Exception as e:
                return await self._failed(user, [row], attempts, e)
            row.parts_sent = i + 1
            if row.parts_sent < len(parts):  # a retry will not repeat shown parts
                await Notification.filter(id=row.id).update(parts_sent=row.parts_sent)
        await Notification.filter(id=row.id).update(
            status=NotificationStatus.SENT, sent_at=self._now(), last_error=None, next_attempt_at=None,
            parts_sent=len(parts), **UNHELD
        )
        self.sent += 1
        card = row.payload.get("_card") if isinstance(row.payload, dict) else None
        if card and self.refresh_card is not None:
            try:
                await self.pacer.send(user.telegram_id, lambda: self.refresh_card(user, card, row.payload["bot_id"],
                                                                                   lang))
            except Exception:  # the notice is delivered; a card left as it was is the user's Refresh away
                log.exception("notifier: card of notification %s not refreshed", row.id)
        return Outcome.SENT

    async def _deliver_merged(self, row: Notification, user: User, lang: str) -> Outcome:
        """`row` (the chat's head, a fill) with the later fills of its bot that wait in the queue when the chat's
        turn comes: one digest, or the fill's own message when it is alone."""
        queue = self._queues.get(user.id)
        taken: list[Notification] = [row]
        marked: set[int] = set()

        async def send() -> None:
            nonlocal taken
            taken = digest.group(queue) if queue and queue[0] is row else [row]
            text = self._digest(taken, lang) if len(taken) > 1 else None
            if text is None or len(split_message(text)) > 1:  # alone, or (never seen) a digest that cannot be one
                taken, text = [row], self._text(row, lang)
            fresh = [r.id for r in taken if r.id not in marked]
            if fresh:
                if not await self.claims.mark_sending(fresh):
                    raise Taken
                marked.update(fresh)
                self._sending.add(user.id)
            await self._send(user.telegram_id, text)

        try:
            await self.pacer.send(user.telegram_id, send)
        except Taken:
            raise
        except Exception as e:
            outcome = await self._failed(user, taken, row.attempts + 1, e)
            self._unqueue(queue, row, taken)
            return outcome
        await Notification.filter(id__in=[r.id for r in taken]).update(
            status=NotificationStatus.SENT, sent_at=self._now(), last_error=None, next_attempt_at=None, parts_sent=1,
            **UNHELD
        )
        self.sent += len(taken)
        self._unqueue(queue, row, taken)
        return Outcome.SENT

    async def _failed(self, user: User, rows: list[Notification], attempts: int, e: Exception) -> Outcome:
        """What a refused send means for `rows` (one row, or a digest's, which share its fate): the user dropped
        (they blocked the bot), the rows FAILED (a bad request), or due again after a back-off."""
        failure = classify(e, self.bot.token)
        if failure.outcome is Outcome.BLOCKED:
            await self._drop_user(user, failure.error)
        elif failure.outcome is Outcome.FAILED:
            await self._fail_many(rows, failure.error)
        else:
            return await self._retry_later(rows[0], attempts, failure.error, rows)
        return failure.outcome

    def _unqueue(self, queue: deque[Notification] | None, head: Notification, taken: list[Notification]) -> None:
        """The merged rows leave the chat's queue (the head leaves it in `_work`)."""
        gone = {r.id for r in taken if r is not head}
        if not gone:
            return
        self._held.difference_update(gone)
        if queue:
            kept = [r for r in queue if r.id not in gone]
            queue.clear()
            queue.extend(kept)

    def _digest(self, rows: list[Notification], lang: str) -> str | None:
        try:
            return digest.render_digest([r.payload for r in rows], lang, self.tr)
        except Exception:  # a malformed payload: each row is then told on its own
            log.exception("notifier: cannot render a digest of %d notifications", len(rows))
            return None

    async def _send(self, chat_id: int, text: str) -> None:
        await self.bot.send_message(chat_id, text, parse_mode=None)

    def _text(self, row: Notification, lang: str) -> str:
        payload = row.payload if isinstance(row.payload, dict) else {"value": row.payload}
        try:
            if row.kind == "daily_summary":
                return digest.render_daily(payload, lang, self.tr)
            return render(row.kind, payload, lang, self.tr)
        except Exception:  # a malformed payload still reaches the user, plainly
            log.exception("notifier: cannot render %s #%s", row.kind, row.id)
            return f"{row.kind}: {payload}"

    async def _drop_user(self, user: User, error: str) -> None:
        if user.active:
            await User.filter(id=user.id).update(active=False)
            forget_users(user.telegram_id)
            user.active = False
            log.info("user %s blocked the bot: marked inactive, pending notifications dropped", user.id)
        self.dropped += await Notification.filter(user_id=user.id, status=PENDING).update(
            status=NotificationStatus.DROPPED, last_error=error, next_attempt_at=None, **UNHELD
        )
        queue = self._queues.get(user.id)
        if queue:
            self._forget(queue)

    async def _fail_many(self, rows: list[Notification], error: str) -> None:
        self.failed += len(rows)
        await Notification.filter(id__in=[r.id for r in rows]).update(status=NotificationStatus.FAILED,
                                                                     last_error=error, next_attempt_at=None, **UNHELD)

    async def _retry_later(self, row: Notification, attempts: int, error: str,
                           rows: list[Notification] | None = None) -> Outcome:
        """`row` (and the rows merged with it, which share its fate) due again after a back-off, or FAILED."""
        rows = rows or [row]
        if attempts >= self.max_attempts:
            await self._fail_many(rows, error)
            return Outcome.FAILED
        self.retried += 1
        delay = min(self.backoff * 2 ** (attempts - 1), self.backoff_cap)
        await Notification.filter(id__in=[r.id for r in rows], status=PENDING).update(
            next_attempt_at=self._now() + timedelta(seconds=delay), last_error=error, **UNHELD
        )
        return Outcome.RETRY
